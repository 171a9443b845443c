using System.Text.Json;
using System.Text.RegularExpressions;
using SegmentController.Cli;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Sqlite;
using SegmentController.Tests.Audits;

namespace SegmentController.Tests.Evidence;

/// <summary>
/// Findings of several clients, as <c>segctl run</c> records them (the real SNMP poller against snmpsimd,
/// the real SQLite store), exported for one client by <c>segctl log export --client</c>: each client's
/// auditor reads its own view of the finding, and nothing of the other client.
/// </summary>
public sealed class FindingViewExportTests(AuditSwitchAgent agent) : IClassFixture<AuditSwitchAgent>
{
    [Fact]
    public async Task PortInAnotherClientsVlan_EachClientsExportShowsItsOwnViewOfTheFinding_NothingOfTheOther()
    {
        // alpha is given ge-0/0/4, which the switch has as an access port of bravo's VLAN 20.
        await using var site = await AuditSite.StartAsync(agent.Sim.Port, new AuditSiteOptions { CleanPorts = false });
        await WaitUntilAsync(() => StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.FindingView })
            .Any(r => ClientExportFile.Payload(r).GetProperty("rule").GetString() == "port-vlan-mismatch"));

        // The full record is kept under both clients' keys, every word of it, for the site-wide export.
        var full = StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.Finding })
            .Single(r => ClientExportFile.Payload(r).GetProperty("rule").GetString() == "port-vlan-mismatch");
        Assert.Equal("alpha,bravo", full.Clients);
        Assert.Equal("qbridge-sw1 port ge-0/0/4 of alpha is an access member of VLAN 20, which is bravo's", ClientExportFile.Payload(full).GetProperty("summary").GetString());

        var alpha = await ExportAsync(site, "alpha");
        var alphaView = View(alpha, "port-vlan-mismatch");
        Assert.Equal("alpha", alphaView.GetProperty("clients").GetString());
        var finding = alphaView.GetProperty("payload");
        Assert.Equal(["alpha"], finding.GetProperty("clients").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("critical", finding.GetProperty("severity").GetString());
        Assert.Equal("qbridge-sw1 port ge-0/0/4 of alpha is an access member of VLAN [another client's VLAN], which is another client's", finding.GetProperty("summary").GetString());
        Assert.Equal("ge-0/0/4", finding.GetProperty("evidence").GetProperty("port").GetString());
        Assert.Equal("[another client's VLAN]", finding.GetProperty("evidence").GetProperty("vlan").GetString());
        AssertNoTrace(alpha.Text, "bravo", "127.0.120.", "ge-0/0/3", "ge-0/0/7", 20);

        var bravo = await ExportAsync(site, "bravo");
        finding = View(bravo, "port-vlan-mismatch").GetProperty("payload");
        Assert.Equal("qbridge-sw1 port [another client's port] of another client is an access member of VLAN 20, which is bravo's", finding.GetProperty("summary").GetString());
        Assert.Equal("[another client's port]", finding.GetProperty("evidence").GetProperty("port").GetString());
        Assert.Equal("[another client's port]", finding.GetProperty("evidence").GetProperty("if_index").GetString());
        Assert.Equal(20, finding.GetProperty("evidence").GetProperty("vlan").GetInt32());
        AssertNoTrace(bravo.Text, "alpha", "127.0.110.", "ge-0/0/1", "ge-0/0/2", "ge-0/0/4", "ge-0/0/5", 10);

        // The shared record is withheld from each, and each export verifies as the version-1 format it is.
        foreach (var export in new[] { alpha, bravo })
        {
            Assert.Contains(export.Lines, l => l.GetProperty("kind").GetString() == "link" && l.TryGetProperty("withheld", out _)
                && l.GetProperty("type").GetString() == "finding" && l.GetProperty("index").GetInt64() == full.Index);
            var (verified, report, _) = await ClientExportFile.SegctlAsync("log", "verify", "--export", export.Path);
            Assert.Equal(0, verified);
            Assert.Contains("intact", report, StringComparison.Ordinal);
        }
    }

    /// <summary>Neither the other client's id or name, nor its addresses, ports or VLAN appear anywhere in the export.</summary>
    private static void AssertNoTrace(string export, string client, string subnet, params object[] portsThenVlan)
    {
        Assert.DoesNotContain(client, export, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(subnet, export, StringComparison.Ordinal);
        foreach (var port in portsThenVlan.OfType<string>())
        {
            Assert.DoesNotMatch($"(?<![A-Za-z0-9/-]){Regex.Escape(port)}(?![0-9])", export);
        }

        var vlan = portsThenVlan.OfType<int>().Single();
        Assert.DoesNotMatch($"VLANs? \\[?(?:[0-9]+, ?)*{vlan}(?![0-9])", export);
        Assert.DoesNotMatch($"\"vlans?\":\\[?(?:[0-9]+,)*{vlan}(?![0-9])", export);
    }

    private static JsonElement View(ClientExportFile export, string rule) =>
        Assert.Single(export.Lines, l => l.GetProperty("kind").GetString() == "record" && l.GetProperty("type").GetString() == "finding-view"
            && l.GetProperty("payload").GetProperty("rule").GetString() == rule);

    private static Task<ClientExportFile> ExportAsync(AuditSite site, string client) =>
        ClientExportFile.WriteAsync(site.StorePath, client, Path.Combine(site.Directory, client + ".jsonl"));

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "not recorded in time");
            await Task.Delay(200);
        }
    }
}
