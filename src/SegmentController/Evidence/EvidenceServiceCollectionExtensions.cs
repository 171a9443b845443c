using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace SegmentController.Evidence;

/// <summary>Wires the tamper-evident store into <c>segctl run</c>.</summary>
internal static class EvidenceServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IEvidenceStore"/>/<see cref="IRecordAppender"/> (opened by a hosted service
    /// that should be registered before the others), a finding consumer that records every finding, the
    /// <c>log-integrity-failure</c> alerts and the store's upkeep (purge, background verification, owed
    /// records; <see cref="StoreMaintenanceOptions"/> from <c>Segctl:Store</c>).
    /// </summary>
    public static IServiceCollection AddEvidence(this IServiceCollection services)
    {
        services.TryAddSingleton<DeferredEvidenceStore>();
        services.TryAddSingleton<IEvidenceStore>(sp => sp.GetRequiredService<DeferredEvidenceStore>());
        services.TryAddSingleton<IRecordAppender>(sp => sp.GetRequiredService<DeferredEvidenceStore>());
        services.TryAddSingleton<StoreIntegrityAlerts>();
        services.TryAddSingleton<OwedRecords>();
        services.AddOptions<StoreMaintenanceOptions>()
            .BindConfiguration(StoreMaintenanceOptions.Section)
            .Validate(o => o.IsValid, "Segctl:Store intervals must be positive")
            .ValidateOnStart();
        services.AddSingleton<IFindingConsumer, FindingRecorder>();
        services.AddHostedService<EvidenceStoreService>();
        services.TryAddSingleton<StoreMaintenanceService>();
        services.AddHostedService(sp => sp.GetRequiredService<StoreMaintenanceService>());
        return services;
    }
}
