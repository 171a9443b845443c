using Microsoft.Extensions.DependencyInjection.Extensions;
using SegmentController.Core.Audits;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Proxy;

namespace SegmentController.Audits;

/// <summary>Wires audits into <c>segctl run</c>.</summary>
internal static class AuditServiceCollectionExtensions
{
    /// <summary>
    /// The evidence sources (snmp, capture, proxy, policy, store), the <see cref="AuditRunner"/> and the
    /// <see cref="AuditService"/> (scheduled and on-demand audits). Call after <c>AddEvidence</c>,
    /// <c>AddIncidents</c>, <c>AddSnmpInventory</c>, <c>AddInlineProxy</c> and <c>AddCapture</c>: it stands
    /// on the store, the finding pipeline, the suspension engine and the running verifiers.
    /// </summary>
    public static IServiceCollection AddAudits(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSuspension();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAuditEvidenceSource, SnmpAuditEvidence>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAuditEvidenceSource, CaptureAuditEvidence>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAuditEvidenceSource, ProxyAuditEvidence>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAuditEvidenceSource, PolicyHashEvidence>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAuditEvidenceSource, StoreVerificationEvidence>());
        services.TryAddSingleton(sp => new AuditRunner(
            sp.GetServices<IAuditEvidenceSource>(),
            sp.GetRequiredService<IRecordAppender>(),
            sp.GetRequiredService<IFindingSink>(),
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<AuditService>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditService>());
        return services;
    }
}
