using System.Net;
using System.Text;
using System.Text.Json;

namespace SegmentController.Tests.Api;

/// <summary>Requests the operator API refuses with a problem saying what is wrong, over real HTTP against the real engine and store.</summary>
public sealed class OperatorApiRequestProblemsTests : IAsyncLifetime
{
    private OperatorApiSite _site = null!;

    public async Task InitializeAsync() => _site = await OperatorApiSite.StartAsync();

    public async Task DisposeAsync() => await _site.DisposeAsync();

    [Fact]
    public async Task RestoreClient_HeldBySiteWideSuspensionAlone_Answers409NamingTheSiteWideRestore()
    {
        using var alice = _site.Client("alice");
        using (var tripped = await alice.PostAsync("api/v1/suspend-all", OperatorApiSite.Reason("site-wide incident")))
        {
            Assert.Equal(HttpStatusCode.Created, tripped.StatusCode);
        }

        var siteWide = (await GetJsonAsync(_site.Client("val"), "api/v1/status")).GetProperty("site_suspension").GetProperty("id").GetString();

        using var response = await _site.Client("bob").PostAsync("api/v1/clients/alpha/restore", OperatorApiSite.Reason("x"));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Suspended site-wide", problem.RootElement.GetProperty("title").GetString());
        var detail = problem.RootElement.GetProperty("detail").GetString()!;
        Assert.Contains("'alpha' is suspended by the site-wide suspension", detail, StringComparison.Ordinal);
        Assert.Contains("POST /api/v1/restore-all", detail, StringComparison.Ordinal);
        Assert.Contains("segctl restore --all", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("not suspended", detail, StringComparison.Ordinal);
        Assert.Equal(siteWide, problem.RootElement.GetProperty("restore_id").GetString());
        Assert.Equal("*", problem.RootElement.GetProperty("scope").GetString());

        var status = await GetJsonAsync(_site.Client("val"), "api/v1/status");
        Assert.Equal("suspended", Client(status, "alpha").GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, status.GetProperty("site_pending_restore").ValueKind);

        // The restore it names is the one that lifts it.
        using var lifted = await _site.Client("bob").PostAsync("api/v1/restore-all", OperatorApiSite.Reason("x"));
        Assert.Equal(HttpStatusCode.Accepted, lifted.StatusCode);
    }

    [Fact]
    public async Task RestoreClient_NothingSuspended_StillAnswers409NotSuspended()
    {
        using var response = await _site.Client("bob").PostAsync("api/v1/clients/alpha/restore", OperatorApiSite.Reason("x"));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Not suspended", problem.RootElement.GetProperty("title").GetString());
        Assert.Equal("'alpha' is not suspended", problem.RootElement.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("\\u200b")]
    [InlineData("\\u0000")]
    [InlineData("\\ufeff\\u202e\\u2066")]
    [InlineData(" \\u0007\\t\\u200d\\u00ad ")]
    public async Task FreeTextOfInvisibleCharactersOnly_Answers400NamingTheField_NothingDone(string invisible)
    {
        using var alice = _site.Client("alice");
        using var bob = _site.Client("bob");
        using var audra = _site.Client("audra");
        using (var tripped = await alice.PostAsync("api/v1/clients/beta/suspend", OperatorApiSite.Reason("leak on the SPAN port")))
        {
            Assert.Equal(HttpStatusCode.Created, tripped.StatusCode);
        }

        string incident;
        using (var opened = await alice.PostAsync("api/v1/incidents", Json("""{"nature":"cross-client flow","clients":["alpha"]}""")))
        {
            Assert.Equal(HttpStatusCode.Created, opened.StatusCode);
            using var body = JsonDocument.Parse(await opened.Content.ReadAsStringAsync());
            incident = body.RootElement.GetProperty("id").GetString()!;
        }

        await AssertRefusedAsync(bob.PostAsync("api/v1/clients/beta/restore", Json($$"""{"reason":"{{invisible}}"}""")), "reason");
        await AssertRefusedAsync(alice.PostAsync("api/v1/clients/alpha/suspend", Json($$"""{"reason":"{{invisible}}"}""")), "reason");
        await AssertRefusedAsync(alice.PostAsync("api/v1/incidents", Json($$"""{"nature":"{{invisible}}","clients":["alpha"]}""")), "nature");
        await AssertRefusedAsync(alice.PostAsync("api/v1/incidents", Json($$"""{"nature":"leak","clients":["alpha"],"reason":"{{invisible}}"}""")), "reason");
        await AssertRefusedAsync(alice.PostAsync($"api/v1/incidents/{incident}/notes", Json($$"""{"note":"{{invisible}}"}""")), "note");
        await AssertRefusedAsync(alice.PutAsync($"api/v1/incidents/{incident}/consequences", Json($$"""{"consequences":"{{invisible}}"}""")), "consequences");
        await AssertRefusedAsync(alice.PostAsync($"api/v1/incidents/{incident}/notice", Json($$"""{"client":"alpha","reason":"{{invisible}}"}""")), "reason");
        await AssertRefusedAsync(alice.PostAsync($"api/v1/incidents/{incident}/close", Json($$"""{"reason":"{{invisible}}"}""")), "reason");
        await AssertRefusedAsync(audra.PostAsync("api/v1/audits/external", Json($$"""{"client":"alpha","result":"pass","summary":"{{invisible}}"}""")), "summary");
        await AssertRefusedAsync(audra.PostAsync("api/v1/audits/external", Json($$"""{"client":"alpha","result":"pass","summary":"annual audit","external_auditor":"{{invisible}}"}""")), "external_auditor");

        var status = await GetJsonAsync(_site.Client("val"), "api/v1/status");
        Assert.Equal("suspended", Client(status, "beta").GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, Client(status, "beta").GetProperty("pending_restore").ValueKind);
        Assert.Equal("active", Client(status, "alpha").GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, Client(status, "alpha").GetProperty("last_passing_audit").ValueKind);
        var shown = await GetJsonAsync(_site.Client("val"), $"api/v1/incidents/{incident}");
        Assert.Equal("open", shown.GetProperty("status").GetString());
        Assert.Equal(0, shown.GetProperty("investigation_notes").GetArrayLength());
        Assert.Equal(1, (await GetJsonAsync(_site.Client("val"), "api/v1/incidents")).GetProperty("incidents").GetArrayLength());

        // Invisible characters beside visible ones are the operator's text, kept.
        using var restored = await bob.PostAsync("api/v1/clients/beta/restore", Json($$"""{"reason":"port re-patched{{invisible}}"}"""));
        Assert.Equal(HttpStatusCode.Accepted, restored.StatusCode);
    }

    private static async Task AssertRefusedAsync(Task<HttpResponseMessage> sending, string field)
    {
        using var response = await sending;
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Bad request", problem.RootElement.GetProperty("title").GetString());
        Assert.StartsWith($"\"{field}\" must contain a visible character", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static JsonElement Client(JsonElement status, string id) =>
        status.GetProperty("clients").EnumerateArray().Single(c => c.GetProperty("id").GetString() == id);

    private static async Task<JsonElement> GetJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }
}
