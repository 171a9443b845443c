using System.Globalization;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Incidents;

/// <summary>
/// Opens incidents from findings (joining a finding to an open incident that shares a client and
/// changed within the grouping window) or on an operator's word; records every change in the chain as an
/// <c>incident-event</c> snapshot; starts the 8-hour clock at detection and sends the notice at once to
/// the clients' contacts, recording each attempt.
/// </summary>
/// <remarks>Concurrency: one gate serializes changes so each recorded snapshot follows the one before.</remarks>
public sealed class IncidentManager : IFindingConsumer, IDisposable
{
    private readonly IRecordAppender _store;
    private readonly IAccessRecordCounter _counter;
    private readonly IIncidentNotifier _notifier;
    private readonly Func<SitePolicy?> _policy;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, Incident> _incidents = new(StringComparer.Ordinal);
    private volatile Incident[] _snapshot = [];
    private int _sequence;

    public IncidentManager(IRecordAppender store, IAccessRecordCounter counter, IIncidentNotifier notifier, Func<SitePolicy?> policy, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(counter);
        ArgumentNullException.ThrowIfNull(notifier);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(time);
        (_store, _counter, _notifier, _policy, _time) = (store, counter, notifier, policy, time);
    }

    /// <summary>Findings for the same clients within this time of an incident's last change join it.</summary>
    public TimeSpan GroupingWindow { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>How far before detection access records are counted as concerned.</summary>
    public TimeSpan ExposureWindow { get; init; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Raised after each recorded change (metrics: <c>segctl_incidents_open{client}</c> and
    /// <c>segctl_incident_notice_due_timestamp_seconds{client}</c> are recomputed from <see cref="Incidents"/>).
    /// </summary>
    public event EventHandler<Incident>? IncidentChanged;

    /// <summary>Snapshot of every incident known to this process.</summary>
    public IReadOnlyList<Incident> Incidents => _snapshot;

    /// <summary>Groups findings into incidents and sends the notice of each new one before returning.</summary>
    public async ValueTask OnFindingsAsync(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
    {
        foreach (var incident in await RecordFindingsAsync(findings, cancellationToken).ConfigureAwait(false))
        {
            await NotifyAsync(incident.Id, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Groups findings that warrant an incident (per the policy's rules; critical without a policy) and
    /// returns the incidents opened, whose notice the caller sends (<see cref="NotifyAsync"/>): a slow
    /// webhook then never holds up the recording of later findings.
    /// </summary>
    public async Task<IReadOnlyList<Incident>> RecordFindingsAsync(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(findings);
        var rules = _policy()?.Rules ?? RuleSet.Default;
        // An update repeats a finding already grouped (fresh counts for the record): one incident per flow.
        var relevant = findings.Where(f => !f.Update && rules.ActionFor(f.Rule, f.Severity) >= FindingAction.Incident && f.Clients.Count > 0).ToArray();
        if (relevant.Length == 0)
        {
            return [];
        }

        var opened = new List<Incident>();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            foreach (var finding in relevant)
            {
                var entry = new TimelineEntry(finding.ObservedAt, "finding", $"{finding.Rule}: {finding.Summary}");
                var existing = _incidents.Values.FirstOrDefault(i => i.Status == IncidentStatus.Open
                    && i.UpdatedAt >= now - GroupingWindow
                    && i.Clients.Intersect(finding.Clients, StringComparer.Ordinal).Any());
                Incident incident;
                if (existing is not null)
                {
                    incident = existing.With(entry with { At = now }) with
                    {
                        Findings = [.. existing.Findings, finding],
                        Clients = existing.Clients.Union(finding.Clients, StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray(),
                    };
                    await RecordAsync(incident, "finding-joined", cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    incident = NewIncident($"{finding.Rule}: {finding.Summary}", finding.Clients, "finding", now) with { Findings = [finding] };
                    incident = incident.With(new TimelineEntry(now, "opened", $"opened from finding {finding.Rule}")).With(entry with { At = now });
                    incident = await WithExposureAsync(incident, cancellationToken).ConfigureAwait(false);
                    await RecordAsync(incident, "opened", cancellationToken).ConfigureAwait(false);
                    opened.Add(incident);
                }

                Keep(incident);
            }
        }
        finally
        {
            _gate.Release();
        }

        return opened;
    }

    /// <summary>
    /// Takes back the incidents recorded before a restart (the last snapshot of each, in chain order) so
    /// open incidents, their clocks and their notices survive it. Call before any other change.
    /// </summary>
    public void Restore(IEnumerable<Incident> recorded)
    {
        ArgumentNullException.ThrowIfNull(recorded);
        _gate.Wait();
        try
        {
            foreach (var incident in recorded)
            {
                _incidents[incident.Id] = incident;
                var suffix = incident.Id.AsSpan(incident.Id.LastIndexOf('-') + 1);
                if (int.TryParse(suffix, NumberStyles.None, CultureInfo.InvariantCulture, out var sequence) && sequence > _sequence)
                {
                    _sequence = sequence;
                }
            }

            _snapshot = _incidents.Values.OrderBy(i => i.DetectedAt).ToArray();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Opens an incident on an operator's word and notifies at once.</summary>
    public async Task<Incident> OpenAsync(string operatorName, string nature, IReadOnlyList<string> clients, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(operatorName);
        ArgumentException.ThrowIfNullOrWhiteSpace(nature);
        ArgumentNullException.ThrowIfNull(clients);
        Incident incident;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            incident = NewIncident(nature, clients, operatorName, now).With(new TimelineEntry(now, "opened", $"opened by {operatorName}"));
            incident = await WithExposureAsync(incident, cancellationToken).ConfigureAwait(false);
            await RecordAsync(incident, "opened", cancellationToken).ConfigureAwait(false);
            Keep(incident);
        }
        finally
        {
            _gate.Release();
        }

        return await NotifyAsync(incident.Id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Adds an investigation note.</summary>
    public Task<Incident> AddNoteAsync(string id, string author, string text, CancellationToken cancellationToken) =>
        ChangeAsync(id, "note", i =>
        {
            var entry = new TimelineEntry(_time.GetUtcNow(), "note", $"{author}: {text}");
            return i.With(entry) with { InvestigationNotes = [.. i.InvestigationNotes, entry] };
        }, cancellationToken);

    /// <summary>Records a measure taken (a suspension, a port shut); the suspension engine calls this.</summary>
    public Task<Incident> AddMeasureAsync(string id, string text, CancellationToken cancellationToken) =>
        ChangeAsync(id, "measure", i =>
        {
            var entry = new TimelineEntry(_time.GetUtcNow(), "measure", text);
            return i.With(entry) with { MeasuresTaken = [.. i.MeasuresTaken, entry] };
        }, cancellationToken);

    /// <summary>Records a measure on every open incident concerning the client.</summary>
    public async Task AddMeasureForClientAsync(string client, string text, CancellationToken cancellationToken)
    {
        foreach (var incident in Incidents.Where(i => i.Status == IncidentStatus.Open && i.Clients.Contains(client, StringComparer.Ordinal)))
        {
            await AddMeasureAsync(incident.Id, text, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Sets the assessed likely consequences.</summary>
    public Task<Incident> SetConsequencesAsync(string id, string text, CancellationToken cancellationToken) =>
        ChangeAsync(id, "consequences", i => i.With(new TimelineEntry(_time.GetUtcNow(), "consequences", text)) with { LikelyConsequences = text }, cancellationToken);

    /// <summary>Closes an incident.</summary>
    public Task<Incident> CloseAsync(string id, string operatorName, string reason, CancellationToken cancellationToken) =>
        ChangeAsync(id, "closed", i => i.With(new TimelineEntry(_time.GetUtcNow(), "closed", $"closed by {operatorName}: {reason}")) with { Status = IncidentStatus.Closed }, cancellationToken);

    /// <summary>Sends the notice to every contact of the incident's clients; each attempt is recorded.</summary>
    public async Task<Incident> NotifyAsync(string id, CancellationToken cancellationToken)
    {
        var incident = Get(id);
        var policy = _policy();
        var contacts = incident.Clients
            .Select(c => policy?.FindClient(c))
            .Where(c => c is not null)
            .SelectMany(c => c!.Notify)
            .Where(c => c.Webhook is not null)
            .DistinctBy(c => c.Webhook!.Url)
            .ToArray();
        var attempts = new List<NotificationAttempt>();
        foreach (var contact in contacts)
        {
            attempts.AddRange(await _notifier.NotifyAsync(incident, contact, cancellationToken).ConfigureAwait(false));
        }

        return await ChangeAsync(id, "notification", i =>
        {
            var delivered = attempts.Where(a => a.Delivered).Select(a => (DateTimeOffset?)a.At).Min();
            var next = i with
            {
                Notifications = [.. i.Notifications, .. attempts],
                NoticeGivenAt = i.NoticeGivenAt ?? delivered,
            };
            foreach (var a in attempts)
            {
                next = next.With(new TimelineEntry(a.At, "notification", $"{a.Contact} <{a.Url}> attempt {a.Attempt}: {(a.Delivered ? "delivered" : "failed")} ({a.Outcome})"));
            }

            return contacts.Length == 0 ? next.With(new TimelineEntry(_time.GetUtcNow(), "notification", "no contact with a webhook in the policy: notify by other means")) : next;
        }, cancellationToken).ConfigureAwait(false);
    }

    private Incident Get(string id) =>
        _snapshot.FirstOrDefault(i => string.Equals(i.Id, id, StringComparison.Ordinal)) ?? throw new KeyNotFoundException($"no incident {id}");

    private async Task<Incident> ChangeAsync(string id, string kind, Func<Incident, Incident> change, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var incident = _incidents.TryGetValue(id, out var current) ? change(current) : throw new KeyNotFoundException($"no incident {id}");
            await RecordAsync(incident, kind, cancellationToken).ConfigureAwait(false);
            Keep(incident);
            return incident;
        }
        finally
        {
            _gate.Release();
        }
    }

    private Incident NewIncident(string nature, IReadOnlyList<string> clients, string openedBy, DateTimeOffset now)
    {
        var sequence = Interlocked.Increment(ref _sequence);
        return new Incident
        {
            Id = string.Create(CultureInfo.InvariantCulture, $"INC-{now.UtcDateTime:yyyyMMdd-HHmmss}-{sequence:D3}"),
            Nature = nature,
            Clients = clients.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray(),
            OpenedBy = openedBy,
            DetectedAt = now,
            UpdatedAt = now,
        };
    }

    private async Task<Incident> WithExposureAsync(Incident incident, CancellationToken cancellationToken)
    {
        var since = incident.DetectedAt - ExposureWindow;
        var count = await _counter.CountAsync(incident.Clients, since, incident.DetectedAt, cancellationToken).ConfigureAwait(false);
        return incident with { ApproximateRecordsConcerned = count, WindowStart = since };
    }

    public void Dispose() => _gate.Dispose();

    private async Task RecordAsync(Incident incident, string kind, CancellationToken cancellationToken) =>
        await _store.AppendAsync(RecordTypes.IncidentEvent, ClientKey.Of(incident.Clients), IncidentJson.ToUtf8(incident, kind), cancellationToken).ConfigureAwait(false);

    /// <summary>Keeps a recorded snapshot (called under the gate; readers use the lock-free copy).</summary>
    private void Keep(Incident incident)
    {
        _incidents[incident.Id] = incident;
        _snapshot = _incidents.Values.OrderBy(i => i.DetectedAt).ToArray();
        IncidentChanged?.Invoke(this, incident);
    }
}
