namespace SegmentController.Evidence;

/// <summary>
/// The evidence store's upkeep inside <c>segctl run</c> (configuration section <c>Segctl:Store</c>): the
/// retention purge, the background verification of the whole chain, and the retry of records the
/// controller owes the chain.
/// </summary>
internal sealed class StoreMaintenanceOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Segctl:Store";

    /// <summary>How often expired records are purged (contract end + 6 years per client).</summary>
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How often the whole chain is verified in the background.</summary>
    public TimeSpan VerifyInterval { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Wait after start before the first purge and the first verification (start-up comes first).</summary>
    public TimeSpan StartDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Wait between tries of a record the store refused (a policy load that could not be written).</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Every interval positive.</summary>
    public bool IsValid =>
        PurgeInterval > TimeSpan.Zero && VerifyInterval > TimeSpan.Zero && StartDelay >= TimeSpan.Zero && RetryInterval > TimeSpan.Zero;
}
