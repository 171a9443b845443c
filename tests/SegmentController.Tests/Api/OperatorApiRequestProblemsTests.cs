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
