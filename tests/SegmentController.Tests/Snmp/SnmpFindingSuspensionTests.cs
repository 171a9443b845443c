using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Storage.Sqlite;
using SegmentController.Tests.Audits;
using SegmentController.Tests.Evidence;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Snmp;

/// <summary>
/// A critical SNMP finding in <c>segctl run</c> end to end: snmpsimd serves the switch's VLAN table, the real
/// poller finds alpha's port ge-0/0/4 an access member of bravo's VLAN 20 (<c>port-vlan-mismatch</c>, critical,
/// whose action the policy leaves at suspend), and the finding pipeline trips the clients the finding names.
/// </summary>
public sealed class SnmpFindingSuspensionTests(AuditSwitchAgent agent) : IClassFixture<AuditSwitchAgent>
{
    private const string AlphaAgent = "127.0.110.10";

    [Fact]
    public async Task PortVlanMismatchFromThePoller_SuspendsItsClients_OnMetricsOnRecordAndAtTheProxy()
    {
        await using var site = await AuditSite.StartAsync(agent.Sim.Port, new AuditSiteOptions
        {
            CleanPorts = false,
            PollerSuspends = true,
            AlphaUpstream = true,
            ProxyCertificate = true,
        });
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(1) };

        var metrics = await SegctlProcess.PollMetricsAsync(http, site.Url, m =>
            m.Contains("segctl_client_suspended{client=\"alpha\"} 1", StringComparison.Ordinal)
            && m.Contains("segctl_client_suspended{client=\"bravo\"} 1", StringComparison.Ordinal));
        Assert.Contains("segctl_client_suspended{client=\"alpha\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("segctl_client_suspended{client=\"bravo\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("segctl_findings_total{rule=\"port-vlan-mismatch\",severity=\"critical\",client=\"alpha\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("segctl_killswitch_trips_total{client=\"alpha\",trigger=\"finding\"} 1", metrics, StringComparison.Ordinal);

        // The suspension in force names the finding's trigger and rule, and so does its record in the store.
        var alpha = await site.StatusOfAsync("alpha");
        Assert.Equal("suspended", alpha.GetProperty("state").GetString());
        Assert.Equal("finding", alpha.GetProperty("suspension").GetProperty("trigger").GetString());
        Assert.Equal(RuleIds.PortVlanMismatch, alpha.GetProperty("suspension").GetProperty("rule").GetString());
        Assert.Contains("ge-0/0/4", alpha.GetProperty("suspension").GetProperty("reason").GetString(), StringComparison.Ordinal);
        // The recorder writes the trip's record behind the trip, once it is in force: it is waited for in the store.
        await EvidenceSite.WaitUntilAsync(() => Task.FromResult(TrippedRecords(site.StorePath, "alpha").Length > 0), "alpha's tripped record in the store");
        var record = Assert.Single(TrippedRecords(site.StorePath, "alpha"));
        Assert.Equal("finding", record.GetProperty("trigger").GetString());
        Assert.Equal(RuleIds.PortVlanMismatch, record.GetProperty("rule").GetString());

        // Alpha's agent is dropped by the proxy before TLS, and the drop is counted as alpha's.
        Assert.True(await DroppedBeforeTlsAsync(site.ProxyPort!.Value, AlphaAgent), "the proxy kept alpha's agent's connection open for a TLS handshake");
        metrics = await SegctlProcess.PollMetricsAsync(http, site.Url, m =>
            m.Contains("segctl_proxy_connections_refused_total{client=\"alpha\"} 1", StringComparison.Ordinal));
        Assert.Contains("segctl_proxy_connections_refused_total{client=\"alpha\"} 1", metrics, StringComparison.Ordinal);
    }

    private static JsonElement[] TrippedRecords(string storePath, string client) =>
        StoreFile.Read(storePath, new RecordQuery { Type = RecordTypes.Suspension, Client = client })
            .Select(r => JsonDocument.Parse(r.Payload!.Value).RootElement.Clone())
            .Where(r => r.GetProperty("event").GetString() == "tripped")
            .ToArray();

    /// <summary>
    /// Whether the proxy closes a connection from <paramref name="source"/> without waiting for its TLS
    /// handshake: the gate does so for a suspended client's agent, while any other connection waits for a
    /// ClientHello, which is never sent here (a minute at most).
    /// </summary>
    private static async Task<bool> DroppedBeforeTlsAsync(int proxyPort, string source)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
        using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            // The gate's reset can come before the agent's side of the connect has completed.
            await socket.ConnectAsync(IPAddress.Loopback, proxyPort);
            return await socket.ReceiveAsync(new byte[1], SocketFlags.None, patience.Token) == 0;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
