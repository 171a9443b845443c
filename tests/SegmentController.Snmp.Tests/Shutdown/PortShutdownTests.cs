using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Snmp.Shutdown;
using SegmentController.Snmp.Tests.Infrastructure;

namespace SegmentController.Snmp.Tests.Shutdown;

public sealed class PortShutdownTests
{
    private static SitePolicy Policy(SwitchNamespace ns, KillActions? kill = null)
    {
        var lab = new SwitchDefinition
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
        };
        var alpha = TestPolicies.Client("alpha", 10, new PortAssignment { Switch = "lab-sw", Ports = ["swpa1", "swpa2", "swup"] }) with
        {
            Kill = kill ?? new KillActions(),
        };
        var bravo = TestPolicies.Client("bravo", 20, new PortAssignment { Switch = "lab-sw", Ports = ["swpb1", "swpa2"] });
        return TestPolicies.Site(lab) with
        {
            Clients = [alpha, bravo],
            Infrastructure = new InfrastructureSettings { TrunkPorts = [new PortAssignment { Switch = "lab-sw", Ports = ["swup"] }] },
        };
    }

    [Fact]
    public async Task Shut_ClientPort_LinkGoesDownAndRestoreBringsItUp()
    {
        await using var ns = await SwitchNamespace.CreateAsync("swpa1", "swpa2", "swpb1", "swup");
        var policy = Policy(ns);
        var shutdown = new PortShutdown(TimeProvider.System);

        var shut = await shutdown.ShutAsync(policy, "alpha", CancellationToken.None);

        var own = Assert.Single(shut, r => r.Port == "swpa1");
        Assert.Equal(PortActionOutcome.Done, own.Outcome);
        Assert.NotNull(own.IfIndex);
        Assert.True(own.Elapsed > TimeSpan.Zero);
        Assert.False(await ns.IsUpAsync("swpa1"));

        var shared = Assert.Single(shut, r => r.Port == "swpa2");
        Assert.Equal(PortActionOutcome.Refused, shared.Outcome);
        Assert.Contains("shared with another client", shared.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("bravo", shared.Detail, StringComparison.Ordinal);
        Assert.True(await ns.IsUpAsync("swpa2"));

        var uplink = Assert.Single(shut, r => r.Port == "swup");
        Assert.Equal(PortActionOutcome.Refused, uplink.Outcome);
        Assert.Contains("trunk", uplink.Detail, StringComparison.Ordinal);
        Assert.True(await ns.IsUpAsync("swup"));
        Assert.True(await ns.IsUpAsync("swpb1"));

        var restore = await shutdown.RestoreAsync(policy, "alpha", CancellationToken.None);
        Assert.Equal(PortActionOutcome.Done, Assert.Single(restore, r => r.Port == "swpa1").Outcome);
        Assert.True(await ns.IsUpAsync("swpa1"));
    }

    [Fact]
    public async Task Shut_UplinkNamedInForceShutPorts_IsShut()
    {
        await using var ns = await SwitchNamespace.CreateAsync("swpa1", "swpa2", "swpb1", "swup");
        var policy = Policy(ns, new KillActions { ForceShutPorts = [new PortAssignment { Switch = "lab-sw", Ports = ["swup"] }] });
        var shut = await new PortShutdown(TimeProvider.System).ShutAsync(policy, "alpha", CancellationToken.None);
        Assert.Equal(PortActionOutcome.Done, Assert.Single(shut, r => r.Port == "swup").Outcome);
        Assert.False(await ns.IsUpAsync("swup"));
    }

    [Fact]
    public async Task Shut_PolicyTurnsShutdownOff_NothingTouched()
    {
        await using var ns = await SwitchNamespace.CreateAsync("swpa1");
        var policy = Policy(ns, new KillActions { ShutPorts = false });
        var shut = await new PortShutdown(TimeProvider.System).ShutAsync(policy, "alpha", CancellationToken.None);
        Assert.All(shut, r => Assert.Equal(PortActionOutcome.Refused, r.Outcome));
        Assert.True(await ns.IsUpAsync("swpa1"));
    }

    [Fact]
    public async Task SuspensionPortShutter_ShutsAndReportsRefusalsAsFailures()
    {
        await using var ns = await SwitchNamespace.CreateAsync("swpa1", "swpa2", "swpb1", "swup");
        var policy = Policy(ns);
        var shutter = new SnmpPortShutter(new PolicyProvider("inline", policy), TimeProvider.System);
        var alpha = policy.FindClient("alpha")!;
        var shut = await shutter.ShutAsync("alpha", alpha.Segments.SelectMany(s => s.Ports).ToArray(), CancellationToken.None);
        Assert.False(shut.Verified);
        Assert.Contains(shut.Failures, f => f.StartsWith("lab-sw:swup: refused", StringComparison.Ordinal));
        Assert.DoesNotContain(shut.Failures, f => f.StartsWith("lab-sw:swpa1", StringComparison.Ordinal));
        Assert.False(await ns.IsUpAsync("swpa1"));

        var up = await shutter.BringUpAsync("alpha", [new PortAssignment { Switch = "lab-sw", Ports = ["swpa1"] }], CancellationToken.None);
        Assert.True(up.Verified, string.Join("; ", up.Failures));
        Assert.True(await ns.IsUpAsync("swpa1"));
    }

    [Fact]
    public async Task Release_ClientWithShutPortsOff_AskedPortBroughtUpAndReadBack_PortNotTheClientsRefusedAndLeftAlone()
    {
        await using var ns = await SwitchNamespace.CreateAsync("swpa1", "swpa2", "swpb1", "swup");
        var shutdown = new PortShutdown(TimeProvider.System);
        Assert.Contains(await shutdown.ShutAsync(Policy(ns), "alpha", CancellationToken.None), r => r.Port == "swpa1" && r.Outcome == PortActionOutcome.Done);
        Assert.Contains(await shutdown.ShutAsync(Policy(ns), "bravo", CancellationToken.None), r => r.Port == "swpb1" && r.Outcome == PortActionOutcome.Done);
        var policy = Policy(ns, new KillActions { ShutPorts = false });
        var shutter = new SnmpPortShutter(new PolicyProvider("inline", policy), TimeProvider.System);

        var released = await shutter.ReleaseAsync("alpha", [new PortAssignment { Switch = "lab-sw", Ports = ["swpa1", "swpb1"] }], CancellationToken.None);

        Assert.False(released.Verified);
        Assert.Equal(["lab-sw:swpb1: refused: swpb1 is not, in the policy in force, a port of the client it was released to"], released.Failures);
        Assert.True(await ns.IsUpAsync("swpa1"));
        Assert.False(await ns.IsUpAsync("swpb1"));
        Assert.True((await shutter.ReleaseAsync("alpha", [new PortAssignment { Switch = "lab-sw", Ports = ["SWPA1"] }], CancellationToken.None)).Verified);
    }

    [Fact]
    public async Task SuspensionPortShutter_AskedPortThePolicyInForceDoesNotGiveTheClient_NeverCountedAsShut()
    {
        // The engine asks for the ports of the policy it knew; a reload may since have taken one from the client.
        // No shut was tried on it, so the shut must not read as verified.
        var policy = TestPolicies.Site(TestPolicies.V2cSwitch("qbridge-sw1", FreePort.Udp(), "qbridge", SwitchProfile.QBridge));
        policy = policy with { Clients = [.. policy.Clients.Select(c => c with { Kill = new KillActions { ShutPorts = false } })] };
        var shutter = new SnmpPortShutter(new PolicyProvider("inline", policy), TimeProvider.System);

        var shut = await shutter.ShutAsync("alpha", [new PortAssignment { Switch = "qbridge-sw1", Ports = ["ge-0/0/5"] }], CancellationToken.None);

        Assert.False(shut.Verified);
        Assert.Equal(["qbridge-sw1:ge-0/0/5: failed: ge-0/0/5 is not, in the policy in force, a port of client alpha: nothing was done to it"], shut.Failures);
    }

    [Fact]
    public async Task Shut_PortMissingOnSwitch_FailsWithReason()
    {
        await using var ns = await SwitchNamespace.CreateAsync("swpa1", "swup");
        var shut = await new PortShutdown(TimeProvider.System).ShutAsync(Policy(ns), "alpha", CancellationToken.None);
        var missing = Assert.Single(shut, r => r.Port == "swpa2");
        Assert.Equal(PortActionOutcome.Failed, missing.Outcome);
        Assert.Contains("no port named swpa2", missing.Detail, StringComparison.Ordinal);
    }
}
