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
        try
        {
            await Task.WhenAll(sim, snmpd);
        }
        catch
        {
            // One that came up is stopped when the other did not: nothing is left behind.
            foreach (var started in new IAsyncDisposable?[] { sim.IsCompletedSuccessfully ? sim.Result : null, snmpd.IsCompletedSuccessfully ? snmpd.Result : null })
            {
                if (started is not null)
                {
                    await started.DisposeAsync();
                }
            }

            System.IO.Directory.Delete(Directory, recursive: true);
            throw;
        }

        Sim = sim.Result;
        Snmpd = snmpd.Result;
    }

    public async Task DisposeAsync()
    {
        await Sim.DisposeAsync();
        await Snmpd.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
