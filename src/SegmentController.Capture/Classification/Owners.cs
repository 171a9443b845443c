namespace SegmentController.Capture.Classification;

/// <summary>Special owners in <see cref="PolicyIndex"/> tables; values ≥ 0 are segment indexes.</summary>
internal static class Owners
{
    /// <summary>Not named by the policy.</summary>
    public const int Unknown = -2;

    /// <summary>Shared infrastructure (management VLANs and subnets).</summary>
    public const int Infrastructure = -1;
}
