namespace SegmentController.Capture.Classification;

/// <summary>One client segment as the classifier sees it.</summary>
/// <param name="ClientIndex">Index into <see cref="PolicyIndex.ClientIds"/>.</param>
/// <param name="Name">The segment's name.</param>
/// <param name="Macs">Allowed station MACs (48-bit values), or null when the policy lists none.</param>
internal sealed record SegmentInfo(int ClientIndex, string Name, HashSet<ulong>? Macs);
