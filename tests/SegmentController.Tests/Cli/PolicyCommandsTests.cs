using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using SegmentController.Cli;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Cli;

public sealed class PolicyCommandsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-policy-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Check_ValidPolicies_PrintsOkForEachAndExitsZero()
    {
        var example = RepositoryPaths.Policy("example-site.yaml");
        var lab = RepositoryPaths.Policy("lab.yaml");

        var (exit, stdout, stderr) = await Run("policy", "check", "--syntax-only", example, lab);

        Assert.Equal(0, exit);
        Assert.Equal($"{example}: ok{Environment.NewLine}{lab}: ok{Environment.NewLine}", stdout);
        Assert.Empty(stderr);
    }

    [Fact]
    public async Task Check_InvalidPolicy_PrintsEveryErrorWithPositionAndExitsOne()
    {
        var broken = Write("broken.yaml", File.ReadAllText(RepositoryPaths.Policy("example-site.yaml"))
            .Replace("vlans: [130]", "vlans: [130, 5000]", StringComparison.Ordinal)
            .Replace("pass: {env: SEGCTL_SNMP_AUTH}", "pass: Sup3rS3cret", StringComparison.Ordinal));

        var (exit, stdout, stderr) = await Run("policy", "check", "--syntax-only", broken);

        Assert.Equal(1, exit);
        Assert.Empty(stdout);
        var lines = stderr.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Matches($@"^{Regex(broken)}:\d+:\d+: secret written inline in 'pass'", lines[0]);
        Assert.Matches($@"^{Regex(broken)}:\d+:\d+: VLAN 5000 is outside 1-4094$", lines[1]);
        Assert.DoesNotContain("Sup3rS3cret", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_UnreadableAmongInvalidAndValid_ExitsTwoAndReportsEach()
    {
        var missing = Path.Combine(_dir, "missing.yaml");
        var broken = Write("broken.yaml", "site: {id: x}\n");
        var example = RepositoryPaths.Policy("example-site.yaml");

        var (exit, stdout, stderr) = await Run("policy", "check", "--syntax-only", missing, broken, example);

        Assert.Equal(2, exit);
        Assert.Equal($"{example}: ok{Environment.NewLine}", stdout);
        Assert.Contains($"{missing}: cannot read the policy file: no such file", stderr, StringComparison.Ordinal);
        Assert.Contains($"{broken}:1:1: missing required key 'clients' in the policy", stderr, StringComparison.Ordinal);
        Assert.Contains($"{broken}:1:7: missing required key 'name' in site", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckJson_ValidAndInvalid_OneObjectWithEachFilesErrorsAsObjects_ExitsOne()
    {
        var example = RepositoryPaths.Policy("example-site.yaml");
        var broken = Write("broken.yaml", File.ReadAllText(example)
            .Replace("vlans: [130]", "vlans: [130, 5000]", StringComparison.Ordinal)
            .Replace("pass: {env: SEGCTL_SNMP_AUTH}", "pass: Sup3rS3cret", StringComparison.Ordinal));
        var (_, _, text) = await Run("policy", "check", "--syntax-only", broken);

        var (exit, stdout, stderr) = await Run("policy", "check", "--syntax-only", example, broken, "--json");

        Assert.Equal(1, exit);
        Assert.Empty(stderr);
        Assert.DoesNotContain("Sup3rS3cret", stdout, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(stdout);
        var root = document.RootElement;
        Assert.False(root.GetProperty("valid").GetBoolean());
        var files = root.GetProperty("files").EnumerateArray().ToArray();
        Assert.Equal([example, broken], files.Select(f => f.GetProperty("file").GetString()));
        Assert.Equal(["valid", "invalid"], files.Select(f => f.GetProperty("status").GetString()));
        Assert.Equal([true, false], files.Select(f => f.GetProperty("valid").GetBoolean()));
        Assert.Equal(0, files[0].GetProperty("errors").GetArrayLength());

        // The same errors as the text, one object each, in the same order.
        var errors = files[1].GetProperty("errors").EnumerateArray().ToArray();
        Assert.Equal(2, errors.Length);
        Assert.Equal(
            text.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries),
            errors.Select(e => $"{e.GetProperty("file").GetString()}:{e.GetProperty("line").GetInt32()}:{e.GetProperty("column").GetInt32()}: {e.GetProperty("message").GetString()}"));
        Assert.All(errors, e => Assert.True(e.GetProperty("line").GetInt32() > 0 && e.GetProperty("column").GetInt32() > 0));
        Assert.Equal("VLAN 5000 is outside 1-4094", errors[1].GetProperty("message").GetString());
    }

    [Fact]
    public async Task CheckJson_Unreadable_StatusUnreadableWithoutPosition_ExitsTwo()
    {
        var missing = Path.Combine(_dir, "missing.yaml");
        var example = RepositoryPaths.Policy("example-site.yaml");

        var (exit, stdout, stderr) = await Run("policy", "check", "--syntax-only", "--json", missing, example);

        Assert.Equal(2, exit);
        Assert.Empty(stderr);
        using var document = JsonDocument.Parse(stdout);
        Assert.False(document.RootElement.GetProperty("valid").GetBoolean());
        var files = document.RootElement.GetProperty("files").EnumerateArray().ToArray();
        Assert.Equal(["unreadable", "valid"], files.Select(f => f.GetProperty("status").GetString()));
        var error = Assert.Single(files[0].GetProperty("errors").EnumerateArray());
        Assert.Equal(missing, error.GetProperty("file").GetString());
        Assert.Equal(JsonValueKind.Null, error.GetProperty("line").ValueKind);
        Assert.Equal(JsonValueKind.Null, error.GetProperty("column").ValueKind);
        Assert.StartsWith("cannot read the policy file: no such file", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        (exit, stdout, _) = await Run("policy", "check", "--syntax-only", "--json", example);
        Assert.Equal(0, exit);
        using var valid = JsonDocument.Parse(stdout);
        Assert.True(valid.RootElement.GetProperty("valid").GetBoolean());
    }

    [Theory]
    [InlineData("missing", "cannot be read as a PEM bundle of CA certificates: no such file")]
    [InlineData("directory", "cannot be read as a PEM bundle of CA certificates: it is a directory")]
    [InlineData("not-pem", "holds no PEM certificate")]
    public async Task Check_UpstreamCaBundleUnusable_ExitsOneAtTheKeysPosition_SyntaxOnlyDoesNotReadIt(string kind, string message)
    {
        var bundle = Path.Combine(_dir, "upstream-ca.pem");
        if (kind == "directory")
        {
            Directory.CreateDirectory(bundle);
        }
        else if (kind == "not-pem")
        {
            File.WriteAllText(bundle, "not a certificate\n");
        }

        var policy = Write("site.yaml", WithServedCertificates(File.ReadAllText(RepositoryPaths.Policy("example-site.yaml")))
            .Replace("upstream_ca: /etc/segctl/upstream-ca.pem", $"upstream_ca: {bundle}", StringComparison.Ordinal));

        var (exit, stdout, stderr) = await Run("policy", "check", policy);

        Assert.Equal(1, exit);
        Assert.Empty(stdout);
        Assert.Equal($"{policy}:14:18: upstream_ca '{bundle}' {message}{Environment.NewLine}", stderr);

        (exit, stdout, _) = await Run("policy", "check", "--syntax-only", policy);
        Assert.Equal(0, exit);
        Assert.Equal($"{policy}: ok{Environment.NewLine}", stdout);
    }

    [Fact]
    public async Task Check_CaBundlesReadable_ExitsZero_ClientCaUnreadable_ExitsOneAtItsKey()
    {
        using var key = System.Security.Cryptography.ECDsa.Create();
        using var ca = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=upstream CA", key, System.Security.Cryptography.HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var bundle = Write("ca.pem", ca.ExportCertificatePem());
        var text = WithServedCertificates(File.ReadAllText(RepositoryPaths.Policy("example-site.yaml")))
            .Replace("upstream_ca: /etc/segctl/upstream-ca.pem", $"upstream_ca: {bundle}", StringComparison.Ordinal);
        var policy = Write("site.yaml", text);

        var (exit, stdout, stderr) = await Run("policy", "check", policy);

        Assert.Equal(0, exit);
        Assert.Equal($"{policy}: ok{Environment.NewLine}", stdout);
        Assert.Empty(stderr);

        // Agent certificates required, their CA bundle missing: the error is at client_ca.
        var missing = Path.Combine(_dir, "agent-ca.pem");
        var withAgents = Write("agents.yaml", text
            .Replace("require_client_certificate: false", $"require_client_certificate: true\n    client_ca: {missing}", StringComparison.Ordinal));
        (exit, _, stderr) = await Run("policy", "check", withAgents);

        Assert.Equal(1, exit);
        Assert.Contains($"{withAgents}:16:16: client_ca '{missing}' cannot be read as a PEM bundle of CA certificates: no such file", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("proxy-missing", "12:13", "proxy certificate file '{proxy}' cannot be read: no such file")]
    [InlineData("proxy-directory", "12:13", "proxy certificate file '{proxy}' cannot be read: it is a directory")]
    [InlineData("proxy-wrong-password", "12:13", "proxy certificate '{proxy}' cannot be loaded: ")]
    [InlineData("proxy-not-pkcs12", "12:13", "proxy certificate '{proxy}' cannot be loaded: ")]
    [InlineData("management-key-missing", "20:17", "management certificate key file '{key}' cannot be read: no such file")]
    [InlineData("management-key-of-another-certificate", "19:13", "management certificate '{management}' cannot be loaded: ")]
    [InlineData("management-without-key", "19:13", "management certificate '{management}' cannot be loaded: ")]
    public async Task Check_ServedCertificateUnusable_ExitsOneAtItsKey_SyntaxOnlyDoesNotReadIt(string kind, string at, string message)
    {
        var text = WithServedCertificates(File.ReadAllText(RepositoryPaths.Policy("example-site.yaml")))
            .Replace("upstream_ca: /etc/segctl/upstream-ca.pem", $"upstream_ca: {Write("ca.pem", SelfSigned("CN=upstream CA").ExportCertificatePem())}", StringComparison.Ordinal);
        var proxy = Path.Combine(_dir, "proxy.pfx");
        var management = Path.Combine(_dir, "management.crt");
        var key = Path.Combine(_dir, "management.key");
        switch (kind)
        {
            case "proxy-missing":
                File.Delete(proxy);
                break;
            case "proxy-directory":
                File.Delete(proxy);
                Directory.CreateDirectory(proxy);
                break;
            case "proxy-wrong-password":
                File.WriteAllText(Path.Combine(_dir, "proxy-password"), "not the password\n");
                break;
            case "proxy-not-pkcs12":
                File.WriteAllText(proxy, "not a certificate\n");
                break;
            case "management-key-missing":
                File.Delete(key);
                break;
            case "management-key-of-another-certificate":
                using (var other = ECDsa.Create())
                {
                    File.WriteAllText(key, other.ExportPkcs8PrivateKeyPem());
                }

                break;
            case "management-without-key":
                text = text.Replace($"      key_file: {key}\n", "", StringComparison.Ordinal);
                break;
        }

        var policy = Write("site.yaml", text);

        var (exit, stdout, stderr) = await Run("policy", "check", policy);

        Assert.Equal(1, exit);
        Assert.Empty(stdout);
        var expected = $"{policy}:{at}: " + message.Replace("{proxy}", proxy, StringComparison.Ordinal)
            .Replace("{management}", management, StringComparison.Ordinal)
            .Replace("{key}", key, StringComparison.Ordinal);
        Assert.StartsWith(expected, stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("not the password", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(ProxyPassword, stderr, StringComparison.Ordinal);

        (exit, stdout, _) = await Run("policy", "check", "--syntax-only", policy);
        Assert.Equal(0, exit);
        Assert.Equal($"{policy}: ok{Environment.NewLine}", stdout);
    }

    [Fact]
    public async Task Check_CaBundleLargerThanTheCap_ExitsOneSayingItIsTooLarge()
    {
        var bundle = Sparse("huge-ca.pem", 2 * 1024 * 1024);
        var text = WithServedCertificates(File.ReadAllText(RepositoryPaths.Policy("example-site.yaml")))
            .Replace("upstream_ca: /etc/segctl/upstream-ca.pem", $"upstream_ca: {bundle}", StringComparison.Ordinal);
        var policy = Write("site.yaml", text);

        var (exit, stdout, stderr) = await Run("policy", "check", policy);

        Assert.Equal(1, exit);
        Assert.Empty(stdout);
        Assert.Equal($"{policy}:14:18: upstream_ca '{bundle}' cannot be read as a PEM bundle of CA certificates: the bundle is larger than 1 MiB{Environment.NewLine}", stderr);
    }

    [Fact]
    public async Task Check_PolicyFileIsNamedPipe_ExitsTwoWithoutWaitingForAWriter()
    {
        var policy = Fifo("site.yaml");

        // A process of its own with a deadline: a check that waits for the pipe's writer fails here instead of hanging.
        var (exit, stdout, stderr) = await RunProcess("policy", "check", policy);

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Equal($"{policy}: cannot read the policy file: it is a named pipe (FIFO), not a regular file{Environment.NewLine}", stderr);
    }

    [Theory]
    [InlineData("upstream-ca", "fifo", "14:18", "upstream_ca '{path}' cannot be read as a PEM bundle of CA certificates: it is a named pipe (FIFO), not a regular file")]
    [InlineData("upstream-ca", "socket", "14:18", "upstream_ca '{path}' cannot be read as a PEM bundle of CA certificates: it is a socket, not a regular file")]
    [InlineData("upstream-ca", "device", "14:18", "upstream_ca '{path}' cannot be read as a PEM bundle of CA certificates: it is a character device, not a regular file")]
    [InlineData("upstream-ca", "link-to-fifo", "14:18", "upstream_ca '{path}' cannot be read as a PEM bundle of CA certificates: it is a named pipe (FIFO), not a regular file")]
    [InlineData("proxy-certificate", "fifo", "12:13", "proxy certificate file '{path}' cannot be read: it is a named pipe (FIFO), not a regular file")]
    [InlineData("proxy-password", "fifo", "13:17", "proxy certificate password file '{path}' cannot be read: it is a named pipe (FIFO), not a regular file")]
    [InlineData("management-certificate", "device", "19:13", "management certificate file '{path}' cannot be read: it is a character device, not a regular file")]
    [InlineData("management-key", "fifo", "20:17", "management certificate key file '{path}' cannot be read: it is a named pipe (FIFO), not a regular file")]
    public async Task Check_FileThePolicyNamesIsNotRegular_ExitsOneAtItsKeyWithoutWaiting(string key, string kind, string at, string message)
    {
        var text = WithServedCertificates(File.ReadAllText(RepositoryPaths.Policy("example-site.yaml")))
            .Replace("upstream_ca: /etc/segctl/upstream-ca.pem", $"upstream_ca: {Write("ca.pem", SelfSigned("CN=upstream CA").ExportCertificatePem())}", StringComparison.Ordinal);
        var named = key switch
        {
            "upstream-ca" => Path.Combine(_dir, "ca.pem"),
            "proxy-certificate" => Path.Combine(_dir, "proxy.pfx"),
            "proxy-password" => Path.Combine(_dir, "proxy-password"),
            "management-certificate" => Path.Combine(_dir, "management.crt"),
            _ => Path.Combine(_dir, "management.key"),
        };
        File.Delete(named);
        using var socket = kind == "socket" ? new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified) : null;
        var path = named;
        switch (kind)
        {
            case "fifo":
                Fifo(Path.GetFileName(named));
                break;
            case "link-to-fifo":
                File.CreateSymbolicLink(named, Fifo("pipe"));
                break;
            case "socket":
                socket!.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(named));
                break;
            case "device":
                path = "/dev/zero";
                text = text.Replace(named, path, StringComparison.Ordinal);
                break;
        }

        var policy = Write("site.yaml", text);

        // A process of its own with a deadline: a check that waits for a pipe's writer fails here instead of hanging.
        var (exit, stdout, stderr) = await RunProcess("policy", "check", policy);

        Assert.Equal(1, exit);
        Assert.Empty(stdout);
        Assert.Equal($"{policy}:{at}: {message.Replace("{path}", path, StringComparison.Ordinal)}{Environment.NewLine}", stderr);
    }

    [Theory]
    [InlineData("missing", "no such file")]
    [InlineData("directory", "it is a directory")]
    [InlineData("oversized", "it is larger than 64 KiB")]
    public async Task Check_Pkcs12PasswordFileUnreadable_ExitsOneAtThePassword(string kind, string reason)
    {
        var password = kind == "oversized" ? Path.Combine(_dir, "oversized-password") : Path.Combine(_dir, "proxy-password");
        var text = WithServedCertificates(File.ReadAllText(RepositoryPaths.Policy("example-site.yaml")))
            .Replace("upstream_ca: /etc/segctl/upstream-ca.pem", $"upstream_ca: {Write("ca.pem", SelfSigned("CN=upstream CA").ExportCertificatePem())}", StringComparison.Ordinal);
        File.Delete(password);
        if (kind == "directory")
        {
            Directory.CreateDirectory(password);
        }
        else if (kind == "oversized")
        {
            Sparse(Path.GetFileName(password), 1024 * 1024);
            text = text.Replace($"password: {{file: {Path.Combine(_dir, "proxy-password")}}}", $"password: {{file: {password}}}", StringComparison.Ordinal);
        }

        var policy = Write("site.yaml", text);

        var (exit, stdout, stderr) = await Run("policy", "check", policy);

        // segctl run could not open the certificate: the check says so instead of 'ok'.
        Assert.Equal(1, exit);
        Assert.Empty(stdout);
        Assert.Equal($"{policy}:13:17: proxy certificate password file '{password}' cannot be read: {reason}{Environment.NewLine}", stderr);
    }

    [Theory]
    [InlineData("certificate")]
    [InlineData("key")]
    public async Task Check_ServedCertificateOrKeyFileLargerThanTheCap_ExitsOneSayingItIsTooLarge(string which)
    {
        var management = Path.Combine(_dir, "management.crt");
        var key = Path.Combine(_dir, "management.key");
        var huge = Sparse("huge.pem", 2 * 1024 * 1024);
        var text = WithServedCertificates(File.ReadAllText(RepositoryPaths.Policy("example-site.yaml")))
            .Replace("upstream_ca: /etc/segctl/upstream-ca.pem", $"upstream_ca: {Write("ca.pem", SelfSigned("CN=upstream CA").ExportCertificatePem())}", StringComparison.Ordinal)
            .Replace(which == "certificate" ? $"file: {management}" : $"key_file: {key}", which == "certificate" ? $"file: {huge}" : $"key_file: {huge}", StringComparison.Ordinal);
        var policy = Write("site.yaml", text);

        var (exit, stdout, stderr) = await Run("policy", "check", policy);

        Assert.Equal(1, exit);
        Assert.Empty(stdout);
        var certificate = which == "certificate" ? huge : management;
        Assert.Equal($"{policy}:19:13: management certificate '{certificate}' cannot be loaded: the {which} file is larger than 1 MiB{Environment.NewLine}", stderr);
    }

    [Fact]
    public async Task Check_Pkcs12PasswordOnlyTheServiceHas_ReadsTheFileWithoutOpeningIt()
    {
        // The example's own reference: a variable the service's unit sets, not the checking shell.
        var variable = "SEGCTL_TEST_UNSET_" + Guid.NewGuid().ToString("N");
        Assert.Null(Environment.GetEnvironmentVariable(variable));
        var text = WithServedCertificates(File.ReadAllText(RepositoryPaths.Policy("example-site.yaml")))
            .Replace("upstream_ca: /etc/segctl/upstream-ca.pem", $"upstream_ca: {Write("ca.pem", SelfSigned("CN=upstream CA").ExportCertificatePem())}", StringComparison.Ordinal)
            .Replace($"password: {{file: {Path.Combine(_dir, "proxy-password")}}}", $"password: {{env: {variable}}}", StringComparison.Ordinal);
        var policy = Write("site.yaml", text);

        var (exit, stdout, stderr) = await Run("policy", "check", policy);

        Assert.Equal(0, exit);
        Assert.Equal($"{policy}: ok{Environment.NewLine}", stdout);
        Assert.Empty(stderr);

        // The file itself is still read.
        File.Delete(Path.Combine(_dir, "proxy.pfx"));
        (exit, _, stderr) = await Run("policy", "check", policy);
        Assert.Equal(1, exit);
        Assert.StartsWith($"{policy}:12:13: proxy certificate file '{Path.Combine(_dir, "proxy.pfx")}' cannot be read: no such file", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_WithoutFile_IsAUsageErrorExitingTwo()
    {
        var (exit, _, stderr) = await Run("policy", "check");

        Assert.Equal(2, exit);
        Assert.NotEmpty(stderr);
    }

    [Fact]
    public async Task Show_Text_SummarizesClientsSegmentsAndSwitchesWithoutSecrets()
    {
        var (exit, stdout, stderr) = await Run("policy", "show", RepositoryPaths.Policy("example-site.yaml"));

        Assert.Equal(0, exit);
        Assert.Empty(stderr);
        Assert.Contains("site leeds-cc1: Leeds contact centre, floor 1", stdout, StringComparison.Ordinal);
        Assert.Contains("clients (3):", stdout, StringComparison.Ordinal);
        Assert.Contains("contract ends 2029-06-30; records kept until 2035-06-30", stdout, StringComparison.Ordinal);
        Assert.Contains("subnets: 10.110.0.0/24, 2001:db8:110::/64", stdout, StringComparison.Ordinal);
        Assert.Contains("ports:   core-sw1 Gi1/0/15-24 (10), access-sw2 swp1-8 (8)", stdout, StringComparison.Ordinal);
        Assert.Contains("upstream crm: crm.assistring.example / -> https://crm.assistring.example/", stdout, StringComparison.Ordinal);
        Assert.Contains("core-sw1: 10.0.0.2:161, profile cisco, SNMPv3 authPriv (SHA-256/AES)", stdout, StringComparison.Ordinal);
        Assert.Contains("access-sw2: 10.0.0.3:161, profile qbridge, SNMPv3 authPriv (SHA-512/AES)", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("SEGCTL_", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("/etc/segctl/snmp", stdout, StringComparison.Ordinal);
        Assert.Contains("call https://soc.assistring.example/…", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("/hooks/", stdout, StringComparison.Ordinal);
        Assert.Contains("in service: a start that finds no suspension state suspends every client", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_Json_HasTheStableShape()
    {
        var (exit, stdout, _) = await Run("policy", "show", RepositoryPaths.Policy("lab.yaml"), "--json");

        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.Equal("lab", root.GetProperty("site").GetProperty("id").GetString());
        Assert.Equal(64, root.GetProperty("sha256").GetString()!.Length);
        var clients = root.GetProperty("clients");
        Assert.Equal(3, clients.GetArrayLength());
        var assistring = clients[0];
        Assert.Equal("assistring", assistring.GetProperty("id").GetString());
        Assert.Equal("2029-06-30", assistring.GetProperty("contract_end").GetString());
        Assert.Equal("2035-06-30", assistring.GetProperty("retain_until").GetString());
        var segment = assistring.GetProperty("segments")[0];
        Assert.Equal(110, segment.GetProperty("vlans")[0].GetInt32());
        var ports = segment.GetProperty("ports")[0];
        Assert.Equal("lab-sw1", ports.GetProperty("switch").GetString());
        Assert.Equal("swp1-3", ports.GetProperty("ports")[0].GetString());
        Assert.Equal(3, ports.GetProperty("count").GetInt32());
        var snmp = root.GetProperty("switches")[0].GetProperty("snmp");
        Assert.Equal("authPriv", snmp.GetProperty("security_level").GetString());
        Assert.Equal("SHA-256", snmp.GetProperty("auth_protocol").GetString());
        Assert.DoesNotContain("SEGCTL_LAB_SNMP", stdout, StringComparison.Ordinal);
        Assert.False(root.GetProperty("in_service").GetBoolean());
    }

    [Fact]
    public async Task Show_InvalidPolicy_PrintsErrorsAndExitsOne()
    {
        var broken = Write("broken.yaml", "site: {id: x, name: X}\nswitches: []\nclients: []\nrestore: {approvers: 5}\n");

        var (exit, stdout, stderr) = await Run("policy", "show", broken);

        Assert.Equal(1, exit);
        Assert.Empty(stdout);
        Assert.Contains($"{broken}:4:22: 'approvers' in restore must be a whole number from 1 to 2", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_MissingFile_ExitsTwo()
    {
        var (exit, _, stderr) = await Run("policy", "show", Path.Combine(_dir, "nope.yaml"));

        Assert.Equal(2, exit);
        Assert.Contains("no such file", stderr, StringComparison.Ordinal);
    }

    private const string ProxyPassword = "proxy-pfx-password-5d1c";

    /// <summary>
    /// The example policy with its served certificates made here: the proxy's PKCS#12 file with its password in
    /// a secret file, and the management certificate as PEM with its key file.
    /// </summary>
    private string WithServedCertificates(string exampleText)
    {
        var proxy = Path.Combine(_dir, "proxy.pfx");
        var password = Path.Combine(_dir, "proxy-password");
        using (var proxyCertificate = SelfSigned("CN=proxy.example"))
        {
            File.WriteAllBytes(proxy, proxyCertificate.Export(X509ContentType.Pkcs12, ProxyPassword));
        }

        File.WriteAllText(password, ProxyPassword + "\n");
        var management = Path.Combine(_dir, "management.crt");
        var key = Path.Combine(_dir, "management.key");
        using (var managementCertificate = SelfSigned("CN=management.example"))
        {
            File.WriteAllText(management, managementCertificate.ExportCertificatePem());
            File.WriteAllText(key, managementCertificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        }

        var replaced = exampleText
            .Replace("file: /etc/segctl/proxy.pfx", $"file: {proxy}", StringComparison.Ordinal)
            .Replace("password: {env: SEGCTL_PROXY_CERT_PASSWORD}", $"password: {{file: {password}}}", StringComparison.Ordinal)
            .Replace("file: /etc/segctl/management.crt", $"file: {management}", StringComparison.Ordinal)
            .Replace("key_file: /etc/segctl/management.key", $"key_file: {key}", StringComparison.Ordinal);
        Assert.DoesNotContain("/etc/segctl/proxy.pfx", replaced, StringComparison.Ordinal);
        Assert.DoesNotContain("/etc/segctl/management.", replaced, StringComparison.Ordinal);
        return replaced;
    }

    private static X509Certificate2 SelfSigned(string subject)
    {
        using var key = ECDsa.Create();
        return new CertificateRequest(subject, key, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>A file of <paramref name="bytes"/> zero bytes that takes no room on disk.</summary>
    private string Sparse(string name, long bytes)
    {
        var path = Path.Combine(_dir, name);
        using var file = File.Create(path);
        file.SetLength(bytes);
        return path;
    }

    /// <summary>A named pipe that nobody writes to.</summary>
    private string Fifo(string name)
    {
        var path = Path.Combine(_dir, name);
        Assert.Equal(0, NativeMethods.MkFifo(path, Convert.ToUInt32("600", 8)));
        return path;
    }

    /// <summary>Runs segctl as a process of its own; one still running after a minute fails the test, and is killed.</summary>
    private static async Task<(int Exit, string Stdout, string Stderr)> RunProcess(params string[] args)
    {
        await using var segctl = SegctlProcess.Start(args);
        var exit = await segctl.WaitForExitAsync(TimeSpan.FromMinutes(1));
        return (exit, segctl.StandardOutput, segctl.StandardError);
    }

    private static string Regex(string text) => System.Text.RegularExpressions.Regex.Escape(text);

    private static async Task<(int Exit, string Stdout, string Stderr)> Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await CliApplication.InvokeAsync(args, stdout, stderr, CancellationToken.None);
        return (exit, stdout.ToString(), stderr.ToString());
    }
}
