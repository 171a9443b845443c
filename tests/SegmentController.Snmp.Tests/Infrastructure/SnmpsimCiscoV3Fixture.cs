namespace SegmentController.Snmp.Tests.Infrastructure;

/// <summary>snmpsimd serving the Cisco switch over SNMPv3 with per-VLAN contexts (<see cref="SnmpsimAgent.StartCiscoV3Async"/>).</summary>
public sealed class SnmpsimCiscoV3Fixture : IAsyncLifetime
{
    internal SnmpsimAgent Agent { get; private set; } = null!;

    public async Task InitializeAsync() => Agent = await SnmpsimAgent.StartCiscoV3Async();

    public async Task DisposeAsync() => await Agent.DisposeAsync();
}
