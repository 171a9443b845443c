using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;

namespace SegmentController.Proxy;

/// <summary>
/// Runs the inline proxy's own Kestrel server inside <c>segctl run</c>. Started in
/// <see cref="StartAsync"/> so a bad certificate or busy port stops start-up rather than surfacing later.
/// </summary>
internal sealed partial class InlineProxyService : IHostedService, IAsyncDisposable
{
    private readonly IServiceProvider _services;
    private readonly ILogger<InlineProxyService> _logger;
    private ProxyServer? _server;

    public InlineProxyService(IServiceProvider services, ILogger<InlineProxyService> logger)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(logger);
        _services = services;
        _logger = logger;
    }

    /// <summary>The proxy's bound addresses (port 0 resolved); empty when it did not start.</summary>
    public IReadOnlyList<string> Addresses => _server?.Addresses ?? [];

    /// <summary>The running proxy, or null when it did not start.</summary>
    public ProxyServer? Server => _server;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (TripPriority.Problem is { } problem)
        {
            Log.TripsAtNormalPriority(_logger, problem);
        }
        else
        {
            Log.TripsAtRealTimePriority(_logger, TripPriority.Priority);
        }

        var policy = _services.GetRequiredService<IPolicyProvider>();
        if (policy.Current.Controller.Proxy.Certificate is null)
        {
            // No certificate, no listener: nothing is forwarded, which is the closed state.
            Log.NotStarted(_logger);
            return;
        }

        var records = _services.GetService<IRecordAppender>()
            ?? throw new InvalidOperationException("no evidence store is registered: the proxy does not forward without access records");
        _server = ProxyServer.Create(
            _services.GetRequiredService<ProxyComponents>(),
            policy,
            _services.GetRequiredService<SuspensionEngine>(),
            _services.GetRequiredService<IFindingSink>(),
            records,
            _services.GetRequiredService<IProxyMetrics>(),
            _services.GetRequiredService<TimeProvider>(),
            _services.GetRequiredService<ILoggerFactory>());
        await _server.StartAsync(cancellationToken);
        foreach (var address in _server.Addresses)
        {
            Log.Listening(_logger, address);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not null)
        {
            await _server.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.ProxyListening, LogLevel.Information, "Inline proxy listening on {Address}")]
        public static partial void Listening(ILogger logger, string address);

        [LoggerMessage(EventIds.ProxyNotStarted, LogLevel.Warning, "Inline proxy not started: controller.proxy.certificate is not set")]
        public static partial void NotStarted(ILogger logger);

        [LoggerMessage(EventIds.TripPriority, LogLevel.Information, "Trips run at real-time priority (SCHED_FIFO {Priority})")]
        public static partial void TripsAtRealTimePriority(ILogger logger, int priority);

        [LoggerMessage(EventIds.TripPriority, LogLevel.Warning, "Trips run at normal priority and may wait for a busy CPU: {Problem}")]
        public static partial void TripsAtNormalPriority(ILogger logger, string problem);
    }
}
