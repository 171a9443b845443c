namespace SegmentController.Storage.Chain;

/// <summary>The time window an export was asked for (from its header): what a start or end at a checkpoint must cover.</summary>
internal sealed record ExportWindow(DateTimeOffset? From, DateTimeOffset? To);
