namespace SegmentController.Capture.Evidence;

/// <summary>A copy of one captured frame kept as evidence.</summary>
/// <param name="TimestampTicks">UTC <see cref="DateTime"/> ticks.</param>
/// <param name="WireLength">The frame's length on the wire.</param>
/// <param name="Data">The captured bytes (possibly cut to the evidence snap length).</param>
internal sealed record EvidenceFrame(long TimestampTicks, int WireLength, byte[] Data);
