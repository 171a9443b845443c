namespace SegmentController.Core.Policy;

/// <summary>The site's identity.</summary>
public sealed record SiteInfo
{
    /// <summary>A short stable id (letters, digits, '-', '_').</summary>
    public required string Id { get; init; }

    /// <summary>A readable name.</summary>
    public required string Name { get; init; }
}
