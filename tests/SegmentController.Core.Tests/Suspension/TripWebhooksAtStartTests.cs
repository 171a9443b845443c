using System.Collections.Concurrent;
using SegmentController.Core.Suspension;

namespace SegmentController.Core.Tests.Suspension;

/// <summary>
/// A trip is acknowledged once durable; its switch ports and webhooks follow. A controller that stops (killed, or
/// stopped) after the acknowledgement and before the trip's webhooks ran must not leave them unsent: the next start
/// finds the suspension in force with no webhooks stage on its record and fires them, as it shuts the ports again.
/// </summary>
public sealed class TripWebhooksAtStartTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly ConcurrentQueue<string> _log = new();

    public void Dispose() => _dir.Dispose();

    private string StatePath => _dir.File("state/suspension.state");

    [Fact]
    public async Task KilledAfterTheAcknowledgementBeforeTheWebhooks_NextStart_FiresTheTripsWebhooks()
    {
        var hanging = new HangingWebhooks();
        string crashCopy;
        string id;
        using (var first = NewEngine(StatePath, hanging))
        {
            var trip = await first.TripAsync(Trip("acme"), CancellationToken.None);
            id = trip.Record.Id;
            await hanging.Called.Task.WaitAsync(TimeSpan.FromSeconds(30));

            // The disk as a SIGKILL here leaves it: the trip is durable, its webhooks never returned.
            crashCopy = _dir.File("crash/suspension.state");
            Directory.CreateDirectory(Path.GetDirectoryName(crashCopy)!);
            File.Copy(StatePath, crashCopy);
        }

        var webhooks = new RecordingWebhooks();
        using var restarted = NewEngine(crashCopy, webhooks);
        Assert.True(restarted.IsSuspended("acme"));
        await restarted.ReassertAsync(CancellationToken.None);

        Assert.Equal([$"tripped:acme:{id}"], webhooks.Calls);
        var webhookStage = Assert.Single(restarted.Current.Suspensions["acme"].Stages, s => s.Stage == SuspensionStage.Webhooks);
        Assert.True(webhookStage.Succeeded);
        Assert.Single(new FileSuspensionStateStore(crashCopy).Load().State!.Suspensions["acme"].Stages, s => s.Stage == SuspensionStage.Webhooks);

        // Sent once: a later start finds the webhooks stage on the record and sends nothing again.
        webhooks.Calls.Clear();
        using var again = NewEngine(crashCopy, webhooks);
        await again.ReassertAsync(CancellationToken.None);
        Assert.Empty(webhooks.Calls);
    }

    [Fact]
    public async Task StateUnreadableAtStart_SiteWideSuspension_WebhooksFired()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(StatePath)!);
        await File.WriteAllBytesAsync(StatePath, new byte[4096]);
        var webhooks = new RecordingWebhooks();
        using var engine = NewEngine(StatePath, webhooks);
        var siteWide = engine.Current.Suspensions[SuspensionNames.AllClients];
        Assert.Equal(SuspensionTrigger.StateUnreadable, siteWide.Trigger);

        await engine.ReassertAsync(CancellationToken.None);

        Assert.Equal([$"tripped:*:{siteWide.Id}"], webhooks.Calls);
    }

    [Fact]
    public async Task TripWhoseWebhooksRan_NextStart_SendsNothingAgain()
    {
        var webhooks = new RecordingWebhooks();
        using (var first = NewEngine(StatePath, webhooks))
        {
            await (await first.TripAsync(Trip("acme"), CancellationToken.None)).Completion;
        }

        Assert.Single(webhooks.Calls);
        webhooks.Calls.Clear();
        using var restarted = NewEngine(StatePath, webhooks);
        await restarted.ReassertAsync(CancellationToken.None);

        Assert.Empty(webhooks.Calls);
    }

    private SuspensionEngine NewEngine(string path, ISuspensionNotifier notifier) => new(
        new FileSuspensionStateStore(path),
        new StaticPolicyProvider(TestPolicies.TwoClients()),
        [new RecordingEnforcer(SuspensionStage.Gate, _log)],
        [new RecordingPortShutter(_log)],
        [notifier],
        [],
        TimeProvider.System);

    private static TripRequest Trip(string scope) => new()
    {
        Scope = scope,
        Trigger = SuspensionTrigger.Operator,
        Actor = "alice",
        Reason = "incident 42",
    };

    // A webhook receiver that never answers (until the controller stops).
    private sealed class HangingWebhooks : ISuspensionNotifier
    {
        public TaskCompletionSource Called { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask TrippedAsync(SuspensionRecord record, CancellationToken cancellationToken)
        {
            Called.TrySetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
        }

        public ValueTask RestoredAsync(RestoreRecord record, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    private sealed class RecordingWebhooks : ISuspensionNotifier
    {
        public ConcurrentQueue<string> Calls { get; } = new();

        public ValueTask TrippedAsync(SuspensionRecord record, CancellationToken cancellationToken)
        {
            Calls.Enqueue($"tripped:{record.Scope}:{record.Id}");
            return ValueTask.CompletedTask;
        }

        public ValueTask RestoredAsync(RestoreRecord record, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
