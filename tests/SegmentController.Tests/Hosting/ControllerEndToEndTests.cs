using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using SegmentController.Cli;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Core.Suspension;
using SegmentController.Hosting;
using SegmentController.Storage.Sqlite;
using SegmentController.Tests.Api;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Hosting;

/// <summary>
/// The whole of <c>segctl run</c> as <see cref="ControllerHost"/> builds it from a policy file: the real
/// inline proxy in front of a real HTTPS upstream, the real SQLite store, incidents with a real webhook
/// receiver, the kill switch and the operator API. A cross-client request is the incident.
/// </summary>
public sealed class ControllerEndToEndTests : IDisposable
{
    private readonly LoopbackProxySite _site = new("e2e");

    public void Dispose() => _site.Dispose();

    [Fact]
    public async Task CrossClientRequest_OpensIncidentTripsClientNotifiesAndSurvivesRestart()
    {
        await using var upstream = await _site.StartUpstreamAsync();
        var upstreamPort = new Uri(upstream.Urls.First()).Port;
        var proxyPort = LoopbackProxySite.FreePort();
        var keys = new Dictionary<string, string>(StringComparer.Ordinal) { ["val"] = OperatorApiSite.NewKey() };
        OperatorApiSite.WriteKeys(_site.File("api-keys"), keys, ("val", "viewer"));
        var policyPath = _site.WritePolicy("e2e", upstreamPort, proxyPort, alphaWebhook: true);

        string incidentId;
        await using (var app = await StartControllerAsync(policyPath))
        {
            using var api = Api(app, keys["val"]);
            using (var alpha = _site.Agent(LoopbackProxySite.AlphaAgent, proxyPort))
            {
                var ok = await alpha.GetAsync(new Uri("https://alpha.test/work"));
                Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
                Assert.Equal("upstream saw 127.0.0.1", await ok.Content.ReadAsStringAsync());

                // The same agent asks for the other client's system: refused, and it is the incident. The trip
                // it causes may abort alpha's connections before the 403 is written: either way nothing passes.
                try
                {
                    using var cross = await alpha.GetAsync(new Uri("https://beta.test/customers"));
                    Assert.Equal(HttpStatusCode.Forbidden, cross.StatusCode);
                }
                catch (HttpRequestException)
                {
                }
            }

            var incident = await WaitForAsync(api, "/api/v1/incidents", doc =>
                doc.RootElement.GetProperty("incidents").EnumerateArray().FirstOrDefault(i =>
                    i.GetProperty("measures_taken").GetArrayLength() > 0 && i.GetProperty("notice_given_at").ValueKind == JsonValueKind.String));
            incidentId = incident.GetProperty("id").GetString()!;
            Assert.Contains("alpha", incident.GetProperty("clients").EnumerateArray().Select(c => c.GetString()));
            Assert.Contains("cross-client-request", incident.GetProperty("nature").GetString(), StringComparison.Ordinal);
            Assert.Contains(incident.GetProperty("measures_taken").EnumerateArray(), m => m.GetProperty("text").GetString()!.StartsWith("suspended alpha", StringComparison.Ordinal));

            Assert.Contains(_site.Notices, n => n.Contains(incidentId, StringComparison.Ordinal));

            // The incident's gauges are recomputed after the incident as the API shows it, and the refused
            // request is timed when the proxy is done with it: both can come a moment after the notice.
            var metrics = await SegctlProcess.PollMetricsAsync(api, api.BaseAddress!, m =>
                m.Contains("segctl_incident_notice_due_timestamp_seconds{client=\"alpha\"} 0", StringComparison.Ordinal) && AlphaRequestsTimed(m) >= 2);
            Assert.Contains("segctl_client_suspended{client=\"alpha\"} 1", metrics, StringComparison.Ordinal);
            Assert.Contains("segctl_client_suspended{client=\"beta\"} 0", metrics, StringComparison.Ordinal);
            Assert.Contains("segctl_incidents_open{client=\"alpha\"} 1", metrics, StringComparison.Ordinal);
            Assert.True(metrics.Contains("segctl_incident_notice_due_timestamp_seconds{client=\"alpha\"} 0", StringComparison.Ordinal), $"notice given, yet still due by the metric:\n{metrics}");

            // Every proxied request is timed per client: alpha's forwarded request and its refused one at least.
            var durations = System.Text.RegularExpressions.Regex.Match(metrics, "^segctl_proxy_request_duration_seconds_count\\{client=\"alpha\"\\} (\\d+)$", System.Text.RegularExpressions.RegexOptions.Multiline);
            Assert.True(durations.Success, "no segctl_proxy_request_duration_seconds for alpha on /metrics");
            Assert.True(int.Parse(durations.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 2, durations.Value);
            Assert.Contains("segctl_proxy_request_duration_seconds_bucket{client=\"alpha\",le=\"+Inf\"}", metrics, StringComparison.Ordinal);

            // And counted per client and outcome (the count comes before the timing): the forwarded request, and
            // the one refused for asking for beta's system.
            Assert.Multiple(
                () => Assert.True(RequestsCounted(metrics, "alpha", "forwarded") >= 1, $"alpha's forwarded request is not counted:\n{ProxyRequestLines(metrics)}"),
                () => Assert.True(RequestsCounted(metrics, "alpha", "cross-client") >= 1, $"alpha's cross-client request is not counted:\n{ProxyRequestLines(metrics)}"),
                () => Assert.True(RequestsCounted(metrics, "beta", "forwarded") <= 0, $"beta made no request, yet requests are counted for it:\n{ProxyRequestLines(metrics)}"));

            // The refused request's access record says the same. Its own finding tripped alpha while it was in flight,
            // and the trip cut it before the 403 went out: it records no status, and stays a cross-client request.
            var refusedRecord = await WaitForAccessRecordAsync(r => r.TryGetProperty("path", out var path) && path.GetString() == "/customers");
            Assert.Equal("cross-client", refusedRecord.GetProperty("outcome").GetString());
            Assert.Equal("beta", refusedRecord.GetProperty("route_client").GetString());
            Assert.False(refusedRecord.TryGetProperty("status", out var status), $"the cut request records status {status}");

            await AssertRefusedAsync(proxyPort, "/after-trip");
            await app.StopAsync();
        }

        // The chain holds everything and verifies.
        using (var output = new StringWriter())
        using (var error = new StringWriter())
        {
            Assert.Equal(0, await CliApplication.InvokeAsync(["log", "verify", "--store", _site.File("segctl.db")], output, error, CancellationToken.None));
        }

        // A restart keeps the client suspended and the incident open, with its clock.
        await using (var app = await StartControllerAsync(policyPath))
        {
            using var api = Api(app, keys["val"]);
            var incident = await WaitForAsync(api, "/api/v1/incidents", doc =>
                doc.RootElement.GetProperty("incidents").EnumerateArray().FirstOrDefault(i => i.GetProperty("id").GetString() == incidentId));
            Assert.Equal("open", incident.GetProperty("status").GetString());

            // The incidents taken back from the store are counted on /metrics after the API shows them.
            var metrics = await SegctlProcess.PollMetricsAsync(api, api.BaseAddress!, m => m.Contains("segctl_incidents_open{client=\"alpha\"} 1", StringComparison.Ordinal));
            Assert.Contains("segctl_client_suspended{client=\"alpha\"} 1", metrics, StringComparison.Ordinal);
            Assert.True(metrics.Contains("segctl_incidents_open{client=\"alpha\"} 1", StringComparison.Ordinal), $"the open incident taken back is not counted:\n{metrics}");
            await AssertRefusedAsync(proxyPort, "/after-restart");

            // The other client was never part of the incident and still works through the restarted proxy.
            using var beta = _site.Agent(LoopbackProxySite.BetaAgent, proxyPort);
            using var ok = await beta.GetAsync(new Uri("https://beta.test/work"));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task CrossClientRequestAgainWithinTheMinuteAfterARestore_SuspendsTheRequesterAgain()
    {
        await using var upstream = await _site.StartUpstreamAsync();
        var upstreamPort = new Uri(upstream.Urls.First()).Port;
        var proxyPort = LoopbackProxySite.FreePort();
        OperatorApiSite.WriteKeys(_site.File("api-keys"), new Dictionary<string, string>(StringComparer.Ordinal) { ["val"] = OperatorApiSite.NewKey() }, ("val", "viewer"));
        var policyPath = _site.WritePolicy("repeat", upstreamPort, proxyPort);

        await using var app = await StartControllerAsync(policyPath);
        var engine = app.Services.GetRequiredService<SuspensionEngine>();

        await AskForBetaAsync(proxyPort, "/customers");
        await WaitUntilAsync(() => engine.IsSuspended("alpha"), "the first cross-client request did not suspend alpha");

        Assert.Equal(RestoreStatus.PendingApproval, (await engine.RequestRestoreAsync("alpha", "alice", "agent reimaged", CancellationToken.None)).Status);
        Assert.Equal(RestoreStatus.Restored, (await engine.ApproveRestoreAsync("alpha", "bob", CancellationToken.None)).Status);
        using (var alpha = _site.Agent(LoopbackProxySite.AlphaAgent, proxyPort))
        {
            using var ok = await alpha.GetAsync(new Uri("https://alpha.test/back"));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        // The same source asks for the same client's system again, well within the minute of the first finding.
        await AskForBetaAsync(proxyPort, "/customers");
        await WaitUntilAsync(() => engine.IsSuspended("alpha"), "alpha, restored, asked for beta's system again and was not suspended again");
        await AssertRefusedAsync(proxyPort, "/after-second-trip");
        Assert.DoesNotContain("/customers", _site.UpstreamPaths);
        await app.StopAsync();
    }

    [Fact]
    public async Task UnknownSourcesThatCloseAtOnce_EachStillRecordedAsAnUnknownSourceFinding()
    {
        await using var upstream = await _site.StartUpstreamAsync();
        var upstreamPort = new Uri(upstream.Urls.First()).Port;
        var proxyPort = LoopbackProxySite.FreePort();
        OperatorApiSite.WriteKeys(_site.File("api-keys"), new Dictionary<string, string>(StringComparer.Ordinal) { ["val"] = OperatorApiSite.NewKey() }, ("val", "viewer"));
        var policyPath = _site.WritePolicy("strangers", upstreamPort, proxyPort);

        await using var app = await StartControllerAsync(policyPath);

        // Sources in no client segment, each sending one request and closing its side straight after:
        // the proxy sees the agent gone while it is still making the finding.
        var sources = Enumerable.Range(1, 50).Select(i => $"127.0.99.{i}").ToArray();
        foreach (var source in sources)
        {
            await SendAndResetAsync(source, proxyPort, "beta.test", "/customers");
        }

        var deadline = DateTime.UtcNow.AddSeconds(60);
        string[] missing;
        while (true)
        {
            var recorded = StoreFile.Read(_site.File("segctl.db"), new RecordQuery { Type = RecordTypes.Finding })
                .Select(r => JsonDocument.Parse(r.Payload!.Value).RootElement)
                .Where(f => f.GetProperty("rule").GetString() == RuleIds.UnknownSource)
                .Select(f => f.GetProperty("evidence").GetProperty("src").GetString())
                .ToHashSet(StringComparer.Ordinal);
            missing = [.. sources.Where(s => !recorded.Contains(s))];
            if (missing.Length == 0 || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.True(missing.Length == 0, $"{missing.Length} of {sources.Length} unknown sources have no unknown-source finding in the store: {string.Join(", ", missing)}");
        Assert.DoesNotContain("/customers", _site.UpstreamPaths);
        await app.StopAsync();
    }

    /// <summary>One request over TLS from <paramref name="source"/>, its end of the stream straight after, the answer never read.</summary>
    private async Task SendAndResetAsync(string source, int proxyPort, string host, string path)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
        await socket.ConnectAsync(IPAddress.Loopback, proxyPort);
        await using (var tls = new System.Net.Security.SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: true))
        {
            await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions { TargetHost = host, CertificateChainPolicy = _site.ChainPolicy() });
            await tls.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n"));
            await tls.FlushAsync();

            // Gone at once: the end of the stream follows the request. Whatever the proxy sends back is taken
            // from the socket unread, so the agent's kernel answers nothing with a reset (a reset would make
            // the proxy's kernel drop the request before the proxy read it).
            socket.Shutdown(SocketShutdown.Send);
            var drain = new byte[4096];
            using var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                while (await socket.ReceiveAsync(drain, SocketFlags.None, quiet.Token) > 0)
                {
                }
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
            }
        }
    }

    /// <summary>Alpha's agent asks for beta's system: a 403, or a dropped connection if the trip it causes comes first.</summary>
    private async Task AskForBetaAsync(int proxyPort, string path)
    {
        using var alpha = _site.Agent(LoopbackProxySite.AlphaAgent, proxyPort);
        try
        {
            using var cross = await alpha.GetAsync(new Uri("https://beta.test" + path));
            Assert.Equal(HttpStatusCode.Forbidden, cross.StatusCode);
        }
        catch (HttpRequestException)
        {
        }
    }

    /// <summary>The first access record in the store that <paramref name="match"/> accepts, once it is on disk (60 s at most).</summary>
    private async Task<JsonElement> WaitForAccessRecordAsync(Func<JsonElement, bool> match)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            // A stored record holds one access record, or a batch's records of one client as a JSON array.
            var found = StoreFile.Read(_site.File("segctl.db"), new RecordQuery { Type = RecordTypes.Access })
                .Select(r => JsonDocument.Parse(r.Payload!.Value).RootElement)
                .SelectMany(e => e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().ToArray() : [e])
                .Where(match)
                .Select(e => e.Clone())
                .FirstOrDefault();
            if (found.ValueKind != JsonValueKind.Undefined)
            {
                return found;
            }

            Assert.True(DateTime.UtcNow < deadline, "the access record the test waits for never reached the store");
            await Task.Delay(100);
        }
    }

    /// <summary>What <c>segctl_proxy_requests_total</c> says for a client and outcome (-1: no series).</summary>
    private static double RequestsCounted(string metrics, string client, string outcome)
    {
        var count = System.Text.RegularExpressions.Regex.Match(
            metrics,
            $"^segctl_proxy_requests_total\\{{client=\"{client}\",outcome=\"{outcome}\"\\}} (\\S+)$",
            System.Text.RegularExpressions.RegexOptions.Multiline);
        return count.Success ? double.Parse(count.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
    }

    private static string ProxyRequestLines(string metrics) =>
        string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith("segctl_proxy_requests_total", StringComparison.Ordinal)));

    /// <summary>How many of alpha's proxied requests <c>/metrics</c> has timed (-1: none).</summary>
    private static int AlphaRequestsTimed(string metrics)
    {
        var count = System.Text.RegularExpressions.Regex.Match(metrics, "^segctl_proxy_request_duration_seconds_count\\{client=\"alpha\"\\} (\\d+)$", System.Text.RegularExpressions.RegexOptions.Multiline);
        return count.Success ? int.Parse(count.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string failure)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(50);
        }
    }

    /// <summary>
    /// A suspended client's agent is dropped before any HTTP exchange: the request fails at the transport,
    /// and the upstream never sees the path. The failure message says what came back instead.
    /// </summary>
    private async Task AssertRefusedAsync(int proxyPort, string path)
    {
        using var refused = _site.Agent(LoopbackProxySite.AlphaAgent, proxyPort);
        try
        {
            using var response = await refused.GetAsync(new Uri("https://alpha.test" + path));
            Assert.Fail($"the suspended agent got an answer instead of a dropped connection: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        catch (Exception e) when (e is HttpRequestException or IOException or SocketException)
        {
            // Dropped: depending on when the reset arrives, the agent's stack reports it as one of these.
        }

        Assert.DoesNotContain(path, _site.UpstreamPaths);
    }

    private static async Task<WebApplication> StartControllerAsync(string policyPath)
    {
        var opened = PolicyFile.Open(policyPath);
        Assert.True(opened.Provider is not null, string.Join('\n', opened.Errors));
        var app = ControllerHost.Build(opened.Provider, ["127.0.0.1:0"]);
        await app.StartAsync();
        return app;
    }

    private static HttpClient Api(WebApplication app, string key)
    {
        var client = new HttpClient { BaseAddress = new Uri(app.BoundAddresses()[0]) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private static async Task<JsonElement> WaitForAsync(HttpClient api, string path, Func<JsonDocument, JsonElement> select)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var doc = JsonDocument.Parse(await api.GetStringAsync(new Uri(path, UriKind.Relative)));
            var found = select(doc);
            if (found.ValueKind != JsonValueKind.Undefined)
            {
                return found.Clone();
            }

            Assert.True(DateTime.UtcNow < deadline, $"{path} never showed what the test waits for: {doc.RootElement}");
            await Task.Delay(100);
        }
    }
}
