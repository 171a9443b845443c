using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Proxy.Tests.Infrastructure;

/// <summary>
/// A running proxy on 127.0.0.1 with two clients, each with its own real HTTPS upstream:
/// acme (agents in 127.0.1.0/24, host acme.test) and globex (127.0.2.0/24, globex.test).
/// Sources in 127.0.9.0/24 belong to nobody. Access records go to a real SQLite evidence store.
/// </summary>
internal sealed class ProxyHarness : IAsyncDisposable
{
    public const string AcmeAgent = "127.0.1.10";
    public const string GlobexAgent = "127.0.2.10";
    public const string UnknownAgent = "127.0.9.10";

    private readonly bool _ownsDirectory;
    private ProxyServer? _server;
    private ProxyComponents? _components;
    private bool _stopped;
    private ILoggerFactory? _loggers;

    private ProxyHarness(string directory, bool ownsDirectory)
    {
        Directory = directory;
        _ownsDirectory = ownsDirectory;
        Pki = new TestPki(directory);
    }

    public string Directory { get; }

    public TestPki Pki { get; }

    public UpstreamServer Acme { get; private set; } = null!;

    public UpstreamServer Globex { get; private set; } = null!;

    public StaticPolicyProvider Policy { get; private set; } = null!;

    public SuspensionEngine Engine { get; private set; } = null!;

    public RecordingFindingSink Findings { get; } = new();

    /// <summary>The proxy's long-lived parts, the snapshots of the policy in force among them.</summary>
    public ProxyComponents Components => _components ?? throw new InvalidOperationException("not started");

    /// <summary>The evidence store the proxy writes its access records to.</summary>
    public SqliteEvidenceStore Store { get; private set; } = null!;

    public string StorePath { get; private set; } = null!;

    public RecordingMetrics Metrics { get; } = new();

    /// <summary>What the proxy logged.</summary>
    public RecordingLoggerProvider Logs { get; } = new();

    public int ProxyPort { get; private set; }

    /// <summary>Every listener of the proxy (the first is <see cref="ProxyPort"/>'s), as https://address:port/.</summary>
    public IReadOnlyList<Uri> ProxyAddresses { get; private set; } = [];

    public string StatePath => Path.Combine(Directory, "state", "suspension.state");

    /// <summary>Starts a harness; pass a directory to reuse a previous run's state file (restart).</summary>
    /// <param name="directory">A previous run's directory, to reuse its state file (restart).</param>
    /// <param name="extraAcmeUpstreams">More upstreams for acme.</param>
    /// <param name="approvers">Distinct approvers a restore needs.</param>
    /// <param name="agentCertificates">
    /// Require agent client certificates issued by <see cref="Pki"/>: acme's agents are <c>O=Acme, OU=Agents</c>
    /// (or the one certificate <see cref="AcmeKiosk"/>, by fingerprint), globex's <c>O=Globex, OU=Agents</c>.
    /// </param>
    /// <param name="storeDirectory">Where the evidence store lives (default: <paramref name="directory"/>).</param>
    /// <param name="acmeDestination">Where acme's route sends requests, given acme's upstream (default: the upstream itself).</param>
    /// <param name="listen">The proxy's listen endpoint (<c>[::]:0</c> for a dual-stack listener).</param>
    /// <param name="proxyEnvironment">Environment variables set while the proxy server (and it alone) is built and started.</param>
    /// <param name="upstreamProtocols">What the upstreams speak (HTTP/1.1 alone: each request on a connection of its own at a time, kept alive between them).</param>
    /// <param name="upstreamCaInPolicy">
    /// Name <see cref="Pki"/>'s CA as the policy's <c>upstream_ca</c> (the default); false leaves it out, so the
    /// upstreams (issued by that CA) must chain to the system trust store, which does not hold it.
    /// </param>
    /// <param name="adjustPolicy">Changes the policy the proxy starts with (more listeners, more agent subnets).</param>
    /// <param name="afterRouting">Awaited by each request between its route's match and the proxy's decision (<see cref="ProxyComponents.AfterRouting"/>).</param>
    public static async Task<ProxyHarness> StartAsync(
        string? directory = null,
        Func<ProxyHarness, IEnumerable<Upstream>>? extraAcmeUpstreams = null,
        int approvers = 2,
        bool agentCertificates = false,
        string? storeDirectory = null,
        Func<UpstreamServer, Task<Uri>>? acmeDestination = null,
        string listen = "127.0.0.1:0",
        IReadOnlyDictionary<string, string>? proxyEnvironment = null,
        Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols upstreamProtocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1AndHttp2,
        bool upstreamCaInPolicy = true,
        Func<SitePolicy, SitePolicy>? adjustPolicy = null,
        Func<Microsoft.AspNetCore.Http.HttpContext, Task>? afterRouting = null)
    {
        var owns = directory is null;
        directory ??= System.IO.Directory.CreateTempSubdirectory("segctl-proxy-").FullName;
        var harness = new ProxyHarness(directory, owns);
        try
        {
            await harness.StartCoreAsync(extraAcmeUpstreams, approvers, agentCertificates, storeDirectory ?? directory, acmeDestination, listen, proxyEnvironment, upstreamProtocols, upstreamCaInPolicy, adjustPolicy, afterRouting);
        }
        catch
        {
            await harness.DisposeAsync();
            throw;
        }

        return harness;
    }

    /// <summary>With agent certificates: a certificate of acme's known by its fingerprint alone (its subject names no client).</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? AcmeKiosk { get; private set; }

    private async Task StartCoreAsync(Func<ProxyHarness, IEnumerable<Upstream>>? extraAcmeUpstreams, int approvers, bool agentCertificates, string storeDirectory, Func<UpstreamServer, Task<Uri>>? acmeDestination, string listen, IReadOnlyDictionary<string, string>? proxyEnvironment, Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols upstreamProtocols, bool upstreamCaInPolicy, Func<SitePolicy, SitePolicy>? adjustPolicy, Func<Microsoft.AspNetCore.Http.HttpContext, Task>? afterRouting)
    {
        var upstreamCert = Pki.IssueServer("upstream", "localhost");
        Acme = await UpstreamServer.StartAsync("acme", upstreamCert.Certificate, upstreamProtocols);
        Globex = await UpstreamServer.StartAsync("globex", upstreamCert.Certificate, upstreamProtocols);
        var acmeAddress = acmeDestination is null ? Acme.Address : await acmeDestination(Acme);
        var proxyCert = Pki.IssueServer("proxy", "acme.test", "globex.test", "legacy.test", "failing.test", "unknown.test", "localhost");

        AcmeKiosk = agentCertificates ? Pki.IssueClient("CN=kiosk-7, O=Lobby") : null;
        var policy = new SitePolicy
        {
            Site = new SiteInfo { Id = "test", Name = "Test site" },
            Controller = new ControllerSettings
            {
                Proxy = new ProxySettings
                {
                    Listen = [listen],
                    Certificate = new CertificateReference { File = proxyCert.CertPath, KeyFile = proxyCert.KeyPath },
                    UpstreamCaFile = upstreamCaInPolicy ? Pki.CaPemPath : null,
                    RequireClientCertificate = agentCertificates,
                    ClientCaFile = agentCertificates ? Pki.CaPemPath : null,
                },
            },
            Infrastructure = new InfrastructureSettings(),
            Switches = [],
            Restore = new RestoreSettings { Approvers = approvers },
            Clients =
            [
                Client("acme", "127.0.1.0/24", [new Upstream { Name = "crm", Hosts = ["acme.test"], Destinations = [acmeAddress] }, .. extraAcmeUpstreams?.Invoke(this) ?? []]),
                Client("globex", "127.0.2.0/24", [new Upstream { Name = "crm", Hosts = ["globex.test"], Destinations = [Globex.Address] }]),
            ],
        };
        if (agentCertificates)
        {
            policy = policy with
            {
                Clients =
                [
                    policy.Clients[0] with { AgentCertificates = new AgentCertificates { Subjects = [Subject("O=Acme, OU=Agents")], Fingerprints = [CertificateFingerprint.Of(AcmeKiosk!)] } },
                    policy.Clients[1] with { AgentCertificates = new AgentCertificates { Subjects = [Subject("O=Globex, OU=Agents")] } },
                ],
            };
        }

        Policy = new StaticPolicyProvider(adjustPolicy?.Invoke(policy) ?? policy);

        _loggers = LoggerFactory.Create(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Information));
        _components = new ProxyComponents(Policy, () => Engine, Metrics, logger: _loggers.CreateLogger("SegmentController.Proxy")) { AfterRouting = afterRouting };
        Engine = new SuspensionEngine(new FileSuspensionStateStore(StatePath), Policy, _components.Enforcers, [], [], [], TimeProvider.System);
        StorePath = Path.Combine(storeDirectory, "evidence.db");
        Store = await SqliteEvidenceStore.OpenAsync(
            new StoreOptions { Path = StorePath, SigningKeyFile = Path.Combine(Directory, "evidence.key.pem") },
            TimeProvider.System,
            CancellationToken.None);
        foreach (var (name, value) in proxyEnvironment ?? new Dictionary<string, string>())
        {
            Environment.SetEnvironmentVariable(name, value);
        }

        try
        {
            _server = ProxyServer.Create(_components, Policy, Engine, Findings, Store, Metrics, TimeProvider.System, _loggers);
            await _server.StartAsync(CancellationToken.None);
        }
        finally
        {
            foreach (var name in proxyEnvironment?.Keys ?? [])
            {
                Environment.SetEnvironmentVariable(name, null);
            }
        }

        ProxyAddresses = [.. _server.Addresses.Select(a => new Uri(a))];
        ProxyPort = ProxyAddresses[0].Port;
    }

    private static SubjectPattern Subject(string text) =>
        SubjectPattern.TryParse(text, out var pattern, out var error) ? pattern! : throw new InvalidOperationException(error);

    /// <summary>A client with one segment of agents and its upstreams (no switch ports to shut).</summary>
    internal static ClientDefinition Client(string id, string subnet, IReadOnlyList<Upstream> upstreams) => new()
    {
        Id = id,
        Name = id,
        ContractEnd = new DateOnly(2030, 1, 1),
        Segments = [new Segment { Name = "agents", Subnets = [IPNetwork.Parse(subnet)] }],
        Upstreams = upstreams,
        Kill = new KillActions { ShutPorts = false },
    };

    /// <summary>An HTTP client whose connections come from <paramref name="source"/> and go to the proxy, whatever the URL's host.</summary>
    public HttpClient Agent(string source, Version? version = null, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null) =>
        new(AgentHandler(source, certificate), disposeHandler: true)
        {
            DefaultRequestVersion = version ?? HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(30),
        };

    public SocketsHttpHandler AgentHandler(string source, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null) => new()
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var from = IPAddress.Parse(source);
            var socket = new Socket(from.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(from, 0));
                await socket.ConnectAsync(ProxyAddressFor(from), ProxyPort, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
        SslOptions = new SslClientAuthenticationOptions
        {
            CertificateChainPolicy = Pki.ChainPolicy(),
            // Offered whatever CA names the server lists, so an untrusted certificate reaches the proxy's check.
            LocalCertificateSelectionCallback = certificate is null ? null : (_, _, _, _, _) => certificate,
        },
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    };

    /// <summary>The loopback address of the source's family: an IPv6 source (<c>::1</c>) needs a dual-stack or IPv6 listener.</summary>
    internal static IPAddress ProxyAddressFor(IPAddress source) =>
        source.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback;

    /// <summary>
    /// Asserts the proxy answered nothing: the connection was dropped (however the agent's stack words
    /// it — a failed request, a reset socket), never a status.
    /// </summary>
    public static async Task AssertDroppedAsync(Func<Task<HttpResponseMessage>> send)
    {
        var failure = await Record.ExceptionAsync(async () => (await send()).Dispose());
        Assert.True(
            failure is HttpRequestException or IOException or SocketException,
            failure is null ? "the proxy answered" : $"unexpected {failure.GetType().Name}: {failure.Message}");
    }

    /// <summary>Sends raw bytes over TLS from a source address and returns what came back until the proxy closed or went quiet.</summary>
    public async Task<string> RawAsync(string source, string sni, string request)
    {
        var from = IPAddress.Parse(source);
        using var socket = new Socket(from.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(from, 0));
        await socket.ConnectAsync(ProxyAddressFor(from), ProxyPort);
        await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = sni,
            CertificateChainPolicy = Pki.ChainPolicy(),
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ApplicationProtocols = [SslApplicationProtocol.Http11],
        });
        await tls.WriteAsync(Encoding.ASCII.GetBytes(request));
        await tls.FlushAsync();
        var response = new StringBuilder();
        var buffer = new byte[16384];
        while (true)
        {
            // The first answer may take a busy machine a while (many connections at once); after it, a quiet spell ends the read.
            using var quiet = new CancellationTokenSource(response.Length == 0 ? TimeSpan.FromSeconds(30) : TimeSpan.FromMilliseconds(1500));
            int read;
            try
            {
                read = await tls.ReadAsync(buffer, quiet.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
                break;
            }

            if (read == 0)
            {
                break;
            }

            response.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return response.ToString();
    }

    /// <summary>
    /// The requests' access records in the store once at least <paramref name="count"/> are there (a
    /// record is durable with the store's next batch after its request ended), as JSON: a stored record
    /// that joins a batch's handed-over records (a JSON array) gives each of them. The gate's refusal
    /// records, of the same type, are left out (<see cref="IsRequest"/>).
    /// </summary>
    public async Task<IReadOnlyList<JsonElement>> AccessRecordsAsync(int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var records = StoreFile.Read(StorePath, new RecordQuery { Type = RecordTypes.Access }).SelectMany(Entries).Where(IsRequest).ToList();
            if (records.Count >= count || DateTime.UtcNow > deadline)
            {
                return records;
            }

            await Task.Delay(20);
        }
    }

    /// <summary>
    /// The stored records of one type once at least <paramref name="count"/> are on disk (or 30 s have
    /// passed): records handed over one after another may commit in different batches.
    /// </summary>
    public async Task<IReadOnlyList<StoredRecord>> RecordsAsync(string type, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var records = StoreFile.Read(StorePath, new RecordQuery { Type = type }).ToList();
            if (records.Count >= count || DateTime.UtcNow > deadline)
            {
                return records;
            }

            await Task.Delay(20);
        }
    }

    /// <summary>
    /// Whether an access record is a request's. The gate's refusal records are access records too, one for each
    /// client's window of refused connections, which a background writer stores every
    /// <see cref="SegmentController.Proxy.Gate.GateRefusals.Interval"/> (and at stop) whenever connections were refused: they name no request
    /// (no path, no status), and come whenever a tick falls after a suspended agent's connection.
    /// </summary>
    public static bool IsRequest(JsonElement record) => record.TryGetProperty("path", out _);

    /// <summary>The access records a stored record holds: each element of a JSON array (a batch's handed-over records joined), or the record itself.</summary>
    public static IEnumerable<JsonElement> Entries(StoredRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var root = JsonDocument.Parse(record.Payload!.Value).RootElement;
        return root.ValueKind == JsonValueKind.Array ? root.EnumerateArray().Select(e => e.Clone()).ToArray() : [root.Clone()];
    }

    /// <summary>Stops the proxy (its last gate refusals are written) and closes the store; the state file stays.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }

        Engine?.Dispose();
        _components?.Dispose();
        if (Store is not null)
        {
            await Store.DisposeAsync();
            Store = null!;
        }

        if (Acme is not null)
        {
            await Acme.DisposeAsync();
        }

        if (Globex is not null)
        {
            await Globex.DisposeAsync();
        }

        AcmeKiosk?.Dispose();
        _loggers?.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Pki.Dispose();
        if (_ownsDirectory)
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
