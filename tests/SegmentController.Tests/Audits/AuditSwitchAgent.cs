using SegmentController.Snmp.Tests.Infrastructure;

namespace SegmentController.Tests.Audits;

/// <summary>snmpsimd serving the authored Q-BRIDGE switch (<c>Data/qbridge.snmprec</c>), started once per test class.</summary>
public sealed class AuditSwitchAgent : IAsyncLifetime
{
    internal SnmpsimAgent Sim { get; private set; } = null!;

    public async Task InitializeAsync() => Sim = await SnmpsimAgent.StartAsync();

    public async Task DisposeAsync() => await Sim.DisposeAsync();
}
