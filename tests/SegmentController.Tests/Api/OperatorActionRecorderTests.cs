using System.Security.Claims;
using System.Text.Json;
using SegmentController.Api;
using SegmentController.Cli;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Api;

/// <summary>An operator action's text, as recorded under one client's key and site-wide.</summary>
public sealed class OperatorActionRecorderTests : IDisposable
{
    private const string Nature = "beta's agent 127.0.120.11 (Beta Telecom) reached alpha";

    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-operator-action-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task ActionOnOneClient_ReasonAndDetailsNameAnotherClient_RecordedAsThatClientsView_SiteWideKeptAsWritten()
    {
        var path = Path.Combine(_dir, "segctl.db");
        var user = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "alice"), new Claim("segctl:auth-method", "api-key")], "test"));
        IPolicyProvider policy = PolicyFile.Open(TestSite.WritePolicy(_dir)).Provider!;
        await using (var store = await SqliteEvidenceStore.OpenAsync(new StoreOptions { Path = path }, TimeProvider.System, CancellationToken.None))
        {
            var recorder = new OperatorActionRecorder(store, policy, TimeProvider.System, new RecordingLogger<OperatorActionRecorder>());
            var details = new Dictionary<string, string?> { ["nature"] = Nature, ["clients"] = "alpha", ["none"] = null };
            await recorder.RecordAsync(user, "incident-open", "alpha", Nature, "requested", details, CancellationToken.None);
            await recorder.RecordAsync(user, "incident-open", null, Nature, "requested", details, CancellationToken.None);
        }

        var records = StoreFile.Read(path, new RecordQuery { Type = RecordTypes.OperatorAction }).ToArray();
        Assert.Equal(2, records.Length);
        Assert.Equal("alpha", records[0].Clients);
        const string View = "another client's agent [another client's address] (another client) reached alpha";
        using (var own = JsonDocument.Parse(records[0].Payload!.Value))
        {
            Assert.Equal(View, own.RootElement.GetProperty("reason").GetString());
            Assert.Equal(View, own.RootElement.GetProperty("nature").GetString());
            Assert.Equal("alpha", own.RootElement.GetProperty("clients").GetString());
            Assert.Equal(JsonValueKind.Null, own.RootElement.GetProperty("none").ValueKind);
            Assert.Equal("alice", own.RootElement.GetProperty("actor").GetString());
        }

        Assert.Null(records[1].Clients);
        using var siteWide = JsonDocument.Parse(records[1].Payload!.Value);
        Assert.Equal(Nature, siteWide.RootElement.GetProperty("reason").GetString());
        Assert.Equal(Nature, siteWide.RootElement.GetProperty("nature").GetString());
    }
}
