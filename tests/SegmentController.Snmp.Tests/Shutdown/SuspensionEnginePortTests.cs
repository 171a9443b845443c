using System.Threading.Channels;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Snmp.Shutdown;
using SegmentController.Snmp.Tests.Infrastructure;

namespace SegmentController.Snmp.Tests.Shutdown;

/// <summary>The kill switch's port stages through the SNMP shutter against a real snmpd controlling real links.</summary>
public sealed class SuspensionEnginePortTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-engine-snmp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static SitePolicy Policy(SwitchNamespace ns) => TestPolicies.Site(new SwitchDefinition
    {
        Name = "lab-sw",
        Address = ns.AgentAddress,
        Port = ns.Agent.Port,
        Snmp = new SnmpSettings
        {
            Version = SnmpVersion.V3,
            User = "sha256",
            AuthProtocol = SnmpAuthProtocol.Sha256,
            AuthPassphrase = TestPolicies.Secret(SnmpdAgent.AuthPass),
            PrivProtocol = SnmpPrivProtocol.Aes128,
            PrivPassphrase = TestPolicies.Secret(SnmpdAgent.PrivPass),
        },
        // Short, for the tests that freeze the switch; a second send gives a thawed switch's answer, on a
        // loaded machine, a second window (a late answer to the first send counts).
        Timeout = TimeSpan.FromMilliseconds(500),
        Retries = 1,
    }) with
    {
        Restore = new RestoreSettings { Approvers = 1 },
        Clients =
        [
            TestPolicies.Client("alpha", 10, new PortAssignment { Switch = "lab-sw", Ports = ["swpa1"] }),
            TestPolicies.Client("bravo", 20, new PortAssignment { Switch = "lab-sw", Ports = ["swpb1"] }),
        ],
        Infrastructure = new InfrastructureSettings(),
    };

    [Fact]
    public async Task Trip_PortReadBackDown_Restore_SwitchGoneSilent_RestoreStandsAndSaysPortsNotUp()
    {
        await using var ns = await SwitchNamespace.CreateAsync("swpa1", "swpb1");
        var policy = new PolicyProvider("inline", Policy(ns));
        var observer = new Restores();
        using var engine = Engine(policy, observer: observer);

        var enforced = await (await engine.TripAsync(new TripRequest { Scope = "alpha", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "drill" }, CancellationToken.None)).Completion;

        Assert.True(Assert.Single(enforced.Stages, s => s.Stage == SuspensionStage.SwitchPorts).Succeeded);
        Assert.True(enforced.Ports!.Verified);
        Assert.False(await ns.IsUpAsync("swpa1"));
        Assert.True(await ns.IsUpAsync("swpb1"));

        await ns.Agent.StopAsync();
        var outcome = await engine.RequestRestoreAsync("alpha", "alice", "drill over", CancellationToken.None);

        Assert.Equal(RestoreStatus.Restored, outcome.Status);
        Assert.False(engine.IsSuspended("alpha"));
        Assert.False(outcome.Record!.Ports!.Verified);
        Assert.Contains(outcome.Record.Ports.Failures, f => f.StartsWith("lab-sw:swpa1: failed", StringComparison.Ordinal));
        Assert.False(Assert.Single(observer.Restored).Ports!.Verified);
        Assert.False(await ns.IsUpAsync("swpa1"));
    }

    [Fact]
    public async Task ReloadGivesASuspendedClientAPort_ThatPortShutOverSnmpAndReadBackDown_OthersUntouched()
    {
        await using var ns = await SwitchNamespace.CreateAsync("swpa1", "swpa2", "swpb1");
        var path = Path.Combine(_dir, "site.yaml");
        await File.WriteAllTextAsync(path, PolicyFile(ns, alpha: "[swpa1]"));
        var policy = PolicyProvider.TryOpen(path, out var errors);
        Assert.Empty(errors);
        var observer = new Restores();
        using var engine = Engine(policy!, observer: observer);
        var enforced = await (await engine.TripAsync(new TripRequest { Scope = "alpha", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "drill" }, CancellationToken.None)).Completion;
        Assert.True(enforced.Ports!.Verified);
        Assert.False(await ns.IsUpAsync("swpa1"));
        Assert.True(await ns.IsUpAsync("swpa2"));

        // The client's segment gets a second port while it is suspended.
        await File.WriteAllTextAsync(path, PolicyFile(ns, alpha: "[swpa1-2]"));
        Assert.Empty(policy!.Reload());

        var reassertion = await observer.Reasserted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(PortReassertionCause.PolicyReload, reassertion.Cause);
        Assert.True(reassertion.Verified);
        Assert.Equal(["lab-sw:swpa2"], reassertion.Ports);
        Assert.False(await ns.IsUpAsync("swpa2"));
        Assert.False(await ns.IsUpAsync("swpa1"));
        Assert.True(await ns.IsUpAsync("swpb1"));
    }

    [Fact]
    public async Task Trip_SnmpdFrozenAtTheTrip_PortShutOverSnmpByARetryOnceItAnswers_RecordedAsARetry()
    {
        await using var ns = await SwitchNamespace.CreateAsync("swpa1", "swpb1");
        var policy = new PolicyProvider("inline", Policy(ns));
        var events = new PortEvents();
        using var engine = Engine(policy, observer: events);

        // The switch hangs (SIGSTOP: its socket stays bound, nothing answers) as the trip comes.
        await ns.Agent.PauseAsync();
        try
        {
            var enforced = await (await engine.TripAsync(new TripRequest { Scope = "alpha", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "drill" }, CancellationToken.None)).Completion;
            Assert.False(Assert.Single(enforced.Stages, s => s.Stage == SuspensionStage.SwitchPorts).Succeeded);
            Assert.False(enforced.Ports!.Verified);

            // Tried again while it still hangs: nothing shut, nothing on record yet.
            var failed = await events.RetryFailed.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(["lab-sw:swpa1"], failed.Ports);
            Assert.Empty(new FileSuspensionStateStore(Path.Combine(_dir, "suspension.state")).Load().State!.Suspensions["alpha"].Reassertions);
            Assert.True(await ns.IsUpAsync("swpa1"));
        }
        finally
        {
            await ns.Agent.ResumeAsync();
        }

        var reassertion = await events.Reasserted.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(PortReassertionCause.Retry, reassertion.Cause);
        Assert.True(reassertion.Verified);
        Assert.Equal(["alpha"], reassertion.Clients);
        Assert.Equal(["lab-sw:swpa1"], reassertion.Ports);
        Assert.False(await ns.IsUpAsync("swpa1"));
        Assert.True(await ns.IsUpAsync("swpb1"));
        var onDisk = new FileSuspensionStateStore(Path.Combine(_dir, "suspension.state")).Load().State!.Suspensions["alpha"];
        Assert.Equal(PortReassertionCause.Retry, Assert.Single(onDisk.Reassertions).Cause);
        Assert.True(onDisk.Reassertions[0].Verified);
    }

    [Fact]
    public async Task Restore_WhileRetriesWaitForAFrozenSnmpd_PortBroughtUpOverSnmpAndStaysUpPastTheNextTry()
    {
        await using var ns = await SwitchNamespace.CreateAsync("swpa1", "swpb1");
        var policy = new PolicyProvider("inline", Policy(ns));
        var events = new PortEvents();
        using var engine = Engine(policy, observer: events);

        await ns.Agent.PauseAsync();
        PortReassertion failed;
        TimeSpan retryIn;
        try
        {
            await (await engine.TripAsync(new TripRequest { Scope = "alpha", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "drill" }, CancellationToken.None)).Completion;
            (failed, retryIn) = await events.RetryFailedWithDelay.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            await ns.Agent.ResumeAsync();
        }

        Assert.Equal(["lab-sw:swpa1"], failed.Ports);
        var outcome = await engine.RequestRestoreAsync("alpha", "alice", "drill over", CancellationToken.None);

        Assert.Equal(RestoreStatus.Restored, outcome.Status);
        Assert.True(outcome.Record!.Ports!.Verified, "the restore's bring-up was not read back up: " + string.Join("; ", outcome.Record.Ports.Failures));
        Assert.True(await ns.IsUpAsync("swpa1"));

        // Past the time the next try was due (and the one after it): nothing shuts the port again.
        await Task.Delay(retryIn * 3 + TimeSpan.FromSeconds(1));
        Assert.True(await ns.IsUpAsync("swpa1"));
        Assert.True(await ns.IsUpAsync("swpb1"));
        Assert.False(engine.IsSuspended("alpha"));
    }

    [Fact]
    public async Task RetryWaitingOutAFrozenSwitch_TripAndRestoreOfAClientOnAnotherSwitch_ShutAndBringUpItsPortWithoutWaitingForIt()
    {
        await using var hung = await SwitchNamespace.CreateAsync("swpa1");
        await using var live = await SwitchNamespace.CreateAsync("swpb1");

        // The switch that hangs waits long for an answer: a shut that queued behind its retry would wait as long.
        var policy = new PolicyProvider("inline", TestPolicies.Site(V3Switch("sw-a", hung, TimeSpan.FromSeconds(30)), V3Switch("sw-b", live, TimeSpan.FromSeconds(2))) with
        {
            Restore = new RestoreSettings { Approvers = 1 },
            Clients =
            [
                TestPolicies.Client("alpha", 10, new PortAssignment { Switch = "sw-a", Ports = ["swpa1", "swpa9"] }),
                TestPolicies.Client("bravo", 20, new PortAssignment { Switch = "sw-b", Ports = ["swpb1"] }),
            ],
            Infrastructure = new InfrastructureSettings(),
        });
        var shutter = new WatchedShutter(new SnmpPortShutter(policy, TimeProvider.System));
        using var engine = Engine(policy, shutter: shutter);

        // swpa9 is not on the switch (yet): alpha's trip leaves it to retries.
        var alpha = await (await engine.TripAsync(new TripRequest { Scope = "alpha", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "drill" }, CancellationToken.None)).Completion;
        Assert.False(alpha.Ports!.Verified);
        Assert.False(await hung.IsUpAsync("swpa1"));

        await hung.Agent.PauseAsync();
        try
        {
            var retry = await shutter.NextShutAfterArmingAsync("alpha");

            var bravo = await engine.TripAsync(new TripRequest { Scope = "bravo", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "drill" }, CancellationToken.None);
            var enforced = await bravo.Completion.WaitAsync(TimeSpan.FromSeconds(60));

            Assert.True(Assert.Single(enforced.Stages, s => s.Stage == SuspensionStage.SwitchPorts).Succeeded);
            Assert.False(await live.IsUpAsync("swpb1"));
            Assert.False(retry.IsCompleted, "bravo's shut waited for alpha's retry on the switch that hangs");

            var restored = await engine.RequestRestoreAsync("bravo", "alice", "drill over", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

            Assert.Equal(RestoreStatus.Restored, restored.Status);
            Assert.True(restored.Record!.Ports!.Verified);
            Assert.True(await live.IsUpAsync("swpb1"));
            Assert.False(retry.IsCompleted, "bravo's bring-up waited for alpha's retry on the switch that hangs");
            Assert.True(engine.IsSuspended("alpha"));
        }
        finally
        {
            await hung.Agent.ResumeAsync();
        }
    }

    [Fact]
    public async Task Trip_SnmpdFrozenAtTheTrip_RetryShutsThePortWhileWebhooksStillRun_RetryReportedAfterTheTripsEnforcedRecord()
    {
        await using var ns = await SwitchNamespace.CreateAsync("swpa1", "swpb1");
        var policy = new PolicyProvider("inline", Policy(ns));
        var webhooks = new HeldWebhooks();
        var order = new RecordOrder();
        using var engine = Engine(policy, observer: order, notifier: webhooks);

        await ns.Agent.PauseAsync();
        try
        {
            await engine.TripAsync(new TripRequest { Scope = "alpha", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "drill" }, CancellationToken.None);
            await webhooks.Called.Task.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(await ns.IsUpAsync("swpa1"));
        }
        finally
        {
            await ns.Agent.ResumeAsync();
        }

        // A retry reads the port down once the switch answers, while the trip's webhooks still run; what it
        // reports comes after the trip's enforced record whenever that is (given a while to come early).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (await ns.IsUpAsync("swpa1"))
        {
            Assert.True(DateTime.UtcNow < deadline, "no retry shut the port");
            await Task.Delay(100);
        }

        await Task.WhenAny(order.Reasserted.Task, Task.Delay(TimeSpan.FromSeconds(3)));
        webhooks.Release.TrySetResult();

        await order.Reasserted.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(["enforced", "ports-reasserted:retry"], order.Events);
        var onDisk = new FileSuspensionStateStore(Path.Combine(_dir, "suspension.state")).Load().State!.Suspensions["alpha"];
        Assert.Equal(PortReassertionCause.Retry, Assert.Single(onDisk.Reassertions).Cause);
        Assert.Contains(onDisk.Stages, s => s.Stage == SuspensionStage.Webhooks);
    }

    [Fact]
    public async Task ReloadTakesPortsFromASuspendedClient_PortOfAClientNotSuspendedBroughtUp_OfAnotherSuspendedClientStaysShut_OfNoClientLeftShut_OnRecord()
    {
        await using var ns = await SwitchNamespace.CreateAsync("swpa1", "swpa2", "swpa3", "swpa4", "swpb1", "swpc1");
        var path = Path.Combine(_dir, "site.yaml");
        await File.WriteAllTextAsync(path, ThreeClients(ns, alpha: "[swpa1, swpa2, swpa3, swpa4]", bravo: "[swpb1]", charlie: "[swpc1]"));
        var policy = PolicyProvider.TryOpen(path, out var errors);
        Assert.Empty(errors);
        var released = new TaskCompletionSource<(SuspensionRecord Record, PortRelease Release, IReadOnlyDictionary<string, string> Owners)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var observer = new Releases(released);
        using var engine = Engine(policy!, observer: observer);
        foreach (var client in (string[])["alpha", "charlie"])
        {
            var enforced = await (await engine.TripAsync(new TripRequest { Scope = client, Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "drill" }, CancellationToken.None)).Completion;
            Assert.True(enforced.Ports!.Verified);
        }

        foreach (var port in (string[])["swpa1", "swpa2", "swpa3", "swpa4", "swpc1"])
        {
            Assert.False(await ns.IsUpAsync(port));
        }

        // swpa2 goes to bravo (not suspended), swpa3 to charlie (suspended), swpa4 to no client.
        await File.WriteAllTextAsync(path, ThreeClients(ns, alpha: "[swpa1]", bravo: "[swpb1, swpa2]", charlie: "[swpc1, swpa3]"));
        Assert.Empty(policy!.Reload());

        var (record, release, owners) = await released.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal("alpha", record.Scope);
        Assert.Equal("alpha", release.From);
        Assert.Equal(["lab-sw:swpa2"], release.BroughtUp);
        Assert.Equal(new Dictionary<string, string> { ["lab-sw:swpa2"] = "bravo" }, owners);
        Assert.Equal(["lab-sw:swpa4"], release.LeftShut);
        Assert.True(release.Verified);
        Assert.Empty(release.Failures);
        Assert.True(await ns.IsUpAsync("swpa2"));
        Assert.False(await ns.IsUpAsync("swpa3"));
        Assert.False(await ns.IsUpAsync("swpa4"));
        Assert.False(await ns.IsUpAsync("swpa1"));
        Assert.False(await ns.IsUpAsync("swpc1"));
        Assert.True(await ns.IsUpAsync("swpb1"));
        Assert.False(engine.IsSuspended("bravo"));

        var onDisk = new FileSuspensionStateStore(Path.Combine(_dir, "suspension.state")).Load().State!;
        Assert.Equal(["lab-sw:swpa2"], Assert.Single(onDisk.Suspensions["alpha"].Releases).BroughtUp);
        Assert.Empty(onDisk.Suspensions["charlie"].Releases);
    }

    [Fact]
    public async Task RetryShutThePortsWhileTheTripsWebhooksRun_ThenAReloadGivesTheClientAPort_ReassertionReportedAfterTheRetry_AsTheyRan()
    {
        await using var ns = await SwitchNamespace.CreateAsync("swpa1", "swpa2", "swpa3", "swpb1", "swpb2");
        var path = Path.Combine(_dir, "site.yaml");
        await File.WriteAllTextAsync(path, TwoClients(ns, alpha: "[swpa1, swpa3]", bravo: "[swpb1, swpb2]"));
        var policy = PolicyProvider.TryOpen(path, out var errors);
        Assert.Empty(errors);
        var webhooks = new HeldWebhooks(scope: "alpha");
        var events = new PortWorkOrder();
        using var engine = Engine(policy!, observer: events, notifier: webhooks);
        var bravo = await (await engine.TripAsync(new TripRequest { Scope = "bravo", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "drill" }, CancellationToken.None)).Completion;
        Assert.True(bravo.Ports!.Verified);

        // The switch hangs as alpha's trip comes: its port stage fails, its webhooks are held, a retry takes over.
        await ns.Agent.PauseAsync();
        try
        {
            await engine.TripAsync(new TripRequest { Scope = "alpha", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "drill" }, CancellationToken.None);
            await webhooks.Called.Task.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(await ns.IsUpAsync("swpa1"));
        }
        finally
        {
            await ns.Agent.ResumeAsync();
        }

        // A retry shuts both ports once the switch answers; its report waits for the trip's enforced record.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (await ns.IsUpAsync("swpa1") || await ns.IsUpAsync("swpa3"))
        {
            Assert.True(DateTime.UtcNow < deadline, "no retry shut the ports");
            await Task.Delay(100);
        }

        // Then a reload gives alpha swpa2 (shut by a reassertion, after the retry) and takes swpb2 from bravo
        // (no client's: left shut, reported on bravo's record once the reload's reassertion of alpha's ran).
        await File.WriteAllTextAsync(path, TwoClients(ns, alpha: "[swpa1, swpa2, swpa3]", bravo: "[swpb1]"));
        Assert.Empty(policy!.Reload());
        await events.WaitForAsync("ports-released:bravo");
        Assert.False(await ns.IsUpAsync("swpa2"));
        webhooks.Release.TrySetResult();

        await events.WaitForAsync("ports-reasserted:policy-reload:alpha");
        Assert.Equal(["enforced:bravo", "ports-released:bravo", "enforced:alpha", "ports-reasserted:retry:alpha", "ports-reasserted:policy-reload:alpha"], events.Events);
        var onDisk = new FileSuspensionStateStore(Path.Combine(_dir, "suspension.state")).Load().State!.Suspensions["alpha"];
        Assert.Equal([PortReassertionCause.Retry, PortReassertionCause.PolicyReload], onDisk.Reassertions.Select(r => r.Cause).ToArray());
        Assert.Equal(["lab-sw:swpa1", "lab-sw:swpa3"], onDisk.Reassertions[0].Ports);
        Assert.Equal(["lab-sw:swpa2"], onDisk.Reassertions[1].Ports);
        Assert.Empty(engine.PortsPendingRetry("alpha"));
        foreach (var port in (string[])["swpa1", "swpa2", "swpa3", "swpb1", "swpb2"])
        {
            Assert.False(await ns.IsUpAsync(port));
        }
    }

    [Fact]
    public async Task ReloadAddsAndTakesAwayPortsOfAClientWhileItsTripsWebhooksRun_ReassertionThenRelease_AfterTheEnforcedRecord()
    {
        await using var ns = await SwitchNamespace.CreateAsync("swpa1", "swpa2", "swpa3", "swpb1", "swpb2");
        var path = Path.Combine(_dir, "site.yaml");
        await File.WriteAllTextAsync(path, TwoClients(ns, alpha: "[swpa1, swpa3]", bravo: "[swpb1, swpb2]"));
        var policy = PolicyProvider.TryOpen(path, out var errors);
        Assert.Empty(errors);
        var webhooks = new HeldWebhooks(scope: "alpha");
        var events = new PortWorkOrder();
        using var engine = Engine(policy!, observer: events, notifier: webhooks);
        var bravo = await (await engine.TripAsync(new TripRequest { Scope = "bravo", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "drill" }, CancellationToken.None)).Completion;
        Assert.True(bravo.Ports!.Verified);
        await engine.TripAsync(new TripRequest { Scope = "alpha", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "drill" }, CancellationToken.None);
        await webhooks.Called.Task.WaitAsync(TimeSpan.FromSeconds(60));

        // While alpha's webhooks run: swpa2 given to alpha (shut), swpa3 and bravo's swpb2 to no client (left
        // shut; bravo's reported at once, after the reload's work on alpha's ports ran).
        await File.WriteAllTextAsync(path, TwoClients(ns, alpha: "[swpa1, swpa2]", bravo: "[swpb1]"));
        Assert.Empty(policy!.Reload());
        await events.WaitForAsync("ports-released:bravo");
        Assert.False(await ns.IsUpAsync("swpa2"));
        webhooks.Release.TrySetResult();

        await events.WaitForAsync("ports-released:alpha");
        Assert.Equal(["enforced:bravo", "ports-released:bravo", "enforced:alpha", "ports-reasserted:policy-reload:alpha", "ports-released:alpha"], events.Events);
        var onDisk = new FileSuspensionStateStore(Path.Combine(_dir, "suspension.state")).Load().State!.Suspensions["alpha"];
        Assert.Contains(onDisk.Stages, s => s.Stage == SuspensionStage.Webhooks);
        Assert.Equal(["lab-sw:swpa2"], Assert.Single(onDisk.Reassertions).Ports);
        Assert.Equal(["lab-sw:swpa3"], Assert.Single(onDisk.Releases).LeftShut);
        foreach (var port in (string[])["swpa1", "swpa2", "swpa3", "swpb1", "swpb2"])
        {
            Assert.False(await ns.IsUpAsync(port));
        }
    }

    [Fact]
    public async Task ReloadGivesPortsOfASuspendedClientToClientsWithShutPortsOff_SuspendedOrNot_BroughtUpOverSnmpAndReadBackUp_OnRecord()
    {
        await using var ns = await SwitchNamespace.CreateAsync("swpa1", "swpa2", "swpa3", "swpb1", "swpc1");
        var path = Path.Combine(_dir, "site.yaml");
        await File.WriteAllTextAsync(path, PortsLeftAlone(ns, alpha: "[swpa1, swpa2, swpa3]", bravo: "[swpb1]", charlie: "[swpc1]"));
        var policy = PolicyProvider.TryOpen(path, out var errors);
        Assert.Empty(errors);
        var released = new TaskCompletionSource<(SuspensionRecord Record, PortRelease Release, IReadOnlyDictionary<string, string> Owners)>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var engine = Engine(policy!, observer: new Releases(released));
        var alpha = await (await engine.TripAsync(new TripRequest { Scope = "alpha", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "drill" }, CancellationToken.None)).Completion;
        Assert.True(alpha.Ports!.Verified);
        var charlie = await (await engine.TripAsync(new TripRequest { Scope = "charlie", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "drill" }, CancellationToken.None)).Completion;
        Assert.Null(charlie.Ports);
        Assert.True(await ns.IsUpAsync("swpc1"));
        foreach (var port in (string[])["swpa1", "swpa2", "swpa3"])
        {
            Assert.False(await ns.IsUpAsync(port));
        }

        // swpa2 goes to bravo (not suspended), swpa3 to charlie (suspended): neither has its ports shut by the controller.
        await File.WriteAllTextAsync(path, PortsLeftAlone(ns, alpha: "[swpa1]", bravo: "[swpb1, swpa2]", charlie: "[swpc1, swpa3]"));
        Assert.Empty(policy!.Reload());

        var (record, release, owners) = await released.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal("alpha", record.Scope);
        Assert.Equal("alpha", release.From);
        Assert.Equal(["lab-sw:swpa2", "lab-sw:swpa3"], release.BroughtUp);
        Assert.Equal(new Dictionary<string, string> { ["lab-sw:swpa2"] = "bravo", ["lab-sw:swpa3"] = "charlie" }, owners);
        Assert.Empty(release.LeftShut);
        Assert.True(release.Verified);
        Assert.Empty(release.Failures);
        Assert.True(await ns.IsUpAsync("swpa2"));
        Assert.True(await ns.IsUpAsync("swpa3"));
        Assert.False(await ns.IsUpAsync("swpa1"));
        Assert.True(await ns.IsUpAsync("swpb1"));
        Assert.True(await ns.IsUpAsync("swpc1"));
        Assert.True(engine.IsSuspended("charlie"));
        var onDisk = new FileSuspensionStateStore(Path.Combine(_dir, "suspension.state")).Load().State!;
        Assert.Equal(["lab-sw:swpa2", "lab-sw:swpa3"], Assert.Single(onDisk.Suspensions["alpha"].Releases).BroughtUp);
        Assert.Empty(onDisk.Suspensions["charlie"].Reassertions);
    }

    [Fact]
    public async Task ReloadTurnsShutPortsOffForASuspendedClient_ItsPortsBroughtUpOverSnmpAndReadBackUp_StillSuspended_OnRecord()
    {
        await using var ns = await SwitchNamespace.CreateAsync("swpa1", "swpb1");
        var path = Path.Combine(_dir, "site.yaml");
        await File.WriteAllTextAsync(path, PolicyFile(ns, alpha: "[swpa1]"));
        var policy = PolicyProvider.TryOpen(path, out var errors);
        Assert.Empty(errors);
        var released = new TaskCompletionSource<(SuspensionRecord Record, PortRelease Release, IReadOnlyDictionary<string, string> Owners)>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var engine = Engine(policy!, observer: new Releases(released));
        var enforced = await (await engine.TripAsync(new TripRequest { Scope = "alpha", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "drill" }, CancellationToken.None)).Completion;
        Assert.True(enforced.Ports!.Verified);
        Assert.False(await ns.IsUpAsync("swpa1"));

        await File.WriteAllTextAsync(path, PolicyFile(ns, alpha: "[swpa1]", alphaKill: "kill: {shut_ports: false}, "));
        Assert.Empty(policy!.Reload());

        var (record, release, owners) = await released.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal("alpha", record.Scope);
        Assert.Equal(["lab-sw:swpa1"], release.BroughtUp);
        Assert.Equal(new Dictionary<string, string> { ["lab-sw:swpa1"] = "alpha" }, owners);
        Assert.True(release.Verified);
        Assert.True(await ns.IsUpAsync("swpa1"));
        Assert.True(engine.IsSuspended("alpha"));
    }

    /// <summary>
    /// An engine keeping its state in this test's directory, shutting ports over SNMP (the real shutter, or
    /// <paramref name="shutter"/>), with no enforcer of its own.
    /// </summary>
    private SuspensionEngine Engine(IPolicyProvider policy, ISuspensionObserver? observer = null, IPortShutter? shutter = null, ISuspensionNotifier? notifier = null) =>
        new(
            new FileSuspensionStateStore(Path.Combine(_dir, "suspension.state")),
            policy,
            [],
            [shutter ?? new SnmpPortShutter(policy, TimeProvider.System)],
            notifier is null ? [] : [notifier],
            observer is null ? [] : [observer],
            TimeProvider.System);

    private string ThreeClients(SwitchNamespace ns, string alpha, string bravo, string charlie) =>
        SiteYaml(ns, "2s", 1, $$$"""
              - {id: alpha, name: Alpha, contract_end: 2030-01-01, segments: [{name: s, vlans: [10], subnets: [10.1.0.0/24], ports: [{switch: lab-sw, ports: {{{alpha}}}}]}]}
              - {id: bravo, name: Bravo, contract_end: 2030-01-01, segments: [{name: s, vlans: [20], subnets: [10.2.0.0/24], ports: [{switch: lab-sw, ports: {{{bravo}}}}]}]}
              - {id: charlie, name: Charlie, contract_end: 2030-01-01, segments: [{name: s, vlans: [30], subnets: [10.3.0.0/24], ports: [{switch: lab-sw, ports: {{{charlie}}}}]}]}
            """);

    private string TwoClients(SwitchNamespace ns, string alpha, string bravo) =>
        SiteYaml(ns, "500ms", 1, $$$"""
              - {id: alpha, name: Alpha, contract_end: 2030-01-01, segments: [{name: s, vlans: [10], subnets: [10.1.0.0/24], ports: [{switch: lab-sw, ports: {{{alpha}}}}]}]}
              - {id: bravo, name: Bravo, contract_end: 2030-01-01, segments: [{name: s, vlans: [20], subnets: [10.2.0.0/24], ports: [{switch: lab-sw, ports: {{{bravo}}}}]}]}
            """);

    /// <summary>Alpha with its ports shut at a suspension; bravo and charlie with theirs left alone (kill.shut_ports off).</summary>
    private string PortsLeftAlone(SwitchNamespace ns, string alpha, string bravo, string charlie) =>
        SiteYaml(ns, "2s", 1, $$$"""
              - {id: alpha, name: Alpha, contract_end: 2030-01-01, segments: [{name: s, vlans: [10], subnets: [10.1.0.0/24], ports: [{switch: lab-sw, ports: {{{alpha}}}}]}]}
              - {id: bravo, name: Bravo, contract_end: 2030-01-01, kill: {shut_ports: false}, segments: [{name: s, vlans: [20], subnets: [10.2.0.0/24], ports: [{switch: lab-sw, ports: {{{bravo}}}}]}]}
              - {id: charlie, name: Charlie, contract_end: 2030-01-01, kill: {shut_ports: false}, segments: [{name: s, vlans: [30], subnets: [10.3.0.0/24], ports: [{switch: lab-sw, ports: {{{charlie}}}}]}]}
            """);

    private static SwitchDefinition V3Switch(string name, SwitchNamespace ns, TimeSpan timeout) => new()
    {
        Name = name,
        Address = ns.AgentAddress,
        Port = ns.Agent.Port,
        Snmp = new SnmpSettings
        {
            Version = SnmpVersion.V3,
            User = "sha256",
            AuthProtocol = SnmpAuthProtocol.Sha256,
            AuthPassphrase = TestPolicies.Secret(SnmpdAgent.AuthPass),
            PrivProtocol = SnmpPrivProtocol.Aes128,
            PrivPassphrase = TestPolicies.Secret(SnmpdAgent.PrivPass),
        },
        Timeout = timeout,
        Retries = 1,
    };

    private string PolicyFile(SwitchNamespace ns, string alpha, string alphaKill = "") =>
        SiteYaml(ns, "500ms", 1, $$$"""
              - {id: alpha, name: Alpha, contract_end: 2030-01-01, {{{alphaKill}}}segments: [{name: s, vlans: [10], subnets: [10.1.0.0/24], ports: [{switch: lab-sw, ports: {{{alpha}}}}]}]}
              - {id: bravo, name: Bravo, contract_end: 2030-01-01, segments: [{name: s, vlans: [20], subnets: [10.2.0.0/24], ports: [{switch: lab-sw, ports: [swpb1]}]}]}
            """);

    /// <summary>A site of one SNMPv3 switch (the namespace's snmpd) and the given client lines.</summary>
    private string SiteYaml(SwitchNamespace ns, string timeout, int retries, string clients)
    {
        var auth = Path.Combine(_dir, "auth");
        var priv = Path.Combine(_dir, "priv");
        File.WriteAllText(auth, SnmpdAgent.AuthPass);
        File.WriteAllText(priv, SnmpdAgent.PrivPass);
        return $$$"""
            site: {id: s, name: S}
            restore: {approvers: 1}
            switches:
              - name: lab-sw
                address: {{{ns.AgentAddress}}}
                port: {{{ns.Agent.Port}}}
                snmp:
                  version: v3
                  user: sha256
                  auth: {protocol: SHA-256, pass: {file: {{{auth}}}}}
                  priv: {protocol: AES, pass: {file: {{{priv}}}}}
                timeout: {{{timeout}}}
                retries: {{{retries}}}
            clients:

            """ + clients;
    }

    /// <summary>
    /// The SNMP shutter, watched: once armed, the next shut of a client is handed out as a task that ends
    /// when the shut returns.
    /// </summary>
    private sealed class WatchedShutter(IPortShutter inner) : IPortShutter
    {
        private readonly Lock _gate = new();
        private (string Client, TaskCompletionSource<Task> Started)? _armed;

        /// <summary>Arms the watch now: the shut of <paramref name="clientId"/> that starts next is the one returned (it ends when that shut returns).</summary>
        public async Task<Task> NextShutAfterArmingAsync(string clientId)
        {
            var started = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                _armed = (clientId, started);
            }

            return await started.Task.WaitAsync(TimeSpan.FromSeconds(120));
        }

        public ValueTask<Core.Suspension.PortActionResult> ShutAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken)
        {
            // Taken before the shut starts: the one handed out started after the watch was armed.
            TaskCompletionSource<Task>? watched = null;
            lock (_gate)
            {
                if (_armed is { } armed && armed.Client == clientId)
                {
                    _armed = null;
                    watched = armed.Started;
                }
            }

            var shut = inner.ShutAsync(clientId, ports, cancellationToken).AsTask();
            watched?.TrySetResult(shut);
            return new ValueTask<Core.Suspension.PortActionResult>(shut);
        }

        public ValueTask<Core.Suspension.PortActionResult> BringUpAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken) =>
            inner.BringUpAsync(clientId, ports, cancellationToken);

        public ValueTask<Core.Suspension.PortActionResult> ReleaseAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken) =>
            inner.ReleaseAsync(clientId, ports, cancellationToken);
    }

    /// <summary>Webhooks whose receiver answers (a trip of <paramref name="scope"/>, or of any scope when null) only when the test says so.</summary>
    private sealed class HeldWebhooks(string? scope = null) : ISuspensionNotifier
    {
        public TaskCompletionSource Called { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask TrippedAsync(SuspensionRecord record, CancellationToken cancellationToken)
        {
            if (scope is not null && record.Scope != scope)
            {
                return;
            }

            Called.TrySetResult();
            await Release.Task.WaitAsync(cancellationToken);
        }

        public ValueTask RestoredAsync(RestoreRecord record, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    /// <summary>The records the engine hands the store's recorder, in the order it hands them.</summary>
    private sealed class RecordOrder : ISuspensionObserver
    {
        private readonly Lock _gate = new();
        private readonly List<string> _events = [];

        public TaskCompletionSource Reasserted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string[] Events
        {
            get
            {
                lock (_gate)
                {
                    return [.. _events];
                }
            }
        }

        public void Enforced(SuspensionRecord record) => Add("enforced");

        public void PortsReasserted(SuspensionRecord record, PortReassertion reassertion)
        {
            Add($"ports-reasserted:{SuspensionNames.Of(reassertion.Cause)}");
            Reasserted.TrySetResult();
        }

        public void Tripped(SuspensionRecord record)
        {
        }

        public void StageCompleted(SuspensionRecord record, StageTiming timing)
        {
        }

        public void Restored(RestoreRecord record)
        {
        }

        public void StateUnreadable(string message)
        {
        }

        private void Add(string name)
        {
            lock (_gate)
            {
                _events.Add(name);
            }
        }
    }

    /// <summary>The trips' enforced records and the port records the engine hands the store's recorder (each with its scope), in the order it hands them.</summary>
    private sealed class PortWorkOrder : ISuspensionObserver
    {
        private readonly Lock _gate = new();
        private readonly List<string> _events = [];
        private readonly List<(string Name, TaskCompletionSource Seen)> _waiting = [];

        public string[] Events
        {
            get
            {
                lock (_gate)
                {
                    return [.. _events];
                }
            }
        }

        /// <summary>Waits (at most a minute) until the engine has reported <paramref name="name"/>.</summary>
        public Task WaitForAsync(string name)
        {
            var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                if (_events.Contains(name))
                {
                    return Task.CompletedTask;
                }

                _waiting.Add((name, seen));
            }

            return seen.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }

        public void Enforced(SuspensionRecord record) => Add($"enforced:{record.Scope}");

        public void PortsReasserted(SuspensionRecord record, PortReassertion reassertion) => Add($"ports-reasserted:{SuspensionNames.Of(reassertion.Cause)}:{record.Scope}");

        public void PortsReleased(SuspensionRecord record, PortRelease release, IReadOnlyDictionary<string, string> owners) => Add($"ports-released:{record.Scope}");

        public void Tripped(SuspensionRecord record)
        {
        }

        public void StageCompleted(SuspensionRecord record, StageTiming timing)
        {
        }

        public void Restored(RestoreRecord record)
        {
        }

        public void StateUnreadable(string message)
        {
        }

        private void Add(string name)
        {
            TaskCompletionSource[] seen;
            lock (_gate)
            {
                _events.Add(name);
                seen = [.. _waiting.Where(w => w.Name == name).Select(w => w.Seen)];
                _waiting.RemoveAll(w => w.Name == name);
            }

            foreach (var waiter in seen)
            {
                waiter.TrySetResult();
            }
        }
    }

    private sealed class Releases(TaskCompletionSource<(SuspensionRecord Record, PortRelease Release, IReadOnlyDictionary<string, string> Owners)> released) : ISuspensionObserver
    {
        public void PortsReleased(SuspensionRecord record, PortRelease release, IReadOnlyDictionary<string, string> owners) => released.TrySetResult((record, release, owners));

        public void Tripped(SuspensionRecord record)
        {
        }

        public void StageCompleted(SuspensionRecord record, StageTiming timing)
        {
        }

        public void Restored(RestoreRecord record)
        {
        }

        public void StateUnreadable(string message)
        {
        }
    }

    private sealed class PortEvents : ISuspensionObserver
    {
        public Channel<PortReassertion> Reasserted { get; } = Channel.CreateUnbounded<PortReassertion>();

        public Channel<PortReassertion> RetryFailed { get; } = Channel.CreateUnbounded<PortReassertion>();

        public Channel<(PortReassertion Attempt, TimeSpan RetryIn)> RetryFailedWithDelay { get; } = Channel.CreateUnbounded<(PortReassertion, TimeSpan)>();

        public void PortsReasserted(SuspensionRecord record, PortReassertion reassertion) => Reasserted.Writer.TryWrite(reassertion);

        public void PortRetryFailed(SuspensionRecord record, PortReassertion attempt, TimeSpan retryIn)
        {
            RetryFailed.Writer.TryWrite(attempt);
            RetryFailedWithDelay.Writer.TryWrite((attempt, retryIn));
        }

        public void Tripped(SuspensionRecord record)
        {
        }

        public void StageCompleted(SuspensionRecord record, StageTiming timing)
        {
        }

        public void Restored(RestoreRecord record)
        {
        }

        public void StateUnreadable(string message)
        {
        }
    }

    private sealed class Restores : ISuspensionObserver
    {
        public List<RestoreRecord> Restored { get; } = [];

        public TaskCompletionSource<PortReassertion> Reasserted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void PortsReasserted(SuspensionRecord record, PortReassertion reassertion) => Reasserted.TrySetResult(reassertion);

        public void Tripped(SuspensionRecord record)
        {
        }

        public void StageCompleted(SuspensionRecord record, StageTiming timing)
        {
        }

        void ISuspensionObserver.Restored(RestoreRecord record) => Restored.Add(record);

        public void StateUnreadable(string message)
        {
        }
    }
}
