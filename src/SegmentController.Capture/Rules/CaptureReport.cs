using SegmentController.Core.Findings;

namespace SegmentController.Capture.Rules;

/// <summary>The outcome of analysing one capture.</summary>
internal sealed record CaptureReport(
    long Packets,
    long DecodeErrors,
    IReadOnlyList<Finding> Findings,
    IReadOnlyList<Violation> Violations,
    string? Warning);
