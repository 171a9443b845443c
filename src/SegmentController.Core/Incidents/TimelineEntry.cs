namespace SegmentController.Core.Incidents;

/// <summary>One dated event in an incident: a finding joined, a note, a measure, a notification attempt.</summary>
/// <param name="At">When it happened.</param>
/// <param name="Kind">finding, note, measure, notification, opened, closed.</param>
/// <param name="Text">What happened, for people.</param>
public sealed record TimelineEntry(DateTimeOffset At, string Kind, string Text);
