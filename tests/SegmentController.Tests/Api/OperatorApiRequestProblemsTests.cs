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
    public async Task RestoreClient_OwnSuspensionLiftedUnderASiteWideOne_SaysItStaysSuspended()
    {
        using var alice = _site.Client("alice");
        using (var own = await alice.PostAsync("api/v1/clients/alpha/suspend", OperatorApiSite.Reason("alpha's incident")))
        {
            Assert.Equal(HttpStatusCode.Created, own.StatusCode);
        }

        using (var tripped = await alice.PostAsync("api/v1/suspend-all", OperatorApiSite.Reason("site-wide incident")))
        {
            Assert.Equal(HttpStatusCode.Created, tripped.StatusCode);
        }

        var siteWide = (await GetJsonAsync(_site.Client("val"), "api/v1/status")).GetProperty("site_suspension").GetProperty("id").GetString();
        using var requested = await _site.Client("bob").PostAsync("api/v1/clients/alpha/restore", OperatorApiSite.Reason("alpha's incident closed"));
        Assert.Equal(HttpStatusCode.Accepted, requested.StatusCode);
        using var request = JsonDocument.Parse(await requested.Content.ReadAsStringAsync());
        Assert.False(request.RootElement.TryGetProperty("still_suspended_by", out _));
        var restoreId = request.RootElement.GetProperty("restore_id").GetString();

        using var approved = await _site.Client("carol").PostAsync($"api/v1/restores/{restoreId}/approve", OperatorApiSite.Reason("agreed"));

        Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        using var result = JsonDocument.Parse(await approved.Content.ReadAsStringAsync());
        Assert.Equal("restored", result.RootElement.GetProperty("status").GetString());
        Assert.Equal(siteWide, result.RootElement.GetProperty("still_suspended_by").GetString());
        Assert.Contains($"'alpha' stays suspended by the site-wide suspension {siteWide}", result.RootElement.GetProperty("message").GetString()!, StringComparison.Ordinal);
        Assert.Equal("suspended", Client(await GetJsonAsync(_site.Client("val"), "api/v1/status"), "alpha").GetProperty("state").GetString());
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

    [Theory]
    [InlineData("from=1/2/2026")]
    [InlineData("to=1/2/2026")]
    [InlineData("from=2026-03-01%2000:00:00")]
    [InlineData("from=Sun,%2001%20Mar%202026%2000:00:00%20GMT")]
    [InlineData("to=2026-3-1")]
    [InlineData("from=2026-02-30")]
    [InlineData("from=2026-03-01T00:00:00.123456789Z")]
    [InlineData("from=2026-03-01%0A")]
    [InlineData("from=2030-01-01&to=2020-01-01")]
    [InlineData("from=2026-03-01T12:00:00%2B02:00&to=2026-03-01T09:59:59Z")]
    public async Task LogExport_TimeNotIso8601OrFromAfterTo_Answers400BadTime_NothingRecorded(string query)
    {
        using var auditor = _site.Client("audra");

        using var response = await auditor.GetAsync($"api/v1/log/export?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.StartsWith("bad time: ", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        // The one log-export on record is the export that reads them.
        Assert.Single(await ExportActionsAsync(auditor));
    }

    [Theory]
    [InlineData("2026-02-01", "2026-02-01T00:00:00.0000000Z")]
    [InlineData("2026-03-01T00:00:00Z", "2026-03-01T00:00:00.0000000Z")]
    [InlineData("2026-03-01T08:30:00.5%2B02:00", "2026-03-01T06:30:00.5000000Z")]
    [InlineData("2026-03-01T08:30", "2026-03-01T08:30:00.0000000Z")]
    public async Task LogExport_Iso8601Times_Answer200WithTheWindowAsGiven(string from, string exported)
    {
        using var auditor = _site.Client("audra");

        using var response = await auditor.GetAsync($"api/v1/log/export?from={from}&to=2100-01-01");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var header = (await response.Content.ReadAsStringAsync()).Split('\n')[0];
        Assert.Contains(exported, header, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"client":"alpha","result":"pass"}""", "\"summary\" is required")]
    [InlineData("""{"client":"alpha","passed":true}""", "\"summary\" is required")]
    [InlineData("""{"client":"alpha","result":"pass","passed":false,"summary":"annual audit"}""", "\"result\" is \"pass\" but \"passed\" is false")]
    [InlineData("""{"client":"beta","result":"fail","passed":true,"summary":"shared port"}""", "\"result\" is \"fail\" but \"passed\" is true")]
    [InlineData("""{"client":"alpha","result":"pass","passed":"yes","summary":"annual audit"}""", "\"passed\" (the earlier form of \"result\") must be true or false")]
    [InlineData("""{"client":"alpha","result":"pass","summary":"annual audit","reason":"shared port found"}""", "\"summary\" and \"reason\"")]
    public async Task ExternalAudit_MissingSummaryOrFieldsAtOdds_Answers400NamingThem_NothingRecorded(string body, string detail)
    {
        using var audra = _site.Client("audra");

        using var response = await audra.PostAsync("api/v1/audits/external", Json(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var said = problem.RootElement.GetProperty("detail").GetString()!;
        Assert.StartsWith(detail, said, StringComparison.Ordinal);
        Assert.DoesNotContain("\"reason\" is required", said, StringComparison.Ordinal);
        var status = await GetJsonAsync(_site.Client("val"), "api/v1/status");
        Assert.All(status.GetProperty("clients").EnumerateArray(), c =>
        {
            Assert.Equal("active", c.GetProperty("state").GetString());
            Assert.Equal(JsonValueKind.Null, c.GetProperty("last_passing_audit").ValueKind);
        });
        Assert.Equal(0, (await GetJsonAsync(_site.Client("val"), "api/v1/audits")).GetProperty("audits").GetArrayLength());
    }

    [Theory]
    [InlineData("""{"client":"alpha","result":"pass","passed":true,"summary":"annual audit"}""")]
    [InlineData("""{"client":"alpha","result":"pass","summary":"annual audit","reason":"annual audit"}""")]
    [InlineData("""{"client":"alpha","passed":true,"reason":"annual audit"}""")]
    public async Task ExternalAudit_EarlierNamesThatAgree_Recorded(string body)
    {
        using var response = await _site.Client("audra").PostAsync("api/v1/audits/external", Json(body));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var status = await GetJsonAsync(_site.Client("val"), "api/v1/status");
        Assert.Equal(JsonValueKind.String, Client(status, "alpha").GetProperty("last_passing_audit").ValueKind);
    }

    [Theory]
    [InlineData("ALPHA")]
    [InlineData("Alpha")]
    [InlineData("gamma")]
    public async Task LogExport_UnknownOrMiscasedClient_Answers404UnknownClient_NothingRecorded(string client)
    {
        using var auditor = _site.Client("audra");

        using var response = await auditor.GetAsync($"api/v1/log/export?client={client}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Unknown client", problem.RootElement.GetProperty("title").GetString());
        Assert.Equal($"'{client}' is not a client of this site", problem.RootElement.GetProperty("detail").GetString());
        Assert.Single(await ExportActionsAsync(auditor));

        using var known = await auditor.GetAsync("api/v1/log/export?client=alpha");
        Assert.Equal(HttpStatusCode.OK, known.StatusCode);
    }

    /// <summary>The <c>log-export</c> actions on record, from an export of the whole chain (itself one).</summary>
    private static async Task<string[]> ExportActionsAsync(HttpClient auditor)
    {
        var lines = (await auditor.GetStringAsync(new Uri("api/v1/log/export", UriKind.Relative))).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return lines.Where(l => l.Contains("\"log-export\"", StringComparison.Ordinal)).ToArray();
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
