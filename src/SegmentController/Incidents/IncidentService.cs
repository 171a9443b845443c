using System.Globalization;
using SegmentController.Core.Evidence;
using SegmentController.Core.Incidents;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Metrics;

namespace SegmentController.Incidents;

/// <summary>
/// Runs the incident manager inside <c>segctl run</c>: takes back the incidents recorded before a restart,
/// groups findings into incidents, sends each new incident's notice without holding up the next finding,
/// links the kill switch's measures to the open incidents of the clients concerned, and keeps
/// <c>segctl_incidents_open{client}</c> and <c>segctl_incident_notice_due_timestamp_seconds{client}</c> current:
/// one series per client of the policy in force, given at once to a client a reload adds and taken from one it
/// takes away.
/// </summary>
internal sealed partial class IncidentService : BackgroundService
{
    private readonly IncidentManager _incidents;
    private readonly IncidentQueue _queue;
    private readonly IEvidenceStore _store;
    private readonly IPolicyProvider _policy;
    private readonly ControllerMetrics _metrics;
    private readonly ILogger<IncidentService> _logger;
    private readonly IncidentNotices _notices;
    private readonly TimeProvider _time;
    private readonly Lock _publishing = new();
    /// <summary>The clients that have a series in the incident gauges.</summary>
    private readonly HashSet<string> _labelled = new(StringComparer.Ordinal);
    private long _dropped;

    public IncidentService(IncidentManager incidents, IncidentQueue queue, IncidentNotices notices, IEvidenceStore store, IPolicyProvider policy, ControllerMetrics metrics, TimeProvider time, ILogger<IncidentService> logger)
    {
        ArgumentNullException.ThrowIfNull(notices);
        ArgumentNullException.ThrowIfNull(time);
        _notices = notices;
        _time = time;
        ArgumentNullException.ThrowIfNull(incidents);
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        (_incidents, _queue, _store, _policy, _metrics, _logger) = (incidents, queue, store, policy, metrics, logger);
        _incidents.IncidentChanged += (_, _) => Publish();
        _policy.PolicyChanged += OnPolicyChanged;
    }

    public override void Dispose()
    {
        _policy.PolicyChanged -= OnPolicyChanged;
        base.Dispose();
    }

    private void OnPolicyChanged(object? sender, SitePolicy policy) => Publish();

    /// <summary>How long findings whose incident the store refused wait before they are tried again, when no other work comes first.</summary>
    public TimeSpan UnrecordedRetry { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Takes back the incidents recorded before this start before the host goes on to open the management
    /// listener: the operator API and <c>/metrics</c> never show a restarted controller without them.
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await RestoreAsync(cancellationToken).ConfigureAwait(false);
        Publish();
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Complete();
        await base.StopAsync(cancellationToken).ConfigureAwait(false);

        // Notices still being retried stop; attempts in flight are recorded first. They resume at the next start.
        await _notices.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await RunAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException && stoppingToken.IsCancellationRequested)
        {
            // Stopping. The host also cancels a service it started when a later one fails to start (a proxy
            // certificate that cannot be loaded, say), and may dispose what it holds (the incident manager)
            // while its work is still running: that start failed for its own reason, not this service.
        }
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        // Deadlines that passed while the controller was down are put on record as such.
        try
        {
            var lapsed = await _incidents.RecordLapsedNoticesAsync(stoppingToken).ConfigureAwait(false);
            if (lapsed > 0)
            {
                Log.NoticesLapsed(_logger, lapsed);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            Log.WorkFailed(_logger, e.Message, e);
        }

        // Notices owed before the restart (not given, deadline not passed) are taken up again.
        foreach (var pending in _incidents.PendingNotices())
        {
            Log.NoticeResumed(_logger, pending.Id);
            _notices.Start(pending.Id);
        }

        // Findings whose incident the store refused wait in the manager: they are tried again with the next work, or
        // once UnrecordedRetry passes without any.
        var reader = _queue.Reader;
        while (true)
        {
            bool more;
            if (_incidents.UnrecordedFindings > 0)
            {
                using var retry = new CancellationTokenSource(UnrecordedRetry, _time);
                using var either = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, retry.Token);
                try
                {
                    more = await reader.WaitToReadAsync(either.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    await HandleAsync(new IncidentWork([], null, null), stoppingToken).ConfigureAwait(false);
                    continue;
                }
            }
            else
            {
                more = await reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false);
            }

            if (!more)
            {
                return;
            }

            while (reader.TryRead(out var work))
            {
                await HandleAsync(work, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private async Task HandleAsync(IncidentWork work, CancellationToken stoppingToken)
    {
        try
        {
            if (work.Findings is { } findings)
            {
                foreach (var due in await _incidents.RecordFindingsAsync(findings, stoppingToken).ConfigureAwait(false))
                {
                    _notices.Start(due.Id);
                }
            }
            else if (work is { Scope: { } scope, Measure: { } measure })
            {
                if (scope != SuspensionNames.AllClients)
                {
                    // A client's measure carries what an operator wrote (a suspension's, a restore's reason) onto
                    // its incidents, one of that client alone recorded in full under its key: as its view.
                    var own = new ClientRedactor(scope, [], _policy.Current);
                    await _incidents.AddMeasureForClientAsync(scope, own.Redact(measure), stoppingToken).ConfigureAwait(false);
                    return;
                }

                // A site-wide suspension's measure goes on every client's incidents, and an incident of one
                // client alone is recorded in full under its key, into its evidence export: each client gets
                // the measure as its view of an incident would show it — left out when it concerns only
                // other clients (a release of another client's ports), other clients redacted otherwise.
                var policy = _policy.Current;
                foreach (var client in policy.Clients.Select(c => c.Id))
                {
                    var own = new ClientRedactor(client, [], policy);
                    if (!own.ConcernsOnlyOthers(measure))
                    {
                        await _incidents.AddMeasureForClientAsync(client, own.Redact(measure), stoppingToken).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            // The store refusing a record (fail closed) must not stop the controller: the findings and the
            // suspension are on record on their own, and health already reports the store.
            Log.WorkFailed(_logger, e.Message, e);
        }

        if (work.Findings is not null)
        {
            if (_incidents.UnrecordedFindings is > 0 and var waiting)
            {
                Log.IncidentsUnrecorded(_logger, waiting, UnrecordedRetry.TotalSeconds);
            }

            if (_incidents.UnrecordedFindingsDropped is > 0 and var dropped && Interlocked.Exchange(ref _dropped, dropped) != dropped)
            {
                Log.UnrecordedDropped(_logger, dropped);
            }
        }
    }

    private async Task RestoreAsync(CancellationToken cancellationToken)
    {
        var latest = new Dictionary<string, Incident>(StringComparer.Ordinal);
        var unreadable = 0;
        string? firstUnreadable = null;
        try
        {
            await foreach (var record in _store.ReadAsync(new RecordQuery { Type = RecordTypes.IncidentEvent }, cancellationToken).ConfigureAwait(false))
            {
                if (record.Payload is not { } payload)
                {
                    continue;
                }

                // A record that is not an incident (written by another version, or edited) is passed over: the
                // others, and the notices they owe, are still taken back. Its incident keeps its latest readable snapshot.
                Incident incident;
                try
                {
                    incident = IncidentJson.Read(payload);
                }
                catch (FormatException e)
                {
                    unreadable++;
                    firstUnreadable ??= string.Create(CultureInfo.InvariantCulture, $"record {record.Index}: {e.Message}");
                    continue;
                }

                latest[incident.Id] = incident;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.NotRestored(_logger, e.Message);
            return;
        }

        if (unreadable > 0)
        {
            Log.RecordsUnreadable(_logger, unreadable, firstUnreadable!);
        }

        _incidents.Restore(latest.Values);
        Log.Restored(_logger, latest.Count, latest.Values.Count(i => i.Status == IncidentStatus.Open));
    }

    private void Publish()
    {
        // One at a time, each reading the incidents and the policy as they are when it runs: two changes
        // published at once must not leave the gauges at the earlier one's values.
        lock (_publishing)
        {
            var incidents = _incidents.Incidents;
            var policy = _policy.Current;

            // A client a reload took away keeps its series while an incident is open for it or owes it its
            // notice (the 8-hour rule outlives the policy); once neither holds, its series go.
            var shown = policy.Clients.Select(c => c.Id)
                .Concat(_labelled.Where(id => incidents.Any(i => i.Clients.Contains(id, StringComparer.Ordinal)
                    && (i.Status == IncidentStatus.Open || i.NoticeFor(id) is { GivenAt: null }))))
                .ToHashSet(StringComparer.Ordinal);
            foreach (var client in shown)
            {
                _labelled.Add(client);
                var open = incidents.Count(i => i.Status == IncidentStatus.Open && i.Clients.Contains(client, StringComparer.Ordinal));
                _metrics.IncidentsOpen.WithLabels(client).Set(open);
                // Closing an incident does not discharge its notices (they keep being sent): the deadline stays
                // until the client has had notice, whatever the incident's status.
                var due = incidents.Select(i => i.NoticeFor(client)).Where(n => n is { GivenAt: null }).Select(n => (DateTimeOffset?)n!.DueAt).Min();
                _metrics.IncidentNoticeDueSeconds.WithLabels(client).Set(due is { } d ? d.ToUnixTimeMilliseconds() / 1000.0 : 0);
            }

            foreach (var gone in _labelled.Where(id => !shown.Contains(id)).ToArray())
            {
                _metrics.IncidentsOpen.RemoveLabelled(gone);
                _metrics.IncidentNoticeDueSeconds.RemoveLabelled(gone);
                _labelled.Remove(gone);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.IncidentWorkFailed, LogLevel.Error, "Incident work failed: {Reason}")]
        public static partial void WorkFailed(ILogger logger, string reason, Exception exception);

        [LoggerMessage(EventIds.IncidentsRestored, LogLevel.Information, "Incidents taken back from the store: {Count} ({Open} open)")]
        public static partial void Restored(ILogger logger, int count, int open);

        [LoggerMessage(EventIds.IncidentsNotRestored, LogLevel.Critical, "Incidents recorded before this start could not be read back: {Reason}")]
        public static partial void NotRestored(ILogger logger, string reason);

        [LoggerMessage(EventIds.IncidentsUnrecorded, LogLevel.Error, "{Count} finding(s) wait for their incidents: the store refused their records; tried again with the next findings or in {Seconds} s")]
        public static partial void IncidentsUnrecorded(ILogger logger, int count, double seconds);

        [LoggerMessage(EventIds.IncidentFindingsDropped, LogLevel.Critical, "{Count} finding(s) in all were given up while waiting for their incidents to be recorded (too many waited); each is on record as a finding where the store took it")]
        public static partial void UnrecordedDropped(ILogger logger, long count);

        [LoggerMessage(EventIds.IncidentRecordsUnreadable, LogLevel.Critical, "{Count} incident records could not be read back and were passed over; the other incidents were taken back (the first: {Problem})")]
        public static partial void RecordsUnreadable(ILogger logger, int count, string problem);

        [LoggerMessage(EventIds.IncidentNoticeResumed, LogLevel.Information, "Notice of incident {Id} not given before the restart: resumed")]
        public static partial void NoticeResumed(ILogger logger, string id);

        [LoggerMessage(EventIds.IncidentNoticeLapsed, LogLevel.Error, "{Count} incident notice(s) reached their 8-hour deadline while the controller was not running, not given: notify by other means")]
        public static partial void NoticesLapsed(ILogger logger, int count);
    }
}
