using SegmentController.Core.Findings;

namespace SegmentController.Core.Incidents;

/// <summary>
/// A security incident with what the clients' standards ask a notice to contain: nature, clients,
/// approximate number of records concerned, investigation notes, likely consequences, measures taken
/// and a timeline — and the 8-hour notification clock. Immutable; every change is a new snapshot
/// recorded in the evidence chain.
/// </summary>
public sealed record Incident
{
    /// <summary>Clients must be told within this time of detection.</summary>
    public static readonly TimeSpan NoticeWindow = TimeSpan.FromHours(8);

    /// <summary>Stable id, e.g. <c>INC-20260301-080000-1a2b</c>.</summary>
    public required string Id { get; init; }

    /// <summary>What happened, in one sentence.</summary>
    public required string Nature { get; init; }

    /// <summary>The clients concerned, sorted.</summary>
    public required IReadOnlyList<string> Clients { get; init; }

    /// <summary>Open or closed.</summary>
    public IncidentStatus Status { get; init; } = IncidentStatus.Open;

    /// <summary>Who or what opened it: <c>finding</c> or an operator's name.</summary>
    public required string OpenedBy { get; init; }

    /// <summary>When it was detected: the clock starts here.</summary>
    public required DateTimeOffset DetectedAt { get; init; }

    /// <summary>The notification deadline (detection + 8 hours).</summary>
    public DateTimeOffset NoticeDueAt => DetectedAt + NoticeWindow;

    /// <summary>Each client's notice clock, in the order the clients were concerned.</summary>
    public IReadOnlyList<ClientNotice> Notices { get; init; } = [];

    /// <summary>When every client concerned had been given notice (the last of them); null while one still waits.</summary>
    public DateTimeOffset? NoticeGivenAt =>
        Notices.Count > 0 && Notices.All(n => n.GivenAt is not null) ? Notices.Max(n => n.GivenAt) : null;

    /// <summary>Whether every client was given notice within its 8 hours (null while one still waits).</summary>
    public bool? NoticeOnTime => NoticeGivenAt is null ? null : Notices.All(n => n.OnTime == true);

    /// <summary>
    /// The clients still owed their notice (not given, whether the deadline passed or not), in the order the
    /// clients were concerned: owed whatever the incident's state, a closed incident included.
    /// </summary>
    public IReadOnlyList<ClientNotice> NoticesOwed => Notices.Where(n => n.GivenAt is null).ToArray();

    /// <summary>A client's notice clock, or null when the client is not concerned.</summary>
    public ClientNotice? NoticeFor(string client) => Notices.FirstOrDefault(n => string.Equals(n.Client, client, StringComparison.Ordinal));

    /// <summary>Approximate number of people's records concerned (access records for these clients in the window).</summary>
    public long? ApproximateRecordsConcerned { get; init; }

    /// <summary>The same count per client (what a client's own notice shows).</summary>
    public IReadOnlyDictionary<string, long> RecordsConcernedByClient { get; init; } = new Dictionary<string, long>(StringComparer.Ordinal);

    /// <summary>The window the count covers.</summary>
    public DateTimeOffset? WindowStart { get; init; }

    /// <summary>Investigation notes, oldest first.</summary>
    public IReadOnlyList<TimelineEntry> InvestigationNotes { get; init; } = [];

    /// <summary>Likely consequences, as assessed.</summary>
    public string LikelyConsequences { get; init; } = "";

    /// <summary>Measures taken (suspensions, ports shut, …), oldest first.</summary>
    public IReadOnlyList<TimelineEntry> MeasuresTaken { get; init; } = [];

    /// <summary>The findings grouped into this incident (at most <see cref="IncidentManager.MaxFindingsKept"/>, and one more for each client none of them names).</summary>
    public IReadOnlyList<Finding> Findings { get; init; } = [];

    /// <summary>Findings that joined the incident beyond those kept in <see cref="Findings"/>: each is on record as a finding of its own.</summary>
    public long FindingsOmitted { get; init; }

    /// <summary>Every attempt to notify.</summary>
    public IReadOnlyList<NotificationAttempt> Notifications { get; init; } = [];

    /// <summary>Everything that happened, oldest first (less the <see cref="TimelineOmitted"/> entries left out of the snapshot).</summary>
    public IReadOnlyList<TimelineEntry> Timeline { get; init; } = [];

    /// <summary>The timeline's first entries, always kept; entries left out of a snapshot are the oldest after them.</summary>
    public const int TimelineHead = 10;

    /// <summary>
    /// Timeline entries left out of this snapshot, to keep its record within the store's bounds: the oldest after the
    /// first <see cref="TimelineHead"/>, notification entries excepted. Each is in the chain, in the snapshot recorded
    /// when it was added.
    /// </summary>
    public long TimelineOmitted { get; init; }

    /// <summary>When it last changed (grouping window reference).</summary>
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>A new snapshot with an entry appended to the timeline.</summary>
    public Incident With(TimelineEntry entry) => this with { Timeline = [.. Timeline, entry], UpdatedAt = entry.At };
}
