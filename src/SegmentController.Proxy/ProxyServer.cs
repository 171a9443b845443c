using System.Diagnostics;
using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Proxy.Access;
using SegmentController.Proxy.Configuration;
using SegmentController.Proxy.Enforcement;
using SegmentController.Proxy.Gate;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Transforms;

namespace SegmentController.Proxy;

/// <summary>
/// The inline proxy: its own Kestrel server (apart from the management listener, so neither pipeline
/// can reach the other's endpoints), TLS 1.2/1.3, HTTP/1.1 and HTTP/2, the connection gate before TLS,
/// enforcement, access records and YARP.
/// </summary>
internal sealed class ProxyServer : IAsyncDisposable
{
    /// <summary>The TLS versions the proxy's listeners accept.</summary>
    public const SslProtocols ListenerProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>Request headers that claim the agent's address, removed before forwarding.</summary>
    internal static readonly string[] SpoofableSourceHeaders =
        ["X-Real-IP", "True-Client-IP", "X-Client-IP", "X-Cluster-Client-IP", "CF-Connecting-IP", "Fastly-Client-IP", "X-Original-Forwarded-For"];

    /// <summary>
    /// Request headers in which a TLS-terminating front end tells its upstream what certificate the agent presented:
    /// the proxy ends the agent's TLS, so such a header is the upstream's one way to learn it, and the agent wrote it.
    /// Removed before forwarding, with every header that starts with one of <see cref="SpoofableCertificateHeaderPrefixes"/>.
    /// </summary>
    internal static readonly string[] SpoofableCertificateHeaders =
        ["X-Forwarded-Client-Cert", "X-Client-Cert", "X-Client-Certificate", "X-ARR-ClientCert", "X-Client-DN", "X-Client-Verify", "X-SSL-Cert", "Client-Cert", "Client-Cert-Chain"];

    /// <summary>Prefixes of the headers that describe the agent's certificate (<see cref="SpoofableCertificateHeaders"/>).</summary>
    internal static readonly string[] SpoofableCertificateHeaderPrefixes = ["X-SSL-Client-", "SSL-Client-", "X-Client-Cert-", "X-Amzn-Mtls-"];

    /// <summary>
    /// Request headers in which a front end tells its upstream the URL, host, port or scheme the agent asked for,
    /// instead of the request's own: an upstream that honours them would serve what the agent wrote there, past its
    /// own rules. YARP sets <c>X-Forwarded-Proto</c> and <c>X-Forwarded-Host</c> itself; these it would pass on.
    /// </summary>
    internal static readonly string[] SpoofableRequestHeaders =
        ["X-Original-URL", "X-Rewrite-URL", "X-Original-Host", "X-Host", "X-Forwarded-Server", "X-Forwarded-Port", "X-Forwarded-Scheme", "X-Forwarded-Ssl", "X-Url-Scheme", "Front-End-Https"];

    private readonly WebApplication _app;

    private ProxyServer(WebApplication app)
    {
        _app = app;
    }

    /// <summary>The addresses bound (with port 0 resolved), once started.</summary>
    public IReadOnlyList<string> Addresses =>
        _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? [];

    /// <summary>The routes and clusters YARP serves now (audits compare them with the policy).</summary>
    public IProxyConfig RouteConfiguration => _app.Services.GetRequiredService<IProxyConfigProvider>().GetConfig();

    /// <summary>Builds the server; the certificate is loaded now so a bad one fails at start-up.</summary>
    public static ProxyServer Create(
        ProxyComponents components,
        IPolicyProvider policy,
        ISuspensionView suspensions,
        IFindingSink findings,
        IRecordAppender records,
        IProxyMetrics metrics,
        TimeProvider time,
        ILoggerFactory loggerFactory,
        IReadOnlyList<string>? listenOverride = null)
    {
        ArgumentNullException.ThrowIfNull(components);
        ArgumentNullException.ThrowIfNull(policy);
        var settings = policy.Current.Controller.Proxy;
        var certificateReference = settings.Certificate
            ?? throw new InvalidOperationException("controller.proxy.certificate is not set; the proxy serves TLS only");
        var certificate = Core.Policy.CertificateLoader.Load(certificateReference);
        var listen = listenOverride ?? settings.Listen;
        if (components.Directory.RequiresClientCertificate && components.Directory.ClientCaError is { } caError)
        {
            throw new InvalidOperationException($"{caError}; agents cannot be identified");
        }

        // The empty builder reads no configuration at all: who an agent is comes from the socket's address
        // alone, and the listeners from the policy alone. The slim and default builders read the process's
        // environment, where ASPNETCORE_FORWARDEDHEADERS_ENABLED (common in container images) turns on the
        // forwarded-headers middleware with every proxy trusted — the agent's own X-Forwarded-For would then
        // become the source address — and Kestrel__Endpoints__… or ASPNETCORE_URLS-style settings add
        // listeners without the gate or TLS.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = "segctl-proxy",
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        builder.WebHost.UseKestrelCore();
        builder.Services.AddRoutingCore();
        builder.Logging.ClearProviders();
        var http2Refusals = new Http2Refusals();
        builder.Services.Replace(ServiceDescriptor.Singleton<ILoggerFactory>(new RequestLogFilter(loggerFactory, http2Refusals)));
        builder.Services.AddSingleton(policy);
        builder.Services.AddSingleton(suspensions);
        builder.Services.AddSingleton(findings);
        builder.Services.AddSingleton(records);
        builder.Services.AddSingleton(metrics);
        builder.Services.AddSingleton(time);
        builder.Services.AddSingleton(components.Directory);
        builder.Services.AddSingleton(components.InFlight);
        builder.Services.AddSingleton(components.Gate);
        builder.Services.AddSingleton<ProxyFindings>();
        builder.Services.AddSingleton<AccessRecords>();
        builder.Services.AddSingleton(components.Refusals);
        builder.Services.AddSingleton<GateRefusalWriter>();
        builder.Services.AddSingleton<MalformedRequests>();
        builder.Services.AddSingleton<RouteEnforcementMiddleware>();
        builder.Services.AddSingleton<Forwarding.UpstreamTlsProbe>();
        builder.Services.AddSingleton<IForwarderHttpClientFactory>(components.Pools);
        builder.Services.AddSingleton(components.Http10);
        builder.Services.AddSingleton<IProxyConfigProvider>(new PolicyProxyConfigProvider(components.Snapshots));
        AddReverseProxyServices(builder.Services);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            foreach (var endpoint in listen)
            {
                kestrel.Listen(ParseEndpoint(endpoint), options =>
                {
                    options.Protocols = HttpProtocols.Http1AndHttp2;
                    // Before TLS: a suspended client's connection never gets a handshake.
                    options.Use(next => connection => components.Gate.OnConnectionAsync(connection, next));
                    options.UseHttps(https =>
                    {
                        https.ServerCertificate = certificate;
                        https.SslProtocols = ListenerProtocols;
                        if (settings.RequireClientCertificate)
                        {
                            // The handshake takes any certificate, or none: ProxyRequestMiddleware checks it
                            // against the client CA bundle and the agent's client, so a wrong or missing one
                            // is answered with 403, an access record and a finding rather than a bare TLS alert.
                            https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                            https.AllowAnyClientCertificate();
                        }
                        else
                        {
                            https.ClientCertificateMode = ClientCertificateMode.NoCertificate;
                        }

                        https.CheckCertificateRevocation = false;
                    });
                });
            }
        });

        var app = builder.Build();

        // Requests the server refuses before any middleware runs are recorded all the same: over HTTP/1.1 from its
        // diagnostic events, over HTTP/2 from its log.
        var malformed = app.Services.GetRequiredService<MalformedRequests>();
        malformed.Subscribe(app.Services.GetRequiredService<DiagnosticListener>());
        http2Refusals.Attach(malformed);

        // A record the store cannot take stops forwarding, and what is in flight is cut with it.
        app.Services.GetRequiredService<AccessRecords>().Stopped += _ => components.InFlight.Enforce(SuspensionNames.AllClients);

        // Before routing: a fully qualified host name's trailing dot, taken off, matches the host's route.
        app.Use(next => context =>
        {
            AgentHost.WithoutTrailingDot(context.Request);
            return next(context);
        });

        // Routing reads the host decoded, and a host written as the ASCII form of no name (`xn--…`) throws there: such
        // a request skips routing, and is answered and recorded as one that matches no route (from a source in no
        // segment, as an unknown source).
        app.MapWhen(context => !AgentHost.Decodes(context.Request), unrouted => unrouted.UseMiddleware<ProxyRequestMiddleware>());
        app.UseRouting();
        if (components.AfterRouting is { } afterRouting)
        {
            app.Use(next => async context =>
            {
                await afterRouting(context).ConfigureAwait(false);
                await next(context).ConfigureAwait(false);
            });
        }

        // No WebSockets middleware: YARP forwards upgrades (HTTP/1.1) and extended CONNECT (HTTP/2) itself.
        app.UseMiddleware<ProxyRequestMiddleware>();
        var enforcement = app.Services.GetRequiredService<RouteEnforcementMiddleware>();
        app.MapReverseProxy(pipeline =>
        {
            // The RequestDelegate form: nothing is allocated per request to call the next step.
            pipeline.Use(next => context => enforcement.InvokeAsync(context, next));
            pipeline.UseSessionAffinity();
            pipeline.UseLoadBalancing();
            pipeline.UsePassiveHealthChecks();
        });
        return new ProxyServer(app);
    }

    /// <summary>YARP and the proxy's transforms; the configuration's validation before a reload uses the same (<see cref="ProxyConfigValidation"/>).</summary>
    internal static void AddReverseProxyServices(IServiceCollection services)
    {
        services.AddReverseProxy().AddTransforms(transforms =>
        {
            // YARP sets X-Forwarded-* from the connection and drops Forwarded; the single-hop claims of the
            // agent's address, of its certificate and of the URL it asked for it passes on as the agent wrote
            // them. An agent must not tell its client's upstream it is someone else, or asked for something
            // else: the proxy's X-Forwarded-* are what the upstream gets.
            transforms.RequestTransforms.Add(new Forwarding.SourceClaimsTransform());
            transforms.Services.GetRequiredService<Forwarding.Http10Upstreams>().AddTo(transforms);
        });
        services.TryAddSingleton(_ => new Forwarding.Http10Upstreams());

        // YARP brings ASP.NET Core data protection for session affinity cookies, which no route here sets. As
        // registered, its hosted service makes a key ring at start, unencrypted, in the home directory of the
        // process's user (under the systemd unit, the state directory beside the evidence), with a warning in
        // the log. Kept in memory and never warmed up, it writes nothing (and has nothing to log).
        services.AddDataProtection();
        services.Replace(ServiceDescriptor.Singleton<IDataProtectionProvider>(new EphemeralDataProtectionProvider(NullLoggerFactory.Instance)));
        foreach (var warmUp in services.Where(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType?.Assembly == typeof(EphemeralDataProtectionProvider).Assembly).ToArray())
        {
            services.Remove(warmUp);
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        _app.Services.GetRequiredService<GateRefusalWriter>().Start();
    }

    public Task StopAsync(CancellationToken cancellationToken) => _app.StopAsync(cancellationToken);

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private static IPEndPoint ParseEndpoint(string endpoint) =>
        IPEndPoint.TryParse(endpoint, out var parsed) && endpoint.Contains(':', StringComparison.Ordinal)
            ? parsed
            : throw new InvalidOperationException($"proxy listen endpoint '{endpoint}' is not address:port");
}
