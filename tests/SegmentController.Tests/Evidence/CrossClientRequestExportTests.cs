using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using SegmentController.Cli;
using SegmentController.Core.Evidence;
using SegmentController.Hosting;
using SegmentController.Storage.Sqlite;
using SegmentController.Tests.Api;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Evidence;

/// <summary>
/// An agent of alpha asks the real inline proxy (as <c>segctl run</c> builds it, real SQLite store) for beta's
/// system; both clients' auditors export their evidence with <c>segctl log export --client</c>. alpha's export
/// shows its refused request and finding naming nothing of beta; beta's shows the attempt on its system naming
/// nothing of alpha; both verify; alpha alone is suspended.
/// </summary>
public sealed class CrossClientRequestExportTests : IDisposable
{
    private readonly LoopbackProxySite _site = new("xexport");

    public void Dispose() => _site.Dispose();

    [Fact]
    public async Task CrossClientRequest_EachClientsExportShowsItsOwnView_NoTraceOfTheOther_OnlyRequesterSuspended()
    {
        await using var upstream = await _site.StartUpstreamAsync();
        var upstreamPort = new Uri(upstream.Urls.First()).Port;
        var proxyPort = LoopbackProxySite.FreePort();
        var keys = new Dictionary<string, string>(StringComparer.Ordinal) { ["val"] = OperatorApiSite.NewKey() };
        OperatorApiSite.WriteKeys(_site.File("api-keys"), keys, ("val", "viewer"));
        var opened = PolicyFile.Open(_site.WritePolicy("xexport", upstreamPort, proxyPort));
        Assert.True(opened.Provider is not null, string.Join('\n', opened.Errors));

        await using (var app = ControllerHost.Build(opened.Provider, ["127.0.0.1:0"]))
        {
            await app.StartAsync();
            using (var alpha = _site.Agent(LoopbackProxySite.AlphaAgent, proxyPort))
            {
                using var ok = await alpha.GetAsync(new Uri("https://alpha.test/work"));
                Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
                try
                {
                    using var cross = await alpha.GetAsync(new Uri("https://beta.test/customers"));
                    Assert.Equal(HttpStatusCode.Forbidden, cross.StatusCode);
                }
                catch (HttpRequestException)
                {
                    // The trip this request causes may cut alpha's connection before the 403 is written.
                }
            }

            using var api = new HttpClient { BaseAddress = new Uri(app.BoundAddresses()[0]) };
            api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", keys["val"]);
            var metrics = "";
            for (var deadline = DateTime.UtcNow.AddSeconds(30);
                !metrics.Contains("segctl_client_suspended{client=\"alpha\"} 1", StringComparison.Ordinal) || !metrics.Contains("segctl_incidents_open{client=\"alpha\"} 1", StringComparison.Ordinal);
                await Task.Delay(100))
            {
                Assert.True(DateTime.UtcNow < deadline, "alpha was never suspended with an incident open:\n" + metrics);
                metrics = await api.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            }

            // The client whose system was asked for did nothing: not suspended, no incident of its own.
            Assert.Contains("segctl_client_suspended{client=\"beta\"} 0", metrics, StringComparison.Ordinal);
            Assert.Contains("segctl_incidents_open{client=\"beta\"} 0", metrics, StringComparison.Ordinal);
            await app.StopAsync();
        }

        var store = _site.File("segctl.db");

        // The full records keep every word, under both clients' keys.
        var finding = Assert.Single(StoreFile.Read(store, new RecordQuery { Type = RecordTypes.Finding }), r => ClientExportFile.Payload(r).GetProperty("rule").GetString() == "cross-client-request");
        Assert.Equal("alpha,beta", finding.Clients);
        Assert.Equal("beta", ClientExportFile.Payload(finding).GetProperty("evidence").GetProperty("target_client").GetString());
        Assert.Equal(["alpha"], ClientExportFile.Payload(finding).GetProperty("clients").EnumerateArray().Select(c => c.GetString()));
        var refused = Assert.Single(StoreFile.Read(store, new RecordQuery { Type = RecordTypes.Access }).SelectMany(Entries), a => a.Record.GetProperty("route_client").GetString() == "beta");
        Assert.Equal("alpha,beta", refused.Clients);
        Assert.Equal("beta.test", refused.Record.GetProperty("host").GetString());

        var alphaExport = await ExportAsync("alpha");
        var alphaFinding = Record(alphaExport, "finding-view").GetProperty("payload");
        Assert.Equal(["alpha"], alphaFinding.GetProperty("clients").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("cross-client-request", alphaFinding.GetProperty("rule").GetString());
        Assert.Equal("[another client's host]", alphaFinding.GetProperty("evidence").GetProperty("host").GetString());
        Assert.Equal("another client", alphaFinding.GetProperty("evidence").GetProperty("target_client").GetString());
        var alphaAccess = AccessView(alphaExport);
        Assert.Equal("alpha", alphaAccess.GetProperty("client").GetString());
        Assert.Equal(LoopbackProxySite.AlphaAgent, alphaAccess.GetProperty("source").GetString());
        Assert.Equal("another client", alphaAccess.GetProperty("route_client").GetString());
        Assert.Equal("[another client's host]", alphaAccess.GetProperty("host").GetString());
        AssertNoTrace(alphaExport.Text, "beta", "127.0.120.");

        var betaExport = await ExportAsync("beta");
        var betaFinding = Record(betaExport, "finding-view").GetProperty("payload");
        Assert.Empty(betaFinding.GetProperty("clients").EnumerateArray());
        Assert.Equal("beta", betaFinding.GetProperty("evidence").GetProperty("target_client").GetString());
        Assert.Equal("beta.test", betaFinding.GetProperty("evidence").GetProperty("host").GetString());
        Assert.Equal("[another client's address]", betaFinding.GetProperty("evidence").GetProperty("src").GetString());
        var betaAccess = AccessView(betaExport);
        Assert.Equal("another client", betaAccess.GetProperty("client").GetString());
        Assert.Equal("[another client's address]", betaAccess.GetProperty("source").GetString());
        Assert.Equal("beta", betaAccess.GetProperty("route_client").GetString());
        Assert.Equal("beta.test", betaAccess.GetProperty("host").GetString());
        Assert.Equal("/customers", betaAccess.GetProperty("path").GetString());
        AssertNoTrace(betaExport.Text, "alpha", "127.0.110.");

        // beta was told of the attempt, not given an incident or a suspension.
        Assert.DoesNotContain(betaExport.Lines, l => l.GetProperty("kind").GetString() == "record"
            && l.GetProperty("type").GetString() is "incident-view" or "incident-event" or "suspension");

        foreach (var export in new[] { alphaExport, betaExport })
        {
            Assert.Contains(export.Lines, l => l.GetProperty("kind").GetString() == "link" && l.TryGetProperty("withheld", out _)
                && l.GetProperty("type").GetString() == "finding" && l.GetProperty("index").GetInt64() == finding.Index);
            var (verified, report, error) = await ClientExportFile.SegctlAsync("log", "verify", "--export", export.Path);
            Assert.True(verified == 0, report + error);
        }
    }

    /// <summary>Neither the other client's id or name, its host, nor its agents' addresses appear anywhere in the export.</summary>
    private static void AssertNoTrace(string export, string client, string subnet)
    {
        Assert.DoesNotContain(client, export, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(subnet, export, StringComparison.Ordinal);
    }

    private static JsonElement Record(ClientExportFile export, string type) =>
        Assert.Single(export.Lines, l => l.GetProperty("kind").GetString() == "record" && l.GetProperty("type").GetString() == type);

    /// <summary>The client's view of the refused request (a view may be one record or, joined in a batch, an array of them).</summary>
    private static JsonElement AccessView(ClientExportFile export)
    {
        var record = Record(export, "access-view");
        var payload = record.GetProperty("payload");
        return payload.ValueKind == JsonValueKind.Array ? Assert.Single(payload.EnumerateArray()) : payload;
    }

    private static IEnumerable<(string? Clients, JsonElement Record)> Entries(StoredRecord record)
    {
        var payload = ClientExportFile.Payload(record);
        return payload.ValueKind == JsonValueKind.Array
            ? payload.EnumerateArray().Select(e => (record.Clients, e)).ToArray()
            : [(record.Clients, payload)];
    }

    private Task<ClientExportFile> ExportAsync(string client) =>
        ClientExportFile.WriteAsync(_site.File("segctl.db"), client, _site.File(client + ".jsonl"));
}
