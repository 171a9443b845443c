namespace SegmentController.Capture.Rules;

/// <summary>A period in which capture could not be trusted: loss above threshold or silence.</summary>
internal sealed record DegradedEvent(string Interface, string Reason, long Received, long Dropped, double Loss, long FirstTicks, long LastTicks);
