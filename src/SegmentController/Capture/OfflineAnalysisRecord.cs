namespace SegmentController.Capture;

/// <summary>What an offline analysis records about itself in the evidence store.</summary>
/// <param name="Path">The capture file analysed (full path).</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the file's bytes.</param>
/// <param name="Bytes">The file's length.</param>
/// <param name="Packets">Frames analysed.</param>
/// <param name="DecodeErrors">Frames the decoder refused.</param>
/// <param name="Warning">Why reading stopped early (a truncated file), or null.</param>
/// <param name="PolicyPath">The policy file the capture was judged against.</param>
/// <param name="PolicySha256">That policy's hash, as the policy loader computes it.</param>
/// <param name="Site">The policy's site id.</param>
/// <param name="Clients">Every client the policy names: a clean result is evidence for each of them.</param>
internal sealed record OfflineAnalysisRecord(
    string Path,
    string Sha256,
    long Bytes,
    long Packets,
    long DecodeErrors,
    string? Warning,
    string PolicyPath,
    string PolicySha256,
    string Site,
    IReadOnlyList<string> Clients);
