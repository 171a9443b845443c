using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace SegmentController.Evidence;

/// <summary>Wires the tamper-evident store into <c>segctl run</c>.</summary>
internal static class EvidenceServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IEvidenceStore"/>/<see cref="IRecordAppender"/> (opened by a hosted service
    /// that should be registered before the others) and a finding consumer that records every finding.
    /// </summary>
    public static IServiceCollection AddEvidence(this IServiceCollection services)
    {
        services.TryAddSingleton<DeferredEvidenceStore>();
        services.TryAddSingleton<IEvidenceStore>(sp => sp.GetRequiredService<DeferredEvidenceStore>());
        services.TryAddSingleton<IRecordAppender>(sp => sp.GetRequiredService<DeferredEvidenceStore>());
        services.AddSingleton<IFindingConsumer, FindingRecorder>();
        services.AddHostedService<EvidenceStoreService>();
        return services;
    }
}
