using System.Net;
using System.Net.NetworkInformation;
using System.Security.Cryptography;
using System.Text;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Tests.Policy;

public sealed class PolicyLoaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-policy-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void EveryKey_IsMappedOntoThePolicyRecords()
    {
        var path = Path.Combine(PolicyFiles.Directory, "Valid", "every-key.yaml");

        var result = PolicyLoader.LoadFile(path);

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        var p = result.Policy!;
        Assert.Equal(path, p.SourcePath);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))), p.Sha256);
        Assert.Equal(new SiteInfo { Id = "every-key", Name = "Every key site" }, p.Site);

        var proxy = p.Controller.Proxy;
        Assert.Equal(["192.168.50.1:9443", "[fd50::1]:9443"], proxy.Listen);
        Assert.Equal("/etc/segctl/proxy.pfx", proxy.Certificate!.File);
        Assert.Null(proxy.Certificate.KeyFile);
        Assert.Equal(new SecretReference { Source = SecretSource.Environment, Name = "PROXY_PFX_PASSWORD" }, proxy.Certificate.Password);
        Assert.Equal("/etc/segctl/ca.pem", proxy.UpstreamCaFile);
        Assert.True(proxy.RequireClientCertificate);
        Assert.Equal("/etc/segctl/agent-ca.pem", proxy.ClientCaFile);

        var management = p.Controller.Management;
        Assert.Equal(["127.0.0.1:9999"], management.Listen);
        Assert.Equal("/etc/segctl/mgmt.crt", management.Certificate!.File);
        Assert.Equal("/etc/segctl/mgmt.key", management.Certificate.KeyFile);
        Assert.Equal("/etc/segctl/keys", management.ApiKeysFile);

        var capture = p.Controller.Capture;
        Assert.Equal(2, capture.Interfaces.Count);
        Assert.Equal(new CaptureInterface { Name = "span0", SnapLength = 1514, BufferMiB = 256, Filter = "vlan or not vlan", Promiscuous = false }, capture.Interfaces[0]);
        Assert.Equal(new CaptureInterface { Name = "span1" }, capture.Interfaces[1]);
        Assert.Equal(0.05, capture.LossThreshold);
        Assert.Equal(TimeSpan.FromMinutes(2), capture.Silence);
        Assert.True(capture.QinQ);
        Assert.Equal(SegmentTag.Outer, capture.SegmentTag);
        Assert.Equal("/srv/segctl/evidence", capture.EvidenceDirectory);
        Assert.Equal(4096, capture.EvidenceMaxMiB);
        Assert.Equal(262_144, capture.ArpBindings);

        Assert.Equal(new StoreSettings { Path = "/srv/segctl/store.db", SigningKeyFile = "/etc/segctl/sign.pem", CheckpointInterval = TimeSpan.FromSeconds(90) }, p.Controller.Store);
        Assert.Equal(VerificationLostAction.Alert, p.Controller.OnVerificationLost);
        Assert.True(p.Controller.InService);

        var infrastructure = p.Infrastructure;
        Assert.Equal([10, 11], infrastructure.ManagementVlans);
        Assert.Equal([IPNetwork.Parse("192.168.50.0/24"), IPNetwork.Parse("fd50::/64")], infrastructure.Subnets);
        Assert.Equal([IPAddress.Parse("192.168.50.1"), IPAddress.Parse("fd50::1")], infrastructure.ProxyAddresses);
        Assert.Equal("old-sw", Assert.Single(infrastructure.TrunkPorts).Switch);
        Assert.Equal(["Gi0/24"], infrastructure.TrunkPorts[0].Ports);

        var oldSwitch = p.FindSwitch("old-sw")!;
        Assert.Equal("192.168.50.2", oldSwitch.Address);
        Assert.Equal(1161, oldSwitch.Port);
        Assert.Equal(SwitchProfile.Cisco, oldSwitch.Profile);
        Assert.Equal(SnmpVersion.V2c, oldSwitch.Snmp.Version);
        Assert.Equal(new SecretReference { Source = SecretSource.File, Name = "/etc/segctl/community" }, oldSwitch.Snmp.Community);
        Assert.Equal(10, oldSwitch.MaxRepetitions);
        Assert.Equal(TimeSpan.FromMilliseconds(500), oldSwitch.Timeout);
        Assert.Equal(4, oldSwitch.Retries);
        Assert.Equal(TimeSpan.FromMinutes(5), oldSwitch.PollInterval);

        var legacy = p.FindSwitch("legacy-sw")!;
        Assert.Equal("legacy-sw.mgmt.example", legacy.Address);
        Assert.Equal(161, legacy.Port);
        Assert.Equal(SwitchProfile.QBridge, legacy.Profile);
        Assert.Equal(new SnmpSettings
        {
            Version = SnmpVersion.V3,
            User = "monitor",
            AuthProtocol = SnmpAuthProtocol.Md5,
            AuthPassphrase = new SecretReference { Source = SecretSource.Environment, Name = "LEGACY_AUTH" },
            PrivProtocol = SnmpPrivProtocol.Des,
            PrivPassphrase = new SecretReference { Source = SecretSource.File, Name = "/etc/segctl/legacy.priv" },
            Context = "vlan-20",
            AllowLegacy = true,
        }, legacy.Snmp);

        var client = Assert.Single(p.Clients);
        Assert.Equal("gamma", client.Id);
        Assert.Equal("Gamma plc", client.Name);
        Assert.Equal(new DateOnly(2030, 1, 15), client.ContractEnd);
        Assert.Equal(new DateOnly(2036, 1, 15), client.RetainUntil);
        var segment = Assert.Single(client.Segments);
        Assert.Equal("floor", segment.Name);
        Assert.Equal([20, 21, 22, 23], segment.Vlans);
        Assert.Equal([IPNetwork.Parse("192.168.20.0/24"), IPNetwork.Parse("fd20::/56")], segment.Subnets);
        Assert.Equal(2, segment.Ports.Count);
        Assert.Equal(["Fa0/1", "Fa0/2", "Fa0/3", "Fa0/10"], segment.Ports[0].Ports);
        Assert.Equal("legacy-sw", segment.Ports[1].Switch);
        Assert.Equal(["1", "2"], segment.Ports[1].Ports);
        Assert.Equal(
            [PhysicalAddress.Parse("00-1B-21-3A-4F-01"), PhysicalAddress.Parse("00-1B-21-3A-4F-02"), PhysicalAddress.Parse("00-1B-21-3A-4F-03")],
            segment.Macs);

        var upstream = Assert.Single(client.Upstreams);
        Assert.Equal("portal", upstream.Name);
        Assert.Equal(["portal.gamma.example"], upstream.Hosts);
        Assert.Equal(["/app", "/api"], upstream.PathPrefixes);
        Assert.Equal([new Uri("https://portal-1.gamma.example:8443/base"), new Uri("https://192.0.2.10")], upstream.Destinations);

        Assert.Equal(["O=Gamma plc, OU=Agents", "CN=gamma-kiosk-01"], client.AgentCertificates.Subjects.Select(s => s.Text));
        Assert.Equal(["3f9a1c00112233445566778899aabbccddeeff00112233445566778899aabbcc"], client.AgentCertificates.Fingerprints);

        Assert.False(client.Kill.ShutPorts);
        Assert.Equal(["Gi0/24"], Assert.Single(client.Kill.ForceShutPorts).Ports);
        var webhook = Assert.Single(client.Kill.Webhooks);
        Assert.Equal(new Uri("https://hooks.gamma.example/kill"), webhook.Url);
        Assert.Equal(new SecretReference { Source = SecretSource.File, Name = "/etc/segctl/gamma.key" }, webhook.Secret);

        var contact = Assert.Single(client.Notify);
        Assert.Equal("Gamma SOC", contact.Name);
        Assert.Equal("soc@gamma.example", contact.Email);
        Assert.Equal("+44 113 496 0000", contact.Phone);
        Assert.Equal(new Uri("https://hooks.gamma.example/incident"), contact.Webhook!.Url);
        Assert.Equal(new SecretReference { Source = SecretSource.Environment, Name = "GAMMA_HOOK" }, contact.Webhook.Secret);

        Assert.Equal(FindingAction.Incident, p.Rules.BySeverity[Severity.Critical]);
        Assert.Equal(FindingAction.Alert, p.Rules.BySeverity[Severity.High]);
        Assert.Equal(FindingAction.Record, p.Rules.BySeverity[Severity.Medium]);
        Assert.Equal(FindingAction.Alert, p.Rules.BySeverity[Severity.Low]);
        Assert.Equal(FindingAction.Alert, p.Rules.BySeverity[Severity.Info]);
        Assert.Equal(FindingAction.Suspend, p.Rules.ActionFor(RuleIds.CrossClientFlow, Severity.Critical));
        Assert.Equal(FindingAction.Record, p.Rules.ActionFor(RuleIds.UnknownMac, Severity.Medium));
        Assert.Equal(FindingAction.Incident, p.Rules.ActionFor(RuleIds.VlanHopping, Severity.Critical));

        Assert.Equal(TimeSpan.FromHours(12), p.Audits.Interval);
        Assert.False(p.Audits.SuspendOnFailure);
        Assert.Equal(1, p.Restore.Approvers);
        Assert.True(p.Restore.RequirePassingAudit);
    }

    [Fact]
    public void MinimalPolicy_TakesTheDocumentedDefaults()
    {
        var result = Load("""
            site: {id: s, name: S}
            switches:
              - name: sw
                address: 10.0.0.2
                snmp: {user: u, auth: {protocol: SHA, pass: {env: A}}}
            clients:
              - id: c
                name: C
                contract_end: 2030-01-01
                segments: [{name: s, vlans: 100}]
            """);

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        var p = result.Policy!;
        Assert.Empty(p.Controller.Capture.Interfaces);
        Assert.Equal(65_536, p.Controller.Capture.ArpBindings);
        Assert.Equal(new StoreSettings(), p.Controller.Store);
        Assert.Equal(VerificationLostAction.Suspend, p.Controller.OnVerificationLost);
        Assert.False(p.Controller.InService);
        Assert.Equal(["0.0.0.0:8443"], p.Controller.Proxy.Listen);
        Assert.Equal(["127.0.0.1:9410"], p.Controller.Management.Listen);
        Assert.Equal(RuleSet.Default.BySeverity, p.Rules.BySeverity);
        Assert.Equal(new AuditSettings(), p.Audits);
        Assert.Equal(new RestoreSettings(), p.Restore);
        var sw = Assert.Single(p.Switches);
        Assert.Equal(SnmpVersion.V3, sw.Snmp.Version);
        Assert.Equal(SnmpAuthProtocol.Sha1, sw.Snmp.AuthProtocol);
        Assert.Null(sw.Snmp.PrivProtocol);
        Assert.Equal(TimeSpan.FromSeconds(2), sw.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(60), sw.PollInterval);
        Assert.Equal([100], p.Clients[0].Segments[0].Vlans);
        Assert.True(p.Clients[0].Kill.ShutPorts);
    }

    [Fact]
    public void MissingFile_IsUnreadableNotInvalid()
    {
        var path = Path.Combine(_dir, "absent.yaml");

        var result = PolicyLoader.LoadFile(path);

        Assert.True(result.Unreadable);
        Assert.Null(result.Policy);
        Assert.Equal($"{path}: cannot read the policy file: no such file", Assert.Single(result.Errors).ToString());
    }

    [Fact]
    public void Directory_IsUnreadableAndNamedAsADirectory()
    {
        var result = PolicyLoader.LoadFile(_dir);

        Assert.True(result.Unreadable);
        Assert.Equal($"{_dir}: cannot read the policy file: it is a directory", Assert.Single(result.Errors).ToString());
    }

    [Fact]
    public void OversizedFile_IsInvalidWithoutBeingReadWhole()
    {
        var path = Path.Combine(_dir, "huge.yaml");
        using (var stream = File.Create(path))
        {
            stream.SetLength(PolicyLoader.MaxFileBytes + 1);
        }

        var result = PolicyLoader.LoadFile(path);

        Assert.False(result.Unreadable);
        Assert.Contains("larger than 4 MiB", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidUtf8_IsReportedAsNotText()
    {
        var result = PolicyLoader.Load([0x73, 0x69, 0x74, 0x65, 0x3a, 0x20, 0xC3, 0x28], "bad.yaml");

        Assert.Equal("bad.yaml: the policy file is not UTF-8 text", Assert.Single(result.Errors).ToString());
    }

    [Fact]
    public void ByteOrderMark_IsAccepted()
    {
        var text = File.ReadAllBytes(PolicyFiles.Shipped("example-site.yaml"));

        var result = PolicyLoader.Load([0xEF, 0xBB, 0xBF, .. text], "bom.yaml");

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
    }

    [Fact]
    public void AllSectionsBroken_EverySectionIsReported()
    {
        var result = Load("""
            site: {id: "bad id", name: S}
            controller:
              proxy: {listen: [8443]}
              capture: {loss_threshold: 5, evidence_max_mib: 0}
              on_verification_lost: panic
            switches:
              - {name: sw, address: "not an address!", snmp: {version: v1}}
            clients:
              - {id: c, name: C, contract_end: 2030-01-01, segments: [{name: s, vlans: [1], subnets: [10.0.0.0/8]}]}
            audits: {interval: 1s}
            restore: {approvers: 3}
            """);

        var messages = result.Errors.Select(e => e.Message).ToList();
        Assert.Contains(messages, m => m.StartsWith("site id 'bad id'", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("'8443' in 'listen' is not an address:port", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("'loss_threshold' in capture must be a fraction", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("evidence_max_mib", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("'panic' is not a valid value for 'on_verification_lost'", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("switch address 'not an address!'", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("'v1' is not a valid value for 'version' in snmp", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("'interval' in audits must be at least 1m", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("'approvers' in restore must be a whole number from 1 to 2", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("1024", 1_024)]
    [InlineData("4194304", 4_194_304)]
    [InlineData("131072", 131_072)]
    public void ArpBindingsWithinBounds_IsTaken(string value, int expected)
    {
        var result = Load(WithCapture($"arp_bindings: {value}"));

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        Assert.Equal(expected, result.Policy!.Controller.Capture.ArpBindings);
    }

    [Theory]
    [InlineData("1023", "test.yaml:4:19: 'arp_bindings' in capture must be a whole number from 1024 to 4194304, found '1023'")]
    [InlineData("4194305", "test.yaml:4:19: 'arp_bindings' in capture must be a whole number from 1024 to 4194304, found '4194305'")]
    [InlineData("-65536", "test.yaml:4:19: 'arp_bindings' in capture must be a whole number from 1024 to 4194304, found '-65536'")]
    [InlineData("99999999999", "test.yaml:4:19: 'arp_bindings' in capture must be a whole number from 1024 to 4194304, found '99999999999'")]
    [InlineData("64k", "test.yaml:4:19: 'arp_bindings' in capture must be a whole number from 1024 to 4194304, found '64k'")]
    [InlineData("0.5", "test.yaml:4:19: 'arp_bindings' in capture must be a whole number from 1024 to 4194304, found '0.5'")]
    [InlineData("[65536]", "test.yaml:4:19: 'arp_bindings' in capture must be a single value, found a list")]
    [InlineData("{size: 65536}", "test.yaml:4:19: 'arp_bindings' in capture must be a single value, found a mapping")]
    public void ArpBindingsOutOfRangeOrNotANumber_IsReportedAtItsValue(string value, string expected)
    {
        var result = Load(WithCapture($"arp_bindings: {value}"));

        Assert.False(result.IsValid);
        Assert.Equal(expected, Assert.Single(result.Errors).ToString());
    }

    [Theory]
    [InlineData("qinq: true\n    segment_tag: inner", SegmentTag.Inner)]
    [InlineData("qinq: false\n    segment_tag: inner", SegmentTag.Inner)]
    [InlineData("qinq: true\n    segment_tag: outer", SegmentTag.Outer)]
    public void SegmentTagWritten_IsTaken(string entries, SegmentTag expected)
    {
        var result = Load(WithCapture(entries));

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        Assert.Equal(expected, result.Policy!.Controller.Capture.SegmentTag);
    }

    [Theory]
    [InlineData("qinq: false\n    segment_tag: outer", "test.yaml:5:18: 'segment_tag: outer' in capture needs 'qinq: true': a site without QinQ has one tag per frame (stacked tags are vlan-hopping there)")]
    [InlineData("segment_tag: outer", "test.yaml:4:18: 'segment_tag: outer' in capture needs 'qinq: true': a site without QinQ has one tag per frame (stacked tags are vlan-hopping there)")]
    [InlineData("qinq: true\n    segment_tag: service", "test.yaml:5:18: 'service' is not a valid value for 'segment_tag' in capture; use one of: inner, outer")]
    [InlineData("qinq: true\n    segment_tag: [outer]", "test.yaml:5:18: 'segment_tag' in capture must be a single value, found a list")]
    public void SegmentTagOuterWithoutQinQOrNotAChoice_IsReportedAtItsValue(string entries, string expected)
    {
        var result = Load(WithCapture(entries));

        Assert.False(result.IsValid);
        Assert.Equal(expected, Assert.Single(result.Errors).ToString());
    }

    [Fact]
    public void SubnetWrittenAsHost_SuggestsTheNetwork()
    {
        var result = Load(WithClientSubnets("10.1.0.0/24", "10.2.3.4/16"));

        Assert.Equal("subnet '10.2.3.4/16' has host bits set; did you mean 10.2.0.0/16?", Assert.Single(result.Errors).Message);
    }

    [Fact]
    public void ClassfulShorthandAddress_IsRejected()
    {
        var result = Load(WithClientSubnets("10.1.0.0/24", "10.2/16"));

        Assert.Contains("'10.2' is not an IPv4 or IPv6 address", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyQuotedValues_AreReportedNotAccepted()
    {
        var result = Load("""
            site: {id: s, name: ""}
            clients:
              - id: c
                name: " "
                contract_end: 2030-01-01
                segments: [{name: s, vlans: [""], subnets: [""]}]
            """);

        Assert.Equal(
            [
                "1:21: 'name' in site has no value",
                "4:11: 'name' in client has no value",
                "6:34: '' is not a VLAN id",
                "6:49: '' is not a subnet",
            ],
            result.Errors.Select(e => $"{e.Line}:{e.Column}: {e.Message.Split(';')[0]}"));
    }

    [Fact]
    public void OverlappingVlanRangesOfTwoClients_AreReportedOnce()
    {
        var result = Load("""
            site: {id: s, name: S}
            clients:
              - {id: one, name: One, contract_end: 2030-01-01, segments: [{name: s, vlans: [100-199]}]}
              - {id: two, name: Two, contract_end: 2030-01-01, segments: [{name: s, vlans: [150-250]}]}
            """);

        var error = Assert.Single(result.Errors);
        Assert.Equal(4, error.Line);
        Assert.StartsWith("VLAN 150 is already used by client 'one' (line 3)", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"alpha\\n\"")]
    [InlineData("\"all\\n\"")]
    [InlineData("|\n      alpha")]
    public void ClientIdWithATrailingLineBreak_IsRefused(string id)
    {
        var result = Load("""
            site: {id: s, name: S}
            clients:
              - {id: alpha, name: A, contract_end: 2030-01-01, segments: [{name: s, vlans: [100]}]}
              - id: ID
                name: B
                contract_end: 2030-01-01
                segments: [{name: s, vlans: [101]}]
            """.Replace("ID", id, StringComparison.Ordinal));

        var error = Assert.Single(result.Errors);
        Assert.Equal(4, error.Line);
        Assert.StartsWith("client id '", error.Message, StringComparison.Ordinal);
        Assert.Contains("?' must be 1-63 letters", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("site: {id: \"s1\\n\", name: S}", "site id 's1?'")]
    [InlineData("site: {id: s1, name: S}\nswitches: [{name: \"sw1\\n\", address: 10.0.0.2, snmp: {user: u, auth: {protocol: SHA, pass: {env: A}}}}]", "switch name 'sw1?'")]
    [InlineData("site: {id: s1, name: S}\nswitches: [{name: sw1, address: 10.0.0.2, snmp: {user: u, auth: {protocol: SHA, pass: {env: \"A\\n\"}}}}]", "'env' in 'pass' must be an environment variable name")]
    [InlineData("site: {id: s1, name: S}\ncontroller: {capture: {interfaces: [{name: \"span0\\n\"}]}}", "'span0?' is not an interface name")]
    public void NameWithATrailingLineBreak_IsRefused(string head, string message)
    {
        var result = Load(head + "\nclients: [{id: c, name: C, contract_end: 2030-01-01, segments: [{name: s, vlans: [100]}]}]\n");

        Assert.StartsWith(message, Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("destinations: [\"https://admin:Hunter2Secret@crm.example.com:99999/\"]", "upstream destination 'https://***@crm.example.com:99999/' is not a URL")]
    [InlineData("destinations: [\"admin:Hunter2Secret@crm.example.com\"]", "upstream destination '***@crm.example.com' is not a URL")]
    [InlineData("destinations: [\"https://admin:Hunter2Secret@crm example.com/\"]", "upstream destination 'https://***@crm example.com/' is not a URL")]
    [InlineData("destinations: [\"https://admin:Hunter2Secret@crm.example.com/\"]", "upstream destination has a user name or password in it")]
    [InlineData("destinations: [\"http://admin:Hunter2Secret@crm.example.com:99999/\"]", "upstream destination 'http://***@crm.example.com:99999/' is not a URL")]
    [InlineData("hosts: [\"admin:Hunter2Secret@crm.example.com\"]", "'***@crm.example.com' is not a host name")]
    public void UpstreamWithAPasswordInAUrlThatDoesNotParse_IsReportedWithoutThePassword(string entry, string message)
    {
        var upstream = entry.StartsWith("hosts", StringComparison.Ordinal)
            ? $"{{name: crm, {entry}, destinations: [https://crm.example.com]}}"
            : $"{{name: crm, hosts: [crm.example.com], {entry}}}";

        var result = Load("""
            site: {id: s, name: S}
            clients:
              - {id: c, name: C, contract_end: 2030-01-01, segments: [{name: s, vlans: [100]}], upstreams: [UPSTREAM]}
            """.Replace("UPSTREAM", upstream, StringComparison.Ordinal));

        var error = Assert.Single(result.Errors);
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Hunter2Secret", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("admin", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"https://hook:Hunter4Secret@hooks.example.com:70000/kill\"", "webhook url 'https://***@hooks.example.com:70000/kill' is not a URL")]
    [InlineData("\"https://hook:Hunter4Secret@hooks example.com/kill\"", "webhook url 'https://***@hooks example.com/kill' is not a URL")]
    [InlineData("\"hook:Hunter4Secret@hooks.example.com\"", "webhook url '***@hooks.example.com' is not a URL")]
    public void WebhookWithAPasswordInAUrlThatDoesNotParse_IsReportedWithoutThePassword(string url, string message)
    {
        var result = Load("""
            site: {id: s, name: S}
            clients:
              - {id: c, name: C, contract_end: 2030-01-01, segments: [{name: s, vlans: [100]}], kill: {webhooks: [{url: URL}]}, notify: [{name: soc, webhook: {url: URL}}]}
            """.Replace("URL", url, StringComparison.Ordinal));

        Assert.Equal(2, result.Errors.Count);
        Assert.All(result.Errors, e => Assert.StartsWith(message, e.Message, StringComparison.Ordinal));
        Assert.All(result.Errors, e => Assert.DoesNotContain("Hunter4Secret", e.ToString(), StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("address: \"snmp:Hunter5Secret@10.0.0.2\"", "", "switch address '***@10.0.0.2' is not an IP address or host name")]
    [InlineData("address: 10.0.0.2", "controller: {proxy: {listen: [\"admin:Hunter5Secret@10.0.0.10:8443\"]}}", "'***@10.0.0.10:8443' in 'listen' is not an address:port endpoint")]
    public void AddressWithAPassword_IsReportedWithoutThePassword(string address, string controller, string message)
    {
        var result = Load("""
            site: {id: s, name: S}
            switches: [{name: sw, snmp: {user: u, auth: {protocol: SHA, pass: {env: A}}}, ADDRESS}]
            CONTROLLER
            clients:
              - {id: c, name: C, contract_end: 2030-01-01, segments: [{name: s, vlans: [100]}]}
            """.Replace("ADDRESS", address, StringComparison.Ordinal).Replace("CONTROLLER", controller, StringComparison.Ordinal));

        var error = Assert.Single(result.Errors);
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Hunter5Secret", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{pr1vateCommunity}")]
    [InlineData("{env: SNMP_COMMUNITY, pr1vateCommunity: x}")]
    [InlineData("{pr1vateCommunity: SNMP_COMMUNITY}")]
    public void SecretWrittenAsAKeyOfItsReference_IsReportedAtTheKeyWithoutRepeatingIt(string community)
    {
        var result = Load("""
            site: {id: s, name: S}
            switches:
              - name: sw
                address: 10.0.0.2
                snmp: {version: v2c, community: COMMUNITY}
            clients:
              - {id: c, name: C, contract_end: 2030-01-01, segments: [{name: s, vlans: [100]}]}
            """.Replace("COMMUNITY", community, StringComparison.Ordinal));

        Assert.Contains(result.Errors, e => e.Line == 5 && e.Message.StartsWith("unknown key in secret reference 'community'", StringComparison.Ordinal));
        Assert.All(result.Errors, e => Assert.DoesNotContain("pr1vateCommunity", e.ToString(), StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("{pr1vateCommunity: x, pr1vateCommunity: y}")]
    [InlineData("{env: SNMP_COMMUNITY, env: pr1vateCommunity}")]
    public void SecretWrittenAsADuplicateKey_IsReportedAtItsPositionWithoutRepeatingIt(string community)
    {
        var result = Load("""
            site: {id: s, name: S}
            switches:
              - name: sw
                address: 10.0.0.2
                snmp: {version: v2c, community: COMMUNITY}
            clients:
              - {id: c, name: C, contract_end: 2030-01-01, segments: [{name: s, vlans: [100]}]}
            """.Replace("COMMUNITY", community, StringComparison.Ordinal));

        var error = Assert.Single(result.Errors);
        Assert.Equal(5, error.Line);
        Assert.StartsWith("duplicate key (first given at line 5, column ", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("pr1vateCommunity", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void WebhookSecretWrittenAsAKey_IsNotRepeated()
    {
        var result = Load("""
            site: {id: s, name: S}
            clients:
              - {id: c, name: C, contract_end: 2030-01-01, segments: [{name: s, vlans: [100]}], kill: {webhooks: [{url: "https://hooks.example.com/kill", secret: {Sup3rS3cretKey!}}]}}
            """);

        Assert.NotEmpty(result.Errors);
        Assert.Contains(result.Errors, e => e.Message.StartsWith("unknown key in secret reference 'secret'", StringComparison.Ordinal));
        Assert.All(result.Errors, e => Assert.DoesNotContain("Sup3rS3cretKey", e.ToString(), StringComparison.Ordinal));
    }

    internal static PolicyLoadResult Load(string yaml) => PolicyLoader.Load(Encoding.UTF8.GetBytes(yaml), "test.yaml");

    /// <summary>A valid site whose <c>controller.capture</c> map holds <paramref name="entries"/> (on line 4).</summary>
    internal static string WithCapture(string entries) => """
        site: {id: s, name: S}
        controller:
          capture:
            ENTRIES
        switches:
          - name: sw
            address: 10.0.0.2
            snmp: {user: u, auth: {protocol: SHA, pass: {env: A}}}
        clients:
          - {id: c, name: C, contract_end: 2030-01-01, segments: [{name: s, vlans: [100]}]}
        """.Replace("ENTRIES", entries, StringComparison.Ordinal);

    /// <summary>Two clients with one subnet each (or several, comma separated inside the brackets).</summary>
    internal static string WithClientSubnets(string first, string second) => $$"""
        site: {id: s, name: S}
        infrastructure: {subnets: [192.168.0.0/24, "fd00:ffff::/64"]}
        switches:
          - name: sw
            address: 10.0.0.2
            snmp:
              user: u
              auth:
                protocol: SHA-256
                pass: {env: A}
        clients:
          - {id: one, name: One, contract_end: 2030-01-01, segments: [{name: s, vlans: [101], subnets: [{{first}}]}]}
          - {id: two, name: Two, contract_end: 2030-01-01, segments: [{name: s, vlans: [102], subnets: [{{second}}]}]}
        """;
}
