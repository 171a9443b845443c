namespace SegmentController.Core.Policy;

/// <summary>The outcome of loading a policy: the policy, or every error found.</summary>
public sealed record PolicyLoadResult
{
    /// <summary>The validated policy; null when there are errors.</summary>
    public SitePolicy? Policy { get; init; }

    /// <summary>Every error, in file order; empty when <see cref="Policy"/> is set.</summary>
    public IReadOnlyList<PolicyError> Errors { get; init; } = [];

    /// <summary>
    /// True when the file could not be read at all (missing, no permission): a usage problem (exit 2)
    /// rather than an invalid policy (exit 1).
    /// </summary>
    public bool Unreadable { get; init; }

    /// <summary>True when a policy was produced.</summary>
    public bool IsValid => Policy is not null;
}
