namespace SegmentController.Snmp.Tests.Infrastructure;

/// <summary>One snmpsimd per test class.</summary>
public sealed class SnmpsimFixture : IAsyncLifetime
{
    internal SnmpsimAgent Agent { get; private set; } = null!;

    public async Task InitializeAsync() => Agent = await SnmpsimAgent.StartAsync();

    public async Task DisposeAsync() => await Agent.DisposeAsync();
}
