using Microsoft.Extensions.DependencyInjection.Extensions;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Core.Incidents;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Proxy.Forwarding;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Incidents;

/// <summary>Wires incidents into <c>segctl run</c>.</summary>
internal static class IncidentServiceCollectionExtensions
{
    /// <summary>
    /// The incident manager (notices by HMAC-signed webhook over TLS 1.2+, exposure counted from the
    /// store's access records), its queue and service. Call after <c>AddEvidence</c> and before anything
    /// that adds the suspension engine, so findings reach the incident queue before the trip they cause.
    /// </summary>
    public static IServiceCollection AddIncidents(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton<IncidentQueue>();
        services.AddSingleton<IFindingConsumer>(sp => sp.GetRequiredService<IncidentQueue>());

        // The kill switch's metrics are told of a trip or a restore before the queue (the engine tells its
        // observers in the order they were registered; AddSuspension's own registration of them is then the
        // same one): a measure an operator reads on an incident is never ahead of segctl_client_suspended.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISuspensionObserver, Proxy.SuspensionMetricsObserver>());
        services.AddSingleton<ISuspensionObserver>(sp => sp.GetRequiredService<IncidentQueue>());
        services.AddSingleton(sp =>
        {
            var policy = sp.GetRequiredService<IPolicyProvider>();
            var time = sp.GetRequiredService<TimeProvider>();
            var options = new WebhookNotifierOptions();
            var http = new HttpClient(new SocketsHttpHandler
            {
                UseProxy = false,
                AllowAutoRedirect = false,
                SslOptions = UpstreamTls.CreateOptions(policy.Current.Controller.Proxy.UpstreamCaFile),
                ConnectTimeout = options.RequestTimeout,
            });
            return new IncidentManager(
                sp.GetRequiredService<IRecordAppender>(),
                new SqliteAccessRecordCounter(policy.Current.Controller.Store.Path),
                new WebhookNotifier(http, time, options),
                () => policy.Current,
                time);
        });
        services.AddSingleton<IncidentNotices>();
        services.AddHostedService<IncidentService>();
        return services;
    }
}
