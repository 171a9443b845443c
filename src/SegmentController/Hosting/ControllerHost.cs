using System.Net;
using System.Reflection;
using System.Security.Authentication;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Prometheus;
using SegmentController.Api;
using SegmentController.Audits;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Evidence;
using SegmentController.Findings;
using SegmentController.Health;
using SegmentController.Incidents;
using SegmentController.Logging;
using SegmentController.Proxy;
using SegmentController.Snmp;
using SegmentController.Capture;
using SegmentController.Metrics;

namespace SegmentController.Hosting;

/// <summary>
/// Builds the <c>segctl run</c> process: one host, the management listener (operator API, /metrics,
/// /healthz), and every verifier and enforcer as a hosted service.
/// </summary>
internal static class ControllerHost
{
    /// <summary>The version string of this build.</summary>
    public static string Version { get; } =
        typeof(ControllerHost).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";

    /// <summary>Builds the host for a loaded policy.</summary>
    /// <param name="policy">The policy provider, already holding a valid policy.</param>
    /// <param name="managementOverride">Listen on these endpoints instead of the policy's (tests, first runs).</param>
    /// <param name="configure">Last changes to the services (tests: shorter intervals).</param>
    public static WebApplication Build(IPolicyProvider policy, IReadOnlyList<string>? managementOverride = null, Action<IServiceCollection>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        // The empty builder reads no configuration: the listeners come from the policy alone. The slim and
        // default builders read the process's environment, where ASPNETCORE_FORWARDEDHEADERS_ENABLED (set in
        // some container images) would make a caller's own X-Forwarded-For its address — the address the
        // failed-authentication limit counts by — and Kestrel__Endpoints__… would add a listener the
        // "no plain HTTP off loopback" check never sees.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = "segctl",
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        builder.WebHost.UseKestrelCore();
        builder.Services.AddRoutingCore();

        builder.Logging.ClearProviders();

        // Log levels alone may still come from the environment (Logging__LogLevel__Default=Debug, as with
        // any .NET service): nothing else of it is read.
        builder.Logging.AddConfiguration(new ConfigurationBuilder().AddEnvironmentVariables().Build().GetSection("Logging"));
        builder.Logging.AddPrintableConsole();

        builder.Services.Configure<HostOptions>(o =>
        {
            // A verifier that dies must not leave a controller that looks healthy: stop, and let the
            // supervisor (systemd) restart us into a fail-closed state.
            o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
            o.ShutdownTimeout = TimeSpan.FromSeconds(10);
        });

        // Order matters: the store opens before anything records; incidents see a finding before the
        // suspension consumer trips on it, and a trip's measure only after its metrics; the switches' port
        // shutter is registered before the engine.
        builder.Services.AddSingleton(StoreAtStart.Of(policy.Current.Controller.Store.Path));
        builder.Services.AddControllerCore(policy);
        builder.Services.AddEvidence();
        builder.Services.AddIncidents();
        builder.Services.AddSnmpInventory();
        builder.Services.AddInlineProxy();
        builder.Services.AddOperatorApi();
        builder.Services.AddCapture();
        builder.Services.AddAudits();
        configure?.Invoke(builder.Services);

        var listen = managementOverride ?? policy.Current.Controller.Management.Listen;
        var managementCertificate = policy.Current.Controller.Management.Certificate;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            foreach (var endpoint in listen)
            {
                var address = ParseEndpoint(endpoint);
                if (managementCertificate is null && !IPAddress.IsLoopback(address.Address))
                {
                    throw new InvalidOperationException(
                        $"management listener {endpoint} is not loopback and controller.management.certificate is not set; refusing to serve the operator API without TLS");
                }

                kestrel.Listen(address, options =>
                {
                    if (managementCertificate is not null)
                    {
                        var certificate = CertificateLoader.Load(managementCertificate);
                        options.UseHttps(https =>
                        {
                            https.ServerCertificate = certificate;
                            https.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
                            // Operators may present a certificate; it is pinned by fingerprint in the API keys file.
                            https.ClientCertificateMode = Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.AllowCertificate;
                            https.AllowAnyClientCertificate();
                        });
                    }
                });
            }
        });

        var app = builder.Build();
        // An answer the endpoints leave without a body (a method a route does not allow, a path that maps to
        // nothing) is written as problem details like every other error of the listener.
        app.UseStatusCodePages();
        // A web page's changing request is refused before its credential is looked at (BrowserRequestGuard).
        app.UseBrowserRequestGuard();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseReadOnlyManagementEndpoints();
        app.MapManagementEndpoints();
        app.MapOperatorApi();
        return app;
    }

    /// <summary>Registers what every controller process has, whatever else it runs.</summary>
    public static IServiceCollection AddControllerCore(this IServiceCollection services, IPolicyProvider policy)
    {
        services.AddSingleton(policy);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(_ => new ControllerMetrics(Prometheus.Metrics.NewCustomRegistry()));
        services.AddSingleton<CounterSeries>();
        services.AddSingleton<VerificationHealth>();
        services.AddSingleton<FindingPipeline>();
        services.AddSingleton<IFindingSink>(sp => sp.GetRequiredService<FindingPipeline>());
        services.AddHostedService<PolicyReloadService>();
        services.AddHealthChecks().AddCheck<VerificationHealthCheck>("verification");
        return services;
    }

    /// <summary>The addresses Kestrel actually bound (port 0 resolved).</summary>
    public static IReadOnlyList<string> BoundAddresses(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var feature = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>();
        return feature?.Addresses.ToArray() ?? [];
    }

    private static void MapManagementEndpoints(this WebApplication app)
    {
        var metrics = app.Services.GetRequiredService<ControllerMetrics>();
        metrics.BuildInfo.WithLabels(Version).Set(1);
        // Before the listener opens: the first scrape already has every counter's series at 0.
        app.Services.GetRequiredService<CounterSeries>();
        // Open on purpose (Prometheus and supervisors do not authenticate); every other path is denied by default.
        app.MapMetrics("/metrics", metrics.Registry).AllowAnonymous().WithMetadata(ReadOnlyEndpoint.Instance);
        app.MapHealthChecks("/healthz", new HealthCheckOptions
        {
            ResponseWriter = HealthResponse.WriteAsync,
            ResultStatusCodes =
            {
                [Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy] = StatusCodes.Status200OK,
                [Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded] = StatusCodes.Status200OK,
                [Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        }).AllowAnonymous().WithMetadata(ReadOnlyEndpoint.Instance);
    }

    /// <summary>
    /// /metrics and /healthz answer GET and HEAD alone: any other method is 405 with Allow (written as problem
    /// details by the status code pages). Checked after routing and authorization, which let an anonymous
    /// caller reach these endpoints whatever the method, so the caller sees 405 rather than 401.
    /// </summary>
    private static void UseReadOnlyManagementEndpoints(this WebApplication app) =>
        app.Use(async (context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<ReadOnlyEndpoint>() is not null
                && !HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
            {
                context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                context.Response.Headers.Allow = "GET, HEAD";
                return;
            }

            await next(context);
        });

    /// <summary>Marks an endpoint that answers GET and HEAD alone.</summary>
    internal sealed class ReadOnlyEndpoint
    {
        public static ReadOnlyEndpoint Instance { get; } = new();
    }

    private static IPEndPoint ParseEndpoint(string endpoint) =>
        IPEndPoint.TryParse(endpoint, out var parsed) && endpoint.Contains(':', StringComparison.Ordinal)
            ? parsed
            : throw new InvalidOperationException($"listen endpoint '{endpoint}' is not address:port");
}
