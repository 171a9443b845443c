using SegmentController.Snmp.Tests.Infrastructure;

namespace SegmentController.Tests.Cli;

/// <summary>snmpsimd (the authored switches) and snmpd, started once for the snmp CLI tests.</summary>
public sealed class SnmpCliAgents : IAsyncLifetime
{
    internal SnmpsimAgent Sim { get; private set; } = null!;

    internal SnmpdAgent Snmpd { get; private set; } = null!;

    internal string Directory { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("segctl-snmp-cli-").FullName;
        var sim = SnmpsimAgent.StartAsync();
        var snmpd = SnmpdAgent.StartAsync();
        Sim = await sim;
        Snmpd = await snmpd;
    }

    public async Task DisposeAsync()
    {
        await Sim.DisposeAsync();
        await Snmpd.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
