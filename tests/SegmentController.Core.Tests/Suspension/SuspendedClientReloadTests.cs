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
}
