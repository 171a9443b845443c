using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.ExceptionServices;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Incidents;

/// <summary>
/// Opens incidents from findings (joining a finding to an open incident that shares a client and
/// changed within the grouping window) or on an operator's word; records every change in the chain as an
/// <c>incident-event</c> snapshot (for an incident of several clients, or of one whose text names another,
/// with each client's own view beside it as <c>incident-view</c>); starts each client's 8-hour clock when it is first concerned (the
/// finding's observation, or the operator's word) and notifies that client's contacts with its own view
/// of the incident (<see cref="IncidentView"/>), retrying with backoff until a contact has it or the
/// client's deadline passes, recording each attempt.
/// </summary>
/// <remarks>
/// Concurrency: one gate serializes changes so each recorded snapshot follows the one before; notices are
/// sent outside it, one delivery loop per (incident, client, contact) at a time.
/// </remarks>
public sealed class IncidentManager : IFindingConsumer, IDisposable
{
    private readonly IRecordAppender _store;
    private readonly IAccessRecordCounter _counter;
    private readonly IIncidentNotifier _notifier;
    private readonly Func<SitePolicy?> _policy;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, Incident> _incidents = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Incident, string Client, Uri Url), byte> _delivering = new();
    private readonly List<Finding> _unrecorded = [];
    private volatile Incident[] _snapshot = [];
    private volatile int _unrecordedCount;
    private long _unrecordedDropped;
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

    /// <summary>Wait before a notice is tried again; doubles after each failure up to <see cref="MaxRetryBackoff"/>.</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Longest wait between two tries of a notice.</summary>
    public TimeSpan MaxRetryBackoff { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Raised after each recorded change (metrics: <c>segctl_incidents_open{client}</c> and
    /// <c>segctl_incident_notice_due_timestamp_seconds{client}</c> are recomputed from <see cref="Incidents"/>).
    /// </summary>
    public event EventHandler<Incident>? IncidentChanged;

    /// <summary>
    /// The most one record of an incident (its JSON, and each client's view of it) may take: below the store's limit for
    /// one record (1 MiB by default). See <see cref="Fit"/>.
    /// </summary>
    public int MaxRecordBytes { get; init; } = 768 * 1024;

    /// <summary>
    /// Findings an incident keeps: beyond them a finding joins it only where it names a client none of them names, and is
    /// otherwise counted (<see cref="Incident.FindingsOmitted"/>); each is on record as a finding of its own.
    /// </summary>
    public int MaxFindingsKept { get; init; } = 100;

    /// <summary>
    /// Findings kept waiting for their incident while the store refuses its record; beyond them the oldest are given up
    /// (counted in <see cref="UnrecordedFindingsDropped"/>; each is on record as a finding of its own, where the store took it).
    /// </summary>
    public int MaxUnrecordedFindings { get; init; } = 4096;

    /// <summary>Snapshot of every incident known to this process.</summary>
    public IReadOnlyList<Incident> Incidents => _snapshot;

    /// <summary>
    /// Findings that warrant an incident whose record the store refused (a full disk): they are grouped, in order,
    /// with the next findings or at the next <see cref="RecordFindingsAsync"/>, their clocks from their observation.
    /// </summary>
    public int UnrecordedFindings => _unrecordedCount;

    /// <summary>Findings given up while waiting for their incident's record (more than <see cref="MaxUnrecordedFindings"/> waited).</summary>
    public long UnrecordedFindingsDropped => Interlocked.Read(ref _unrecordedDropped);

    /// <summary>Groups findings into incidents and gives every notice they call for before returning.</summary>
    /// <exception cref="StoreUnavailableException">Some incidents could not be recorded: their findings wait (<see cref="UnrecordedFindings"/>).</exception>
    public async ValueTask OnFindingsAsync(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
    {
        foreach (var incident in await RecordFindingsAsync(findings, cancellationToken).ConfigureAwait(false))
        {
            await NotifyAsync(incident.Id, cancellationToken).ConfigureAwait(false);
        }

        if (UnrecordedFindings is > 0 and var waiting)
        {
            throw new StoreUnavailableException(string.Create(CultureInfo.InvariantCulture, $"the store refused incident records: {waiting} finding(s) wait for their incidents"));
        }
    }

    /// <summary>
    /// Groups findings that warrant an incident (per the policy's rules; critical without a policy) and
    /// returns the incidents with a notice to give — opened, or joined by a finding that concerns a client
    /// they did not concern yet — which the caller sends (<see cref="NotifyAsync"/>): a slow webhook then
    /// never holds up the recording of later findings. Findings whose incident the store refused to record
    /// (<see cref="UnrecordedFindings"/>) are taken first, in order; those the store refuses now wait with them,
    /// and what was recorded before is returned all the same, so that its notice is given.
    /// </summary>
    public async Task<IReadOnlyList<Incident>> RecordFindingsAsync(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(findings);
        var rules = _policy()?.Rules ?? RuleSet.Default;
        // An update repeats a finding already grouped (fresh counts for the record): one incident per flow.
        var relevant = findings.Where(f => !f.Update && rules.ActionFor(f.Rule, f.Severity) >= FindingAction.Incident && f.Clients.Count > 0).ToArray();
        if (relevant.Length == 0 && _unrecordedCount == 0)
        {
            return [];
        }

        var toNotify = new Dictionary<string, Incident>(StringComparer.Ordinal);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            Finding[] pending = [.. _unrecorded, .. relevant];
            _unrecorded.Clear();
            for (var next = 0; next < pending.Length; next++)
            {
                var finding = pending[next];
                try
                {
                    await RecordFindingAsync(finding, now, toNotify, cancellationToken).ConfigureAwait(false);
                }
                catch (StoreUnavailableException)
                {
                    // Not recorded means no incident yet: the finding and those after it wait, in order, for the next
                    // attempt — an incident (and its client's notice) is not lost to a store that is full for a while.
                    Wait(pending.AsSpan(next));
                    break;
                }
                catch (OperationCanceledException)
                {
                    Wait(pending.AsSpan(next));
                    throw;
                }
                catch
                {
                    // A record the store can never take: the findings after it wait all the same.
                    Wait(pending.AsSpan(next + 1));
                    throw;
                }
            }
        }
        finally
        {
            _unrecordedCount = _unrecorded.Count;
            _gate.Release();
        }

        return toNotify.Values.ToArray();
    }

    /// <summary>Keeps findings waiting for their incident's record, the latest <see cref="MaxUnrecordedFindings"/> (the caller holds the gate).</summary>
    private void Wait(ReadOnlySpan<Finding> findings)
    {
        _unrecorded.AddRange(findings);
        var excess = _unrecorded.Count - MaxUnrecordedFindings;
        if (excess > 0)
        {
            _unrecorded.RemoveRange(0, excess);
            Interlocked.Add(ref _unrecordedDropped, excess);
        }
    }

    /// <summary>Groups one finding into an incident and records it (the caller holds the gate).</summary>
    private async Task RecordFindingAsync(Finding finding, DateTimeOffset now, Dictionary<string, Incident> toNotify, CancellationToken cancellationToken)
    {
        // The clock starts when the finding was observed (never later than now).
        var observed = finding.ObservedAt < now ? finding.ObservedAt : now;
        var entry = new TimelineEntry(now, "finding", $"{finding.Rule}: {finding.Summary}");
        var existing = _incidents.Values.FirstOrDefault(i => i.Status == IncidentStatus.Open
            && i.UpdatedAt >= now - GroupingWindow
            && i.Clients.Intersect(finding.Clients, StringComparer.Ordinal).Any());
        Incident incident;
        if (existing is not null)
        {
            var added = finding.Clients.Except(existing.Clients, StringComparer.Ordinal).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

            // A finding observed before a client's clock started (capture reports a flow after it saw it; an
            // operator opened the incident in between) starts that client's clock at the observation.
            var earlier = existing.Notices
                .Where(n => n.GivenAt is null && observed < n.DetectedAt && finding.Clients.Contains(n.Client, StringComparer.Ordinal))
                .Select(n => n.Client)
                .ToArray();
            var kept = existing.Findings.Count < MaxFindingsKept
                || finding.Concerned.Any(c => !existing.Findings.Any(f => f.Concerned.Contains(c, StringComparer.Ordinal)));
            incident = existing.With(entry) with
            {
                Findings = kept ? [.. existing.Findings, finding] : existing.Findings,
                FindingsOmitted = existing.FindingsOmitted + (kept ? 0 : 1),
                Clients = existing.Clients.Union(added, StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray(),
            };
            if (added.Length > 0)
            {
                foreach (var client in added)
                {
                    incident = incident.With(new TimelineEntry(now, "clients", $"{client}: concerned from finding {finding.Rule} observed {IncidentJson.Iso(observed)}; notice due by {IncidentJson.Iso(observed + Incident.NoticeWindow)}"));
                }

                incident = incident with { Notices = [.. incident.Notices, .. added.Select(c => new ClientNotice(c, observed, null))] };
            }

            foreach (var client in earlier)
            {
                incident = incident.With(new TimelineEntry(now, "clients", $"{client}: clock from finding {finding.Rule} observed {IncidentJson.Iso(observed)}, before it had started; notice due by {IncidentJson.Iso(observed + Incident.NoticeWindow)}"));
            }

            if (earlier.Length > 0)
            {
                incident = incident with { Notices = incident.Notices.Select(n => earlier.Contains(n.Client, StringComparer.Ordinal) ? n with { DetectedAt = observed } : n).ToArray() };
            }

            if (observed < incident.DetectedAt)
            {
                incident = incident with { DetectedAt = observed };
            }

            if (added.Length > 0 || earlier.Length > 0)
            {
                incident = await WithExposureAsync(incident, [.. added, .. earlier], cancellationToken).ConfigureAwait(false);
                toNotify[incident.Id] = incident;
            }

            var kind = added.Length > 0 ? "clients-added" : "finding-joined";
            incident = Fit(incident, kind, byOperator: false);
            await RecordAsync(incident, kind, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            incident = NewIncident($"{finding.Rule}: {finding.Summary}", finding.Clients, "finding", observed, now) with { Findings = [finding] };
            incident = incident.With(new TimelineEntry(now, "opened", $"opened from finding {finding.Rule} observed {IncidentJson.Iso(observed)}")).With(entry);
            incident = await WithExposureAsync(incident, incident.Clients, cancellationToken).ConfigureAwait(false);
            await RecordAsync(incident, "opened", cancellationToken).ConfigureAwait(false);
            toNotify[incident.Id] = incident;
        }

        Keep(incident);
    }

    /// <summary>
    /// Takes back the incidents recorded before a restart (the last snapshot of each, in chain order) so
    /// open incidents, their clocks and their notices survive it. Call before any other change; then
    /// <see cref="PendingNotices"/> says which notices to resume.
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

    /// <summary>Incidents with a client whose notice is neither given nor past its deadline (to resume after a restart).</summary>
    public IReadOnlyList<Incident> PendingNotices()
    {
        var now = _time.GetUtcNow();
        return Incidents.Where(i => i.Notices.Any(n => n.GivenAt is null && n.DueAt > now)).ToArray();
    }

    /// <summary>
    /// Puts on record, after a restart, each client's notice whose deadline passed while the controller was
    /// not running and that no record yet says passed: the incident's timeline then says so, as it does for a
    /// deadline that passes while notices are being retried. Returns how many were recorded.
    /// </summary>
    public async Task<int> RecordLapsedNoticesAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var recorded = 0;
        foreach (var incident in Incidents)
        {
            foreach (var notice in incident.Notices.Where(n => n.GivenAt is null && n.DueAt <= now))
            {
                var passed = $"{notice.Client}: deadline {IncidentJson.Iso(notice.DueAt)} passed";
                if (incident.Timeline.Any(e => e.Kind == "notification" && e.Text.StartsWith(passed, StringComparison.Ordinal)))
                {
                    continue;
                }

                await ChangeAsync(incident.Id, "notification", i => i.With(new TimelineEntry(now, "notification",
                    $"{passed} while the controller was not running, without notice reaching the client: notify by other means")), cancellationToken).ConfigureAwait(false);
                recorded++;
            }
        }

        return recorded;
    }

    /// <summary>Opens an incident on an operator's word (the clock starts now) and notifies at once.</summary>
    /// <exception cref="ArgumentException">No client, or a client the policy does not have.</exception>
    public async Task<Incident> OpenAsync(string operatorName, string nature, IReadOnlyList<string> clients, CancellationToken cancellationToken)
    {
        var incident = await RecordOpenedAsync(operatorName, nature, clients, null, cancellationToken).ConfigureAwait(false);
        return await NotifyAsync(incident.Id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Opens an incident on an operator's word and returns it once recorded, without waiting for its notice
    /// (the caller sends it: <see cref="NotifyAsync"/>).
    /// </summary>
    /// <exception cref="ArgumentException">No client, or a client the policy does not have.</exception>
    public async Task<Incident> RecordOpenedAsync(string operatorName, string nature, IReadOnlyList<string> clients, string? reason, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(operatorName);
        ArgumentException.ThrowIfNullOrWhiteSpace(nature);
        ArgumentNullException.ThrowIfNull(clients);
        if (clients.Count == 0)
        {
            throw new ArgumentException("an incident concerns at least one client", nameof(clients));
        }

        if (_policy() is { } policy && clients.FirstOrDefault(c => policy.FindClient(c) is null) is { } unknown)
        {
            throw new ArgumentException($"'{unknown}' is not a client of this site", nameof(clients));
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            var incident = NewIncident(nature, clients, operatorName, now, now)
                .With(new TimelineEntry(now, "opened", reason is null ? $"opened by {operatorName}" : $"opened by {operatorName}: {reason}"));
            incident = await WithExposureAsync(incident, incident.Clients, cancellationToken).ConfigureAwait(false);
            await RecordAsync(incident, "opened", cancellationToken).ConfigureAwait(false);
            Keep(incident);
            return incident;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Adds an investigation note.</summary>
    /// <exception cref="IncidentFullException">The incident's record has no room left for it.</exception>
    public Task<Incident> AddNoteAsync(string id, string author, string text, CancellationToken cancellationToken) =>
        ChangeAsync(id, "note", byOperator: true, i =>
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

    /// <summary>
    /// Records a measure on every open incident concerning the client: each of them is tried, whatever became of the
    /// others; the first failure is thrown once all have been.
    /// </summary>
    public async Task AddMeasureForClientAsync(string client, string text, CancellationToken cancellationToken)
    {
        ExceptionDispatchInfo? failed = null;
        foreach (var incident in Incidents.Where(i => i.Status == IncidentStatus.Open && i.Clients.Contains(client, StringComparer.Ordinal)))
        {
            try
            {
                await AddMeasureAsync(incident.Id, text, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failed ??= ExceptionDispatchInfo.Capture(e);
            }
        }

        failed?.Throw();
    }

    /// <summary>Sets the assessed likely consequences (who assessed them is on the timeline).</summary>
    public Task<Incident> SetConsequencesAsync(string id, string author, string text, CancellationToken cancellationToken) =>
        ChangeAsync(id, "consequences", i => i.With(new TimelineEntry(_time.GetUtcNow(), "consequences", $"{author}: {text}")) with { LikelyConsequences = text }, cancellationToken);

    /// <summary>Closes an incident; notices still owed keep being sent.</summary>
    /// <exception cref="InvalidOperationException">It is closed already.</exception>
    public Task<Incident> CloseAsync(string id, string operatorName, string reason, CancellationToken cancellationToken) =>
        ChangeAsync(id, "closed", i => i.Status == IncidentStatus.Closed
            ? throw new InvalidOperationException($"incident {id} is closed already")
            : i.With(new TimelineEntry(_time.GetUtcNow(), "closed", $"closed by {operatorName}: {reason}")) with { Status = IncidentStatus.Closed }, cancellationToken);

    /// <summary>
    /// Records that a client was given notice by other means (telephone, in person) — when no webhook
    /// reached it — stopping its clock and any webhook still being retried for it.
    /// </summary>
    /// <exception cref="ArgumentException">The client is not concerned by the incident.</exception>
    /// <exception cref="InvalidOperationException">The client has had notice already.</exception>
    public Task<Incident> RecordNoticeGivenAsync(string id, string client, string operatorName, string how, CancellationToken cancellationToken) =>
        ChangeAsync(id, "notification", i =>
        {
            var notice = i.NoticeFor(client) ?? throw new ArgumentException($"incident {id} does not concern {client}", nameof(client));
            if (notice.GivenAt is { } given)
            {
                throw new InvalidOperationException($"{client} had notice of incident {id} already ({IncidentJson.Iso(given)})");
            }

            var now = _time.GetUtcNow();
            return i.With(new TimelineEntry(now, "notification", $"{client}: notice given by other means, recorded by {operatorName}: {how}")) with
            {
                Notices = i.Notices.Select(n => n.Client == client ? n with { GivenAt = now } : n).ToArray(),
            };
        }, cancellationToken);

    /// <summary>
    /// Gives the notice of every client of the incident still waiting for one: each of the client's
    /// contacts with a webhook gets the client's own view, tried again with backoff (doubling up to
    /// <see cref="MaxRetryBackoff"/>) until the client has had notice (from any of its contacts, or by other
    /// means on record) or its deadline passes; each attempt is recorded as it happens. Deliveries already running are not started twice. Returns the incident as
    /// it stands afterwards.
    /// </summary>
    public async Task<Incident> NotifyAsync(string id, CancellationToken cancellationToken)
    {
        var incident = Get(id);
        var policy = _policy();
        var deliveries = new List<Task>();
        foreach (var notice in incident.Notices.Where(n => n.GivenAt is null))
        {
            var contacts = (policy?.FindClient(notice.Client)?.Notify ?? []).Where(c => c.Webhook is not null).DistinctBy(c => c.Webhook!.Url).ToArray();
            if (contacts.Length == 0)
            {
                var text = $"{notice.Client}: no contact with a webhook in the policy: notify by other means by {IncidentJson.Iso(notice.DueAt)}";
                if (!incident.Timeline.Any(e => e.Kind == "notification" && e.Text == text))
                {
                    await ChangeAsync(id, "notification", i => i.With(new TimelineEntry(_time.GetUtcNow(), "notification", text)), cancellationToken).ConfigureAwait(false);
                }

                continue;
            }

            foreach (var contact in contacts)
            {
                if (_delivering.TryAdd((id, notice.Client, contact.Webhook!.Url), 0))
                {
                    deliveries.Add(DeliverAsync(id, notice.Client, contact, cancellationToken));
                }
            }
        }

        await Task.WhenAll(deliveries).ConfigureAwait(false);
        return Get(id);
    }

    private async Task DeliverAsync(string id, string client, Contact contact, CancellationToken cancellationToken)
    {
        var url = contact.Webhook!.Url;
        try
        {
            var backoff = RetryBackoff;

            // An attempt the store refused to record (a full disk): recorded before anything else is tried,
            // and not made again — a notice the client has is not sent twice because the record failed.
            NotificationAttempt? unrecorded = null;
            while (true)
            {
                if (unrecorded is null)
                {
                    var incident = Get(id);
                    // Once the client has had notice — through any of its contacts, or by other means on record — it is given.
                    var notice = incident.NoticeFor(client);
                    if (notice is null || notice.GivenAt is not null)
                    {
                        return;
                    }

                    var now = _time.GetUtcNow();
                    if (now >= notice.DueAt)
                    {
                        if (await TryChangeAsync(id, "notification", i => i.With(new TimelineEntry(now, "notification",
                            $"{client}: deadline {IncidentJson.Iso(notice.DueAt)} passed without the notice reaching {contact.Name} <{url}>: notify by other means")), cancellationToken).ConfigureAwait(false))
                        {
                            return;
                        }
                    }
                    else
                    {
                        var attempt = incident.Notifications.Count(n => n.Client == client && n.Url == url) + 1;
                        unrecorded = await _notifier.SendAsync(IncidentView.For(incident, client, _policy()), client, contact, attempt, cancellationToken).ConfigureAwait(false);
                    }
                }

                if (unrecorded is { } made && await TryChangeAsync(id, "notification", i =>
                    {
                        var next = i with { Notifications = [.. i.Notifications, made] };
                        if (made.Delivered)
                        {
                            next = next with { Notices = i.Notices.Select(n => n.Client == client && n.GivenAt is null ? n with { GivenAt = made.At } : n).ToArray() };
                        }

                        return next.With(new TimelineEntry(made.At, "notification", $"{client}: {made.Contact} <{made.Url}> attempt {made.Attempt}: {(made.Delivered ? "delivered" : "failed")} ({made.Outcome})"));
                    }, cancellationToken).ConfigureAwait(false))
                {
                    unrecorded = null;
                    if (made.Delivered)
                    {
                        return;
                    }
                }

                var left = (Get(id).NoticeFor(client)?.DueAt ?? _time.GetUtcNow()) - _time.GetUtcNow();
                await Task.Delay(unrecorded is null && left > TimeSpan.Zero && left < backoff ? left : backoff, _time, cancellationToken).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxRetryBackoff.Ticks));
            }
        }
        finally
        {
            _delivering.TryRemove((id, client, url), out _);
        }
    }

    /// <summary>
    /// A change for the delivery loop: false when the store refused to record it (the loop waits and tries
    /// again — a store that is full for a while must not end the notice's retries until the next start).
    /// </summary>
    private async Task<bool> TryChangeAsync(string id, string kind, Func<Incident, Incident> change, CancellationToken cancellationToken)
    {
        try
        {
            await ChangeAsync(id, kind, change, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (StoreUnavailableException)
        {
            return false;
        }
    }

    private Incident Get(string id) =>
        _snapshot.FirstOrDefault(i => string.Equals(i.Id, id, StringComparison.Ordinal)) ?? throw new KeyNotFoundException($"no incident {id}");

    private Task<Incident> ChangeAsync(string id, string kind, Func<Incident, Incident> change, CancellationToken cancellationToken) =>
        ChangeAsync(id, kind, byOperator: false, change, cancellationToken);

    private async Task<Incident> ChangeAsync(string id, string kind, bool byOperator, Func<Incident, Incident> change, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var incident = _incidents.TryGetValue(id, out var current) ? Fit(change(current), kind, byOperator) : throw new KeyNotFoundException($"no incident {id}");
            await RecordAsync(incident, kind, cancellationToken).ConfigureAwait(false);
            Keep(incident);
            return incident;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// <paramref name="incident"/> as it can be recorded. When its record would take more than <see cref="MaxRecordBytes"/>,
    /// the oldest timeline entries after the first <see cref="Incident.TimelineHead"/> are left out of the snapshot (each is
    /// in the chain, in the snapshot recorded when it was added) until it takes seven eighths of that, and counted
    /// (<see cref="Incident.TimelineOmitted"/>). Notification entries stay: they say which notices were given or are owed.
    /// An operator's note is refused instead when what could not be left out would then take more than half of it: what
    /// must always be recorded (findings, measures, notices, the consequences, the close) keeps its room.
    /// </summary>
    private Incident Fit(Incident incident, string kind, bool byOperator)
    {
        var size = IncidentJson.ToUtf8(incident, kind).Length;
        if (size <= MaxRecordBytes / 2)
        {
            return incident;
        }

        var head = Math.Min(Incident.TimelineHead, incident.Timeline.Count);
        var entryBytes = incident.Timeline.Select((e, i) => i < head || e.Kind == "notification" ? 0 : IncidentJson.EntryBytes(e)).ToArray();
        var fixedBytes = size - entryBytes.Sum();
        if (byOperator && fixedBytes > MaxRecordBytes / 2)
        {
            throw new IncidentFullException(string.Create(CultureInfo.InvariantCulture,
                $"incident {incident.Id} has no room for this {kind}: its record would take {fixedBytes} bytes besides the timeline entries a snapshot may leave out, over the {MaxRecordBytes / 2} an operator's words may fill; open a new incident for what follows and name this one in it"));
        }

        if (size <= MaxRecordBytes)
        {
            return incident;
        }

        var excess = size - (MaxRecordBytes / 8 * 7);
        var leftOut = new bool[entryBytes.Length];
        var omitted = 0;
        for (var i = head; i < entryBytes.Length && excess > 0; i++)
        {
            if (entryBytes[i] > 0)
            {
                leftOut[i] = true;
                excess -= entryBytes[i];
                omitted++;
            }
        }

        return incident with
        {
            Timeline = incident.Timeline.Where((_, i) => !leftOut[i]).ToArray(),
            TimelineOmitted = incident.TimelineOmitted + omitted,
        };
    }

    private Incident NewIncident(string nature, IReadOnlyList<string> clients, string openedBy, DateTimeOffset detected, DateTimeOffset now)
    {
        var sequence = Interlocked.Increment(ref _sequence);
        var ids = clients.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        return new Incident
        {
            Id = string.Create(CultureInfo.InvariantCulture, $"INC-{now.UtcDateTime:yyyyMMdd-HHmmss}-{sequence:D3}"),
            Nature = nature,
            Clients = ids,
            OpenedBy = openedBy,
            DetectedAt = detected,
            Notices = ids.Select(c => new ClientNotice(c, detected, null)).ToArray(),
            UpdatedAt = now,
        };
    }

    /// <summary>
    /// Counts, for each of <paramref name="clients"/>, the access records from <see cref="ExposureWindow"/>
    /// before its detection until now (what happened since detection is concerned too).
    /// </summary>
    private async Task<Incident> WithExposureAsync(Incident incident, IReadOnlyList<string> clients, CancellationToken cancellationToken)
    {
        var counts = new Dictionary<string, long>(incident.RecordsConcernedByClient, StringComparer.Ordinal);
        var now = _time.GetUtcNow();
        foreach (var client in clients)
        {
            var detected = incident.NoticeFor(client)?.DetectedAt ?? incident.DetectedAt;
            counts[client] = await _counter.CountAsync([client], detected - ExposureWindow, detected > now ? detected : now, cancellationToken).ConfigureAwait(false);
        }

        return incident with
        {
            RecordsConcernedByClient = counts,
            ApproximateRecordsConcerned = counts.Values.Sum(),
            WindowStart = incident.DetectedAt - ExposureWindow,
        };
    }

    public void Dispose() => _gate.Dispose();

    /// <summary>
    /// Records the incident as it now stands; one that concerns several clients (or whose findings name
    /// another client, the target of a cross-client request), or one of a client alone whose text names
    /// another client (what an operator wrote on it: its view replaces something), also as each of its
    /// clients' own view, under its key alone: an export for one client withholds the shared record, and
    /// shows this. A target, or a client the text names, gets no view: the incident is not its own (a
    /// target's export shows the attempt by the finding's view).
    /// </summary>
    private async Task RecordAsync(Incident incident, string kind, CancellationToken cancellationToken)
    {
        // A finding may name a client that is not the incident's (the target of a cross-client request):
        // the full record is kept under its key too, so the incident's clients' exports withhold it.
        var concerned = incident.Clients.Concat(incident.Findings.SelectMany(f => f.Targets)).Distinct(StringComparer.Ordinal).ToArray();
        var policy = _policy();
        if (concerned.Length == 1)
        {
            // An operator's words on an incident of one client ("traffic from beta reached alpha") are kept as
            // written — the controller reads them back at its next start — under the key of every client they
            // name, so that the one client's export shows its view of them instead. Words that name no other
            // client leave the record as it always was.
            concerned = [.. concerned, .. IncidentView.OthersNamed(incident, concerned[0], policy).Where(c => ClientKey.IsCanonical(c))];
        }

        var full = _store.AppendAsync(RecordTypes.IncidentEvent, ClientKey.Of(concerned), IncidentJson.ToUtf8(incident, kind), cancellationToken).AsTask();
        if (concerned.Length < 2)
        {
            await full.ConfigureAwait(false);
            return;
        }

        // Queued together behind the full record, so one commit serves them all.
        await Task.WhenAll(incident.Clients.Select(client => _store.AppendAsync(
            RecordTypes.IncidentView,
            ClientKey.Of(client),
            IncidentJson.ToUtf8(IncidentView.For(incident, client, policy), kind),
            cancellationToken).AsTask()).Prepend(full)).ConfigureAwait(false);
    }

    /// <summary>Keeps a recorded snapshot (called under the gate; readers use the lock-free copy).</summary>
    private void Keep(Incident incident)
    {
        _incidents[incident.Id] = incident;
        _snapshot = _incidents.Values.OrderBy(i => i.DetectedAt).ToArray();
        IncidentChanged?.Invoke(this, incident);
    }
}
