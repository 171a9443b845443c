using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Core.Tests.Policy;

namespace SegmentController.Core.Tests.Suspension;

public sealed class SuspendedClientReloadTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task ReloadDroppingASuspendedClient_Refused_PolicyInForceStays_AcceptedOnceItIsRestored()
    {
        var path = _dir.File("site.yaml");
        var original = PolicyLoaderTests.WithClientSubnets("10.1.0.0/24", "10.2.0.0/24");
        await File.WriteAllTextAsync(path, original);
        var provider = PolicyProvider.TryOpen(path, out var errors);
        Assert.Empty(errors);
        using var engine = new SuspensionEngine(new FileSuspensionStateStore(_dir.File("suspension.state")), provider!, [], [], [], [], TimeProvider.System);
        await engine.TripAsync(new TripRequest { Scope = "one", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "leak" }, CancellationToken.None);

        // The same subnets under a new id: applied, the agents would pass as a client nothing suspends.
        await File.WriteAllTextAsync(path, original.Replace("{id: one, name: One", "{id: uno, name: Uno", StringComparison.Ordinal));
        var refused = provider!.Reload();

        var error = Assert.Single(refused);
        Assert.Contains("client 'one' is suspended and this policy no longer has it", error, StringComparison.Ordinal);
        Assert.NotNull(provider.Current.FindClient("one"));
        Assert.Null(provider.Current.FindClient("uno"));

        await engine.RequestRestoreAsync("one", "alice", "fixed", CancellationToken.None);
        Assert.Equal(RestoreStatus.Restored, (await engine.ApproveRestoreAsync("one", "bob", CancellationToken.None)).Status);
        Assert.Empty(provider.Reload());
        Assert.NotNull(provider.Current.FindClient("uno"));
    }

    [Fact]
    public async Task RestartWithAPolicyThatDropsASuspendedClient_EveryClientSuspended_NamingIt()
    {
        var path = _dir.File("site.yaml");
        var original = PolicyLoaderTests.WithClientSubnets("10.1.0.0/24", "10.2.0.0/24");
        await File.WriteAllTextAsync(path, original);
        using (var engine = new SuspensionEngine(new FileSuspensionStateStore(_dir.File("suspension.state")), PolicyProvider.TryOpen(path, out _)!, [], [], [], [], TimeProvider.System))
        {
            await engine.TripAsync(new TripRequest { Scope = "one", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "leak" }, CancellationToken.None);
        }

        // Edited while the controller was down: the same subnets under a new id.
        await File.WriteAllTextAsync(path, original.Replace("{id: one, name: One", "{id: uno, name: Uno", StringComparison.Ordinal));
        using var restarted = new SuspensionEngine(new FileSuspensionStateStore(_dir.File("suspension.state")), PolicyProvider.TryOpen(path, out _)!, [], [], [], [], TimeProvider.System);

        Assert.True(restarted.IsSuspended("uno"));
        Assert.True(restarted.IsSuspended("two"));
        var site = restarted.Current.Suspensions[SuspensionNames.AllClients];
        Assert.Equal(SuspensionTrigger.StateUnreadable, site.Trigger);
        Assert.Contains("suspended client(s) one not in the policy", site.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReloadGivingASuspendedClientNewPorts_OnlyTheNewOnesShutAndRecorded_OtherClientUntouched()
    {
        var path = _dir.File("site.yaml");
        await File.WriteAllTextAsync(path, WithPorts(one: "[Gi1/0/1]", two: "[Gi1/0/9]"));
        var provider = PolicyProvider.TryOpen(path, out var errors)!;
        Assert.Empty(errors);
        var switchPorts = new PortTableShutter();
        var observer = new ReassertionObserver();
        using var engine = new SuspensionEngine(new FileSuspensionStateStore(_dir.File("suspension.state")), provider, [], [switchPorts], [], [observer], TimeProvider.System);
        await (await engine.TripAsync(new TripRequest { Scope = "one", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "leak" }, CancellationToken.None)).Completion;
        Assert.Equal(1, switchPorts.ShutCalls);

        // Someone at the switch brings Gi1/0/1 up: the reload must not touch ports the trip already shut.
        switchPorts.Up["sw:Gi1/0/1"] = true;
        await File.WriteAllTextAsync(path, WithPorts(one: "[Gi1/0/1-3]", two: "[Gi1/0/9-10]"));
        Assert.Empty(provider.Reload());

        var reassertion = await observer.Next.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(PortReassertionCause.PolicyReload, reassertion.Cause);
        Assert.True(reassertion.Verified);
        Assert.Equal(["one"], reassertion.Clients);
        Assert.Equal(["sw:Gi1/0/2", "sw:Gi1/0/3"], reassertion.Ports);
        Assert.False(switchPorts.Up["sw:Gi1/0/2"]);
        Assert.False(switchPorts.Up["sw:Gi1/0/3"]);
        Assert.True(switchPorts.Up["sw:Gi1/0/1"]);
        Assert.False(switchPorts.Up.ContainsKey("sw:Gi1/0/10"));

        var onDisk = new FileSuspensionStateStore(_dir.File("suspension.state")).Load().State!.Suspensions["one"];
        Assert.Equal(PortReassertionCause.PolicyReload, Assert.Single(onDisk.Reassertions).Cause);
        Assert.Equal(["sw:Gi1/0/2", "sw:Gi1/0/3"], onDisk.Reassertions[0].Ports);
    }

    [Fact]
    public async Task ReloadGivingASuspendedClientNewPorts_SwitchUnreachableThen_TheNewPortsRetriedUntilShut()
    {
        var path = _dir.File("site.yaml");
        await File.WriteAllTextAsync(path, WithPorts(one: "[Gi1/0/1]", two: "[Gi1/0/9]"));
        var provider = PolicyProvider.TryOpen(path, out var errors)!;
        Assert.Empty(errors);
        var switchPorts = new PortTableShutter();
        var events = new PortEvents();
        using var engine = new SuspensionEngine(new FileSuspensionStateStore(_dir.File("suspension.state")), provider, [], [switchPorts], [], [events], TimeProvider.System);
        await (await engine.TripAsync(new TripRequest { Scope = "one", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "leak" }, CancellationToken.None)).Completion;

        // The switch does not answer the reload's shut; it does answer the retry.
        Interlocked.Exchange(ref switchPorts.UnreachableShuts, 1);
        await File.WriteAllTextAsync(path, WithPorts(one: "[Gi1/0/1-3]", two: "[Gi1/0/9]"));
        Assert.Empty(provider.Reload());

        var (_, reload) = await events.NextReassertionAsync();
        Assert.Equal(PortReassertionCause.PolicyReload, reload.Cause);
        Assert.False(reload.Verified);
        var (_, retried) = await events.NextReassertionAsync();

        Assert.Equal(PortReassertionCause.Retry, retried.Cause);
        Assert.True(retried.Verified);
        Assert.Equal(["sw:Gi1/0/2", "sw:Gi1/0/3"], retried.Ports);
        Assert.False(switchPorts.Up["sw:Gi1/0/2"]);
        Assert.False(switchPorts.Up["sw:Gi1/0/3"]);
        var onDisk = new FileSuspensionStateStore(_dir.File("suspension.state")).Load().State!.Suspensions["one"];
        Assert.Equal([PortReassertionCause.PolicyReload, PortReassertionCause.Retry], onDisk.Reassertions.Select(r => r.Cause));
    }

    [Fact]
    public async Task ReloadUnderASiteWideSuspension_NewClientAndSwitchMovedToANewAddress_TheirPortsShut()
    {
        var path = _dir.File("site.yaml");
        await File.WriteAllTextAsync(path, WithPorts(one: "[Gi1/0/1]", two: "[Gi1/0/9]"));
        var provider = PolicyProvider.TryOpen(path, out _)!;
        var switchPorts = new PortTableShutter();
        var observer = new ReassertionObserver();
        using var engine = new SuspensionEngine(new FileSuspensionStateStore(_dir.File("suspension.state")), provider, [], [switchPorts], [], [observer], TimeProvider.System);
        await (await engine.TripAsync(new TripRequest { Scope = SuspensionNames.AllClients, Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "site incident" }, CancellationToken.None)).Completion;

        // The switch replaced at a new address (its ports there were never shut) and a third client added.
        var moved = WithPorts(one: "[Gi1/0/1]", two: "[Gi1/0/9]").Replace("address: 10.0.0.2", "address: 10.0.0.3", StringComparison.Ordinal)
            + "\n  - {id: three, name: Three, contract_end: 2030-01-01, segments: [{name: s, vlans: [103], subnets: [10.3.0.0/24], ports: [{switch: sw, ports: [Gi1/0/20]}]}]}\n";
        await File.WriteAllTextAsync(path, moved);
        Assert.Empty(provider.Reload());

        var reassertion = await observer.Next.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(PortReassertionCause.PolicyReload, reassertion.Cause);
        Assert.Equal(["one", "two", "three"], reassertion.Clients);
        Assert.Equal(["sw:Gi1/0/1", "sw:Gi1/0/9", "sw:Gi1/0/20"], reassertion.Ports);
        Assert.False(switchPorts.Up["sw:Gi1/0/20"]);
    }

    [Fact]
    public async Task ReloadThatAddsNoPortToASuspendedClient_NoPortTouched()
    {
        var path = _dir.File("site.yaml");
        await File.WriteAllTextAsync(path, WithPorts(one: "[Gi1/0/1-2]", two: "[Gi1/0/9]"));
        var provider = PolicyProvider.TryOpen(path, out _)!;
        var switchPorts = new PortTableShutter();
        var observer = new ReassertionObserver();
        using var engine = new SuspensionEngine(new FileSuspensionStateStore(_dir.File("suspension.state")), provider, [], [switchPorts], [], [observer], TimeProvider.System);
        await (await engine.TripAsync(new TripRequest { Scope = "one", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "leak" }, CancellationToken.None)).Completion;

        // One port fewer for the suspended client, one more for the other: nothing of the suspension's to shut.
        await File.WriteAllTextAsync(path, WithPorts(one: "[Gi1/0/1]", two: "[Gi1/0/9-10]"));
        Assert.Empty(provider.Reload());

        // Then one that does add a port. Reloads' port work runs in their order: had the first shut anything,
        // its reassertion would be the first one heard.
        await File.WriteAllTextAsync(path, WithPorts(one: "[Gi1/0/1, Gi1/0/3]", two: "[Gi1/0/9-10]"));
        Assert.Empty(provider.Reload());
        var first = await observer.Next.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(["sw:Gi1/0/3"], first.Ports);
        Assert.Equal(2, switchPorts.ShutCalls);
        Assert.False(switchPorts.Up["sw:Gi1/0/2"]);
        Assert.False(switchPorts.Up.ContainsKey("sw:Gi1/0/10"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ReloadGivesASuspendedClientsPortToAnother_BringUpFailsNamingTheOwner_ReleaseOnRecordNamesThePortNotTheOwner(bool throws)
    {
        var path = _dir.File("site.yaml");
        await File.WriteAllTextAsync(path, WithPorts(one: "[Gi1/0/1, Gi1/0/2]", two: "[Gi1/0/9]"));
        var provider = PolicyProvider.TryOpen(path, out var errors)!;
        Assert.Empty(errors);
        var switchPorts = new OwnerNamingShutter(throws);
        var observer = new ReleaseObserver();
        using var engine = new SuspensionEngine(new FileSuspensionStateStore(_dir.File("suspension.state")), provider, [], [switchPorts], [], [observer], TimeProvider.System);
        await (await engine.TripAsync(new TripRequest { Scope = "one", Trigger = SuspensionTrigger.Operator, Actor = "alice", Reason = "leak" }, CancellationToken.None)).Completion;

        await File.WriteAllTextAsync(path, WithPorts(one: "[Gi1/0/1]", two: "[Gi1/0/9, Gi1/0/2]"));
        Assert.Empty(provider.Reload());

        var (release, owners) = await observer.Next.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("two", Assert.Single(switchPorts.Released));
        Assert.Equal(["sw:Gi1/0/2"], release.BroughtUp);
        Assert.Equal(new Dictionary<string, string>(StringComparer.Ordinal) { ["sw:Gi1/0/2"] = "two" }, owners);
        Assert.False(release.Verified);
        Assert.Equal([throws ? "sw:Gi1/0/2: the policy has no client 'another client'" : "sw:Gi1/0/2: refused: Gi1/0/2 is not a port of client another client"], release.Failures);
        var onDisk = Assert.Single(new FileSuspensionStateStore(_dir.File("suspension.state")).Load().State!.Suspensions["one"].Releases);
        Assert.Equal(release.BroughtUp, onDisk.BroughtUp);
        Assert.Equal(release.Failures, onDisk.Failures);
    }

    private static string WithPorts(string one, string two) =>
        PolicyLoaderTests.WithClientSubnets("10.1.0.0/24", "10.2.0.0/24")
            .Replace("subnets: [10.1.0.0/24]}", $"subnets: [10.1.0.0/24], ports: [{{switch: sw, ports: {one}}}]}}", StringComparison.Ordinal)
            .Replace("subnets: [10.2.0.0/24]}", $"subnets: [10.2.0.0/24], ports: [{{switch: sw, ports: {two}}}]}}", StringComparison.Ordinal);

    /// <summary>Shuts as asked; a release fails with a reason that names the client the port was given to, as a switch layer may.</summary>
    private sealed class OwnerNamingShutter(bool throws) : IPortShutter
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> Released { get; } = new();

        public ValueTask<PortActionResult> ShutAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken) =>
            ValueTask.FromResult(new PortActionResult { Verified = true });

        public ValueTask<PortActionResult> BringUpAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken) =>
            ValueTask.FromResult(new PortActionResult { Verified = true });

        public ValueTask<PortActionResult> ReleaseAsync(string clientId, IReadOnlyList<PortAssignment> ports, CancellationToken cancellationToken)
        {
            Released.Enqueue(clientId);
            return throws
                ? throw new InvalidOperationException($"the policy has no client '{clientId}'")
                : ValueTask.FromResult(new PortActionResult
                {
                    Verified = false,
                    Failures = [.. ports.SelectMany(p => p.Ports.Select(n => $"{p.Switch}:{n}: refused: {n} is not a port of client {clientId}"))],
                });
        }
    }

    private sealed class ReleaseObserver : ISuspensionObserver
    {
        public TaskCompletionSource<(PortRelease Release, IReadOnlyDictionary<string, string> Owners)> Next { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void PortsReleased(SuspensionRecord record, PortRelease release, IReadOnlyDictionary<string, string> owners) => Next.TrySetResult((release, owners));

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

    private sealed class ReassertionObserver : ISuspensionObserver
    {
        public TaskCompletionSource<PortReassertion> Next { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void PortsReasserted(SuspensionRecord record, PortReassertion reassertion) => Next.TrySetResult(reassertion);

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
}
