using System.Collections.Concurrent;
using System.Globalization;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Health;
using SegmentController.Metrics;
using SegmentController.Snmp.Inventory;
using SegmentController.Snmp.Polling;

namespace SegmentController.Snmp;

/// <summary>
/// Polls every switch of the policy on its <c>poll_interval</c> (switches in parallel, the columns of one
/// switch in sequence), judges each inventory, and publishes findings when they first appear (a finding
/// that persists is not re-published every poll; one that clears and returns is) — except lost
/// verification: a switch that stays unreachable is published again at every poll as an update of its
/// episode, so that a suspension lifted meanwhile is tripped again. Exports
/// <c>segctl_snmp_poll_duration_seconds</c>, <c>segctl_switch_reachable</c> and the <c>snmp</c>
/// verification source, which is healthy only while every switch answered its last poll.
/// </summary>
internal sealed partial class SnmpInventoryService : BackgroundService
{
    public const string HealthSource = "snmp";

    private readonly IPolicyProvider _policy;
    private readonly IFindingSink _sink;
    private readonly ControllerMetrics _metrics;
    private readonly VerificationHealth _health;
    private readonly TimeProvider _time;
    private readonly ILogger<SnmpInventoryService> _logger;
    private readonly SwitchPoller _poller;
    private readonly ConcurrentDictionary<string, SwitchState> _switches = new(StringComparer.Ordinal);

    public SnmpInventoryService(IPolicyProvider policy, IFindingSink sink, ControllerMetrics metrics, VerificationHealth health, TimeProvider time, ILogger<SnmpInventoryService> logger)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(health);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _policy = policy;
        _sink = sink;
        _metrics = metrics;
        _health = health;
        _time = time;
        _logger = logger;
        _poller = new SwitchPoller(time);
    }

    /// <summary>How often the scheduler looks for switches that are due.</summary>
    public TimeSpan Tick { get; init; } = TimeSpan.FromSeconds(1);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (_policy.Current.Switches.Count > 0)
        {
            // Declared before the first poll: switches that are never polled must not look verified.
            _health.Expect(HealthSource);
        }

        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var running = new Dictionary<string, Task>(StringComparer.Ordinal);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var policy = _policy.Current;
                var now = _time.GetUtcNow();
                foreach (var definition in policy.Switches)
                {
                    var state = _switches.GetOrAdd(definition.Name, _ => new SwitchState());
                    if (running.TryGetValue(definition.Name, out var task) && !task.IsCompleted)
                    {
                        continue;
                    }

                    if (state.NextDue <= now)
                    {
                        state.NextDue = now + definition.PollInterval;
                        running[definition.Name] = PollOneAsync(policy, definition, state, stoppingToken);
                    }
                }

                var removed = false;
                foreach (var gone in _switches.Keys.Where(name => policy.FindSwitch(name) is null).ToArray())
                {
                    _switches.TryRemove(gone, out _);
                    _metrics.SwitchReachable.RemoveLabelled(gone);
                    _metrics.SnmpPollDuration.RemoveLabelled(gone);
                    removed = true;
                }

                if (removed)
                {
                    // A switch a reload took away no longer decides whether SNMP verification holds; with
                    // none left, there is no SNMP verifier to report on.
                    if (policy.Switches.Count == 0)
                    {
                        _health.Withdraw(HealthSource);
                    }
                    else
                    {
                        ReportHealth();
                    }
                }

                await Task.Delay(Tick, _time, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await Task.WhenAll(running.Values).ConfigureAwait(false);
    }

    private async Task PollOneAsync(SitePolicy policy, SwitchDefinition definition, SwitchState state, CancellationToken stoppingToken)
    {
        SwitchPollResult result;
        try
        {
            result = await _poller.PollAsync(definition, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }

        var now = _time.GetUtcNow();
        // Judged before the metrics are set: a switch whose inventory cannot be checked is not verified.
        var judged = SwitchJudge.Judge(policy, definition, result, state.Inventory, now);
        var findings = judged.Findings;
        _metrics.SnmpPollDuration.WithLabels(definition.Name).Observe(result.Elapsed.TotalSeconds);
        _metrics.SwitchReachable.WithLabels(definition.Name).Set(judged.Verified ? 1 : 0);
        if (!judged.Verified)
        {
            Log.PollFailed(_logger, definition.Name, judged.Poll.Error ?? "no answer");
        }
        else
        {
            if (state.Reachable == false)
            {
                Log.SwitchRecovered(_logger, definition.Name);
            }

            state.Inventory = judged.Poll.Inventory;
        }

        state.Reachable = judged.Verified;
        state.Error = judged.Poll.Error;
        ReportHealth();

        var keys = findings.Select(PublicationKey).ToHashSet(StringComparer.Ordinal);
        var fresh = new List<Finding>(findings.Count);
        foreach (var finding in findings)
        {
            var published = state.Published.Contains(PublicationKey(finding));
            if (finding.Rule == RuleIds.SwitchUnreachable)
            {
                // Lost verification that goes on is published again at every poll, as an update of its
                // episode: a suspension lifted while the switch still cannot be verified is tripped again
                // (as a capture silence that goes on is), and so is one a reload to `suspend` now asks for.
                state.UnreachableEpisode = published && state.UnreachableEpisode is not null
                    ? state.UnreachableEpisode
                    : string.Create(CultureInfo.InvariantCulture, $"snmp/{definition.Name}/unreachable/{now.UtcTicks}");
                fresh.Add(finding with { Key = state.UnreachableEpisode, Update = published });
            }
            else if (!published)
            {
                fresh.Add(finding);
            }
        }

        if (judged.Verified)
        {
            state.UnreachableEpisode = null;
        }

        state.Published = keys;
        if (fresh.Count == 0)
        {
            if (state.PublishFailure is not null && findings.Count == 0)
            {
                // What could not be recorded has cleared: nothing is owed any more.
                state.PublishFailure = null;
                ReportHealth();
            }

            return;
        }

        try
        {
            await _sink.PublishAsync(fresh, stoppingToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A poller that cannot record its findings is not a healthy verifier, and stays so until its
            // findings are recorded (they are all published again at the next poll).
            Log.PublishFailed(_logger, definition.Name, e);
            state.PublishFailure = $"findings of {definition.Name} could not be published: {e.Message}";
            state.Published = [];
            ReportHealth();
            return;
        }

        if (state.PublishFailure is not null)
        {
            state.PublishFailure = null;
            ReportHealth();
        }
    }

    private void ReportHealth()
    {
        var states = _switches.ToArray();
        if (states.Length == 0)
        {
            return;
        }

        var down = states.Where(s => s.Value.Reachable != true).Select(s => s.Key).Order(StringComparer.Ordinal).ToArray();
        var unrecorded = states.Select(s => s.Value.PublishFailure).Where(f => f is not null).Order(StringComparer.Ordinal).ToArray();
        var problems = new List<string>(2);
        if (down.Length > 0)
        {
            problems.Add($"not verified: {string.Join(", ", down)}");
        }

        problems.AddRange(unrecorded!);
        _health.Report(HealthSource, problems.Count == 0, problems.Count == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{states.Length} switch(es) answered their last poll")
            : string.Join("; ", problems));
    }

    /// <summary>
    /// What makes a finding the same as one the previous poll published. Drift is a change between two
    /// polls, so its summary (what changed) is part of it: the same drift at two polls in a row is no
    /// change — the state would have had to go back in between — but a standing fact (a policy port the
    /// switch lacks), published once until it clears, not once per poll.
    /// </summary>
    private static string PublicationKey(Finding finding) =>
        finding.Rule == RuleIds.InventoryDrift ? Key(finding) + "|" + finding.Summary : Key(finding);

    private static string Key(Finding finding) =>
        finding.Rule + "|" + string.Join(",", finding.Clients) + "|" + string.Join("|", finding.Evidence.Where(e => e.Key != "count").Select(e => $"{e.Key}={FormatEvidence(e.Value)}"));

    private static string FormatEvidence(object? value) => value switch
    {
        null => "",
        string s => s,
        System.Collections.IEnumerable items => string.Join(",", items.Cast<object>()),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    private sealed class SwitchState
    {
        public DateTimeOffset NextDue { get; set; } = DateTimeOffset.MinValue;

        public bool? Reachable { get; set; }

        public string? Error { get; set; }

        public SwitchInventory? Inventory { get; set; }

        public HashSet<string> Published { get; set; } = new(StringComparer.Ordinal);

        /// <summary>The key of the switch-unreachable episode going on, if any (its updates carry it).</summary>
        public string? UnreachableEpisode { get; set; }

        /// <summary>Why the findings of the last poll could not be recorded, until a later poll's are.</summary>
        public string? PublishFailure { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.SnmpPollFailed, LogLevel.Warning, "Switch {Switch} could not be inventoried: {Error}")]
        public static partial void PollFailed(ILogger logger, string @switch, string error);

        [LoggerMessage(EventIds.SnmpPublishFailed, LogLevel.Error, "Findings of switch {Switch} could not be published")]
        public static partial void PublishFailed(ILogger logger, string @switch, Exception exception);

        [LoggerMessage(EventIds.SnmpSwitchRecovered, LogLevel.Information, "Switch {Switch} answers again")]
        public static partial void SwitchRecovered(ILogger logger, string @switch);
    }
}
