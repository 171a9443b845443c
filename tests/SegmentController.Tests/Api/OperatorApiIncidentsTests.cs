using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SegmentController.Api;
using SegmentController.Cli;
using SegmentController.Core.Evidence;
using SegmentController.Core.Incidents;
using SegmentController.Evidence;
using SegmentController.Hosting;
using SegmentController.Storage.Sqlite;
using SegmentController.Tests.Audits;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Api;

/// <summary>
/// The incident endpoints, served where an <see cref="IncidentManager"/> runs: a host wired like
/// <c>segctl run</c> plus the real incident manager on the real store.
/// </summary>
public sealed class OperatorApiIncidentsTests : IAsyncLifetime, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-api-inc-").FullName;
    private readonly Dictionary<string, string> _keys = new() { ["alice"] = OperatorApiSite.NewKey(), ["val"] = OperatorApiSite.NewKey() };
    private readonly HttpClient _webhooks = new();
    private readonly HandClock _clock = new(DateTimeOffset.UtcNow);
    private WebApplication _app = null!;
    private Uri _url = null!;

    public async Task InitializeAsync()
    {
        var keysFile = Path.Combine(_dir, "api-keys");
        OperatorApiSite.WriteKeys(keysFile, _keys, ("alice", "operator"), ("val", "viewer"));
        var provider = PolicyFile.Open(TestSite.WritePolicy(_dir, apiKeysFile: keysFile)).Provider!;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddControllerCore(provider);
        builder.Services.AddEvidence();
        builder.Services.AddSingleton(sp => new IncidentManager(
            sp.GetRequiredService<IRecordAppender>(),
            new SqliteAccessRecordCounter(provider.Current.Controller.Store.Path),
            new WebhookNotifier(_webhooks, TimeProvider.System, new WebhookNotifierOptions()),
            () => provider.Current,
            _clock));
        builder.Services.AddOperatorApi();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.MapOperatorApi();
        await _app.StartAsync();
        _url = new Uri(_app.BoundAddresses()[0]);
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    public void Dispose() => _webhooks.Dispose();

    [Fact]
    public async Task OpenIncident_ListedShownAnnotatedAndInStatus()
    {
        var manager = _app.Services.GetRequiredService<IncidentManager>();
        var incident = await manager.OpenAsync("alice", "cross-client flow seen on SPAN", ["alpha"], CancellationToken.None);

        using var viewer = Client("val");
        using var list = JsonDocument.Parse(await viewer.GetStringAsync("api/v1/incidents"));
        Assert.Equal(incident.Id, list.RootElement.GetProperty("incidents")[0].GetProperty("id").GetString());

        using var status = JsonDocument.Parse(await viewer.GetStringAsync("api/v1/status"));
        var alpha = status.RootElement.GetProperty("clients").EnumerateArray().Single(c => c.GetProperty("id").GetString() == "alpha");
        Assert.Equal(incident.Id, alpha.GetProperty("open_incidents")[0].GetString());

        using var viewerNote = await viewer.PostAsync($"api/v1/incidents/{incident.Id}/notes", Note("viewers read only"));
        Assert.Equal(HttpStatusCode.Forbidden, viewerNote.StatusCode);

        using var alice = Client("alice");
        using var note = await alice.PostAsync($"api/v1/incidents/{incident.Id}/notes", Note("port 7 re-patched"));
        Assert.Equal(HttpStatusCode.Created, note.StatusCode);
        var shown = await viewer.GetStringAsync($"api/v1/incidents/{incident.Id}");
        Assert.Contains("port 7 re-patched", shown, StringComparison.Ordinal);

        using var unknown = await viewer.GetAsync("api/v1/incidents/INC-nope");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var empty = await alice.PostAsync($"api/v1/incidents/{incident.Id}/notes", Note(""));
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);

        var store = _app.Services.GetRequiredService<IEvidenceStore>();
        var found = false;
        await foreach (var record in store.ReadAsync(new RecordQuery { Type = RecordTypes.OperatorAction, Client = "alpha" }, CancellationToken.None))
        {
            found |= Encoding.UTF8.GetString(record.Payload!.Value.Span).Contains("\"action\":\"incident-note\"", StringComparison.Ordinal);
        }

        Assert.True(found);
    }

    [Fact]
    public async Task IncidentsCommand_TableAndExitCodeFollowOpenIncidents()
    {
        var (code, _, _) = await InvokeAsync("incidents", "--url", _url.ToString(), "--api-key", _keys["val"]);
        Assert.Equal(CliApplication.ExitClean, code);

        var manager = _app.Services.GetRequiredService<IncidentManager>();
        var incident = await manager.OpenAsync("alice", "tagged traffic in the wrong VLAN", ["beta"], CancellationToken.None);
        (code, var output, _) = await InvokeAsync("incidents", "--url", _url.ToString(), "--api-key", _keys["val"]);
        Assert.Equal(CliApplication.ExitViolations, code);
        Assert.Contains(incident.Id, output, StringComparison.Ordinal);
        Assert.Contains("beta", output, StringComparison.Ordinal);

        // Nothing is suspended, but an incident is open: status needs attention too.
        (code, _, _) = await InvokeAsync("status", "--url", _url.ToString(), "--api-key", _keys["val"]);
        Assert.Equal(CliApplication.ExitViolations, code);
    }

    [Fact]
    public async Task IncidentsCommand_ClosedIncidentStillOwingANotice_ListedWithTheClientOwedAndExitsOne()
    {
        var manager = _app.Services.GetRequiredService<IncidentManager>();
        var settled = await manager.OpenAsync("alice", "door propped open", ["alpha"], CancellationToken.None);
        await manager.RecordNoticeGivenAsync(settled.Id, "alpha", "alice", "phoned alpha's SOC", CancellationToken.None);
        await manager.CloseAsync(settled.Id, "alice", "door closed, nobody entered", CancellationToken.None);
        var (code, output, error) = await InvokeAsync("incidents", "--url", _url.ToString(), "--api-key", _keys["val"]);
        Assert.True(code == CliApplication.ExitClean, output + error);
        Assert.DoesNotContain(settled.Id, output, StringComparison.Ordinal);

        // Detected nine hours ago and closed without alpha ever being told: its deadline passed.
        _clock.Advance(TimeSpan.FromHours(-9));
        var overdue = await manager.OpenAsync("alice", "recordings copied to a USB stick", ["alpha"], CancellationToken.None);
        _clock.Advance(TimeSpan.FromHours(9));
        await manager.CloseAsync(overdue.Id, "alice", "stick recovered", CancellationToken.None);
        (code, output, _) = await InvokeAsync("incidents", "--url", _url.ToString(), "--api-key", _keys["val"]);
        Assert.Equal(CliApplication.ExitViolations, code);
        var row = Assert.Single(output.Split('\n'), l => l.Contains(overdue.Id, StringComparison.Ordinal));
        Assert.Contains("closed", row, StringComparison.Ordinal);
        Assert.Contains("alpha OVERDUE since", row, StringComparison.Ordinal);
        Assert.DoesNotContain(settled.Id, output, StringComparison.Ordinal);

        // Closed just now with beta's notice not yet given: owed, its deadline still ahead.
        var pending = await manager.OpenAsync("alice", "visitor badge not returned", ["beta"], CancellationToken.None);
        await manager.CloseAsync(pending.Id, "alice", "badge returned", CancellationToken.None);
        (code, output, _) = await InvokeAsync("incidents", "--url", _url.ToString(), "--api-key", _keys["val"], "--json");
        Assert.Equal(CliApplication.ExitViolations, code);
        using (var listed = JsonDocument.Parse(output))
        {
            Assert.Equal([overdue.Id, pending.Id], listed.RootElement.GetProperty("incidents").EnumerateArray().Select(i => i.GetProperty("id").GetString()));
        }

        (_, output, _) = await InvokeAsync("incidents", "--url", _url.ToString(), "--api-key", _keys["val"]);
        Assert.Contains("beta due ", Assert.Single(output.Split('\n'), l => l.Contains(pending.Id, StringComparison.Ordinal)), StringComparison.Ordinal);

        // The API's own selection: owed notices whatever the state; a filter it does not know is refused.
        using var viewer = Client("val");
        foreach (var query in new[] { "notice=owed", "status=closed&notice=owed" })
        {
            using var owed = JsonDocument.Parse(await viewer.GetStringAsync($"api/v1/incidents?{query}"));
            Assert.Equal([overdue.Id, pending.Id], owed.RootElement.GetProperty("incidents").EnumerateArray().Select(i => i.GetProperty("id").GetString()));
        }

        using (var none = JsonDocument.Parse(await viewer.GetStringAsync("api/v1/incidents?status=open&notice=owed")))
        {
            Assert.Equal(0, none.RootElement.GetProperty("incidents").GetArrayLength());
        }

        foreach (var query in new[] { "notice=late", "status=shut" })
        {
            using var refused = await viewer.GetAsync($"api/v1/incidents?{query}");
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }

        // Notice given (late, for alpha): nothing owed, nothing open.
        await manager.RecordNoticeGivenAsync(overdue.Id, "alpha", "alice", "phoned alpha's SOC", CancellationToken.None);
        await manager.RecordNoticeGivenAsync(pending.Id, "beta", "alice", "phoned beta's SOC", CancellationToken.None);
        (code, output, _) = await InvokeAsync("incidents", "--url", _url.ToString(), "--api-key", _keys["val"]);
        Assert.Equal(CliApplication.ExitClean, code);
        Assert.DoesNotContain(overdue.Id, output, StringComparison.Ordinal);
        (code, output, _) = await InvokeAsync("incidents", "--url", _url.ToString(), "--api-key", _keys["val"], "--all");
        Assert.Equal(CliApplication.ExitClean, code);
        foreach (var id in new[] { settled.Id, overdue.Id, pending.Id })
        {
            Assert.Contains(id, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task StatusCommand_ClosedIncidentStillOwingANotice_ShownForThatClientAndExitsOne()
    {
        var manager = _app.Services.GetRequiredService<IncidentManager>();
        var (code, output, error) = await InvokeAsync("status", "--url", _url.ToString(), "--api-key", _keys["val"]);
        Assert.True(code == CliApplication.ExitClean, output + error);

        // Closed without alpha ever being told: nothing is open, but alpha is owed its notice.
        var owing = await manager.OpenAsync("alice", "recordings copied to a USB stick", ["alpha"], CancellationToken.None);
        await manager.CloseAsync(owing.Id, "alice", "stick recovered", CancellationToken.None);
        (code, output, _) = await InvokeAsync("status", "--url", _url.ToString(), "--api-key", _keys["val"], "--json");
        Assert.Equal(CliApplication.ExitViolations, code);
        using (var status = JsonDocument.Parse(output))
        {
            var clients = status.RootElement.GetProperty("clients").EnumerateArray().ToDictionary(c => c.GetProperty("id").GetString()!);
            Assert.Equal(0, clients["alpha"].GetProperty("open_incidents").GetArrayLength());
            var owed = Assert.Single(clients["alpha"].GetProperty("notices_owed").EnumerateArray());
            Assert.Equal(owing.Id, owed.GetProperty("incident").GetString());
            Assert.Equal(owing.DetectedAt + Incident.NoticeWindow, owed.GetProperty("due_at").GetDateTimeOffset());
            Assert.Equal(0, clients["beta"].GetProperty("notices_owed").GetArrayLength());
        }

        (code, output, _) = await InvokeAsync("status", "--url", _url.ToString(), "--api-key", _keys["val"]);
        Assert.Equal(CliApplication.ExitViolations, code);
        Assert.Contains("- (closed, notice owed: 1)", Assert.Single(output.Split('\n'), l => l.StartsWith("alpha", StringComparison.Ordinal)), StringComparison.Ordinal);

        // Given: nothing owed, nothing open.
        await manager.RecordNoticeGivenAsync(owing.Id, "alpha", "alice", "phoned alpha's SOC", CancellationToken.None);
        (code, output, error) = await InvokeAsync("status", "--url", _url.ToString(), "--api-key", _keys["val"]);
        Assert.True(code == CliApplication.ExitClean, output + error);
        Assert.DoesNotContain("notice owed", output, StringComparison.Ordinal);
    }

    [Fact]
    public void OpenApiDocument_DescribesEveryRouteIncludingIncidents()
    {
        using var document = JsonDocument.Parse(OperatorApiDocument.Json);
        // The operator API's own routes: this host maps nothing else (/metrics and /healthz are the controller's).
        var documented = document.RootElement.GetProperty("paths").EnumerateObject()
            .Where(p => p.Name.StartsWith("/api/", StringComparison.Ordinal))
            .SelectMany(p => p.Value.EnumerateObject().Select(m => $"{m.Name.ToUpperInvariant()} {p.Name}"))
            .Order(StringComparer.Ordinal)
            .ToArray();
        var mapped = _app.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Select(m => $"{m} {e.RoutePattern.RawText}"))
            .Order(StringComparer.Ordinal)
            .ToArray();
        Assert.Equal(mapped, documented);
    }

    private HttpClient Client(string user)
    {
        var client = new HttpClient { BaseAddress = _url };
        client.DefaultRequestHeaders.Authorization = new("Bearer", _keys[user]);
        return client;
    }

    private static StringContent Note(string text) =>
        new(JsonSerializer.Serialize(new Dictionary<string, string> { ["note"] = text }), Encoding.UTF8, "application/json");

    private static async Task<(int Code, string Output, string Error)> InvokeAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApplication.InvokeAsync(args, output, error, CancellationToken.None);
        return (code, output.ToString(), error.ToString());
    }
}
