using Microsoft.Extensions.DependencyInjection.Extensions;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Hosting;

namespace SegmentController.Proxy;

/// <summary>Wires the kill switch and the inline proxy into <c>segctl run</c>.</summary>
internal static class InlineProxyServiceCollectionExtensions
{
    /// <summary>
    /// The suspension engine (durable state next to the store: <c>dirname(controller.store.path)/suspension.state</c>;
    /// with <c>controller.in_service</c>, a start that finds none suspends every client),
    /// its metrics, its records in the evidence store (<see cref="SuspensionRecorder"/>), and the finding consumer
    /// that trips it. Needs <see cref="IPolicyProvider"/>, an <c>IRecordAppender</c> (<c>AddEvidence</c>),
    /// <see cref="TimeProvider"/> and <c>ControllerMetrics</c> (all from <c>AddControllerCore</c>). Port shutdown
    /// joins when an <see cref="IPortShutter"/> is registered (SNMP), webhooks when an
    /// <see cref="ISuspensionNotifier"/> is. At start-up the switch ports of clients still suspended are shut
    /// again (<see cref="SuspensionReassertionService"/>).
    /// </summary>
    public static IServiceCollection AddSuspension(this IServiceCollection services, string? statePath = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<ISuspensionStateStore>(sp =>
        {
            var policy = sp.GetRequiredService<IPolicyProvider>().Current;
            return new FileSuspensionStateStore(statePath ?? SuspensionStateFile.For(policy), sp.GetService<StoreAtStart>()?.RanBefore, policy.Controller.InService);
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISuspensionObserver, SuspensionMetricsObserver>());
        services.TryAddSingleton<SuspensionRecorder>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISuspensionObserver, SuspensionRecorder>(sp => sp.GetRequiredService<SuspensionRecorder>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SuspensionRecorder>(sp => sp.GetRequiredService<SuspensionRecorder>()));
        services.TryAddSingleton<SuspensionEngine>();
        services.TryAddSingleton<ISuspensionView>(sp => sp.GetRequiredService<SuspensionEngine>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IFindingConsumer, SuspensionFindingConsumer>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SuspensionReassertionService>());
        return services;
    }

    /// <summary>
    /// The inline proxy (listeners from <c>controller.proxy.listen</c>) and its enforcers, plus
    /// <see cref="AddSuspension"/> and the kill webhooks (HMAC-signed HTTPS POSTs). Needs an <c>IRecordAppender</c> (the evidence store) registered
    /// before the host starts: without it the proxy refuses to start.
    /// </summary>
    public static IServiceCollection AddInlineProxy(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(sp => new ProxyComponents(
            sp.GetRequiredService<IPolicyProvider>(),
            () => sp.GetRequiredService<ISuspensionView>(),
            sp.GetRequiredService<IProxyMetrics>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("SegmentController.Proxy")));
        services.AddSingleton<ISuspensionEnforcer>(sp => sp.GetRequiredService<ProxyComponents>().Gate);
        services.AddSingleton<ISuspensionEnforcer>(sp => sp.GetRequiredService<ProxyComponents>().InFlight);
        services.AddSingleton<ISuspensionEnforcer>(sp => sp.GetRequiredService<ProxyComponents>().Pools);
        services.TryAddSingleton<IProxyMetrics, ControllerProxyMetrics>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISuspensionNotifier, Notifications.WebhookNotifier>());
        services.AddSuspension();
        services.AddHostedService<InlineProxyService>();
        return services;
    }
}
