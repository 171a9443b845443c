using System.Net;
using System.Text;
using System.Text.Json;
using SegmentController.Api;

namespace SegmentController.Tests.Api;

/// <summary>
/// A web page's requests to the management listener, as a browser sends them (an <c>Origin</c>, a
/// <c>Sec-Fetch-Site</c>, a <c>text/plain</c> form body), over real HTTP on loopback against the real engine.
/// </summary>
public sealed class BrowserRequestTests : IAsyncLifetime
{
    private OperatorApiSite _site = null!;

    public async Task InitializeAsync() => _site = await OperatorApiSite.StartAsync();

    public async Task DisposeAsync() => await _site.DisposeAsync();

    [Theory]
    [InlineData("Origin", "https://attacker.example")]
    [InlineData("Origin", "null")]
    [InlineData("Sec-Fetch-Site", "cross-site")]
    [InlineData("Sec-Fetch-Site", "same-site")]
    public async Task PagePostingASuspension_WithAValidCredential_Refused403_NothingSuspended(string header, string value)
    {
        using var alice = _site.Client("alice");
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/clients/alpha/suspend")
        {
            // What a form with enctype="text/plain" posts: no preflight, the JSON in the body.
            Content = new StringContent("{\"reason\":\"x\"}", Encoding.UTF8, "text/plain"),
        };
        request.Headers.Add(header, value);

        using var response = await alice.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Browser request refused", problem.RootElement.GetProperty("title").GetString());
        Assert.Contains($"it carries {header} {value}", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("active", await StateOfAsync("alpha"));
    }

    [Fact]
    public async Task PageApprovingARestore_Refused403_NotCountedAsAnApproval()
    {
        using var alice = _site.Client("alice");
        using (var suspended = await alice.PostAsync("api/v1/clients/alpha/suspend", OperatorApiSite.Reason("leak")))
        {
            Assert.Equal(HttpStatusCode.Created, suspended.StatusCode);
        }

        string id;
        using (var requested = await alice.PostAsync("api/v1/clients/alpha/restore", OperatorApiSite.Reason("fixed")))
        {
            Assert.Equal(HttpStatusCode.Accepted, requested.StatusCode);
            using var body = JsonDocument.Parse(await requested.Content.ReadAsStringAsync());
            id = body.RootElement.GetProperty("restore_id").GetString()!;
        }

        using var bob = _site.Client("bob");
        using (var request = new HttpRequestMessage(HttpMethod.Post, $"api/v1/restores/{id}/approve") { Content = OperatorApiSite.Reason("agree") })
        {
            request.Headers.Add("Origin", "https://attacker.example");
            using var refused = await bob.SendAsync(request);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        // Had bob's approval counted, alice's request and it would have lifted the suspension.
        Assert.Equal("suspended", await StateOfAsync("alpha"));

        using var carol = _site.Client("carol");
        using (var approved = await carol.PostAsync($"api/v1/restores/{id}/approve", OperatorApiSite.Reason("agree")))
        {
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
            using var body = JsonDocument.Parse(await approved.Content.ReadAsStringAsync());
            Assert.Equal("restored", body.RootElement.GetProperty("status").GetString());
            Assert.Equal(["alice", "carol"], body.RootElement.GetProperty("approvers").EnumerateArray().Select(a => a.GetString()!).ToArray());
        }
    }

    [Fact]
    public async Task PageWithoutACredential_Refused403NotCountedAsAFailedAuthentication()
    {
        using var nobody = _site.Client(null);
        for (var i = 0; i < FailedAuthLimiter.MaxFailures + 2; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/suspend-all") { Content = OperatorApiSite.Reason("x") };
            request.Headers.Add("Origin", "https://attacker.example");
            request.Headers.Add("Authorization", "Bearer wrong");
            using var response = await nobody.SendAsync(request);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        // The address's allowance is whole: a wrong key is a 401, not a 429.
        using var wrong = new HttpRequestMessage(HttpMethod.Get, "api/v1/status");
        wrong.Headers.Add("Authorization", "Bearer wrong");
        using (var answer = await nobody.SendAsync(wrong))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
        }

        Assert.Equal("active", await StateOfAsync("alpha"));
    }

    [Fact]
    public async Task Reads_FromAPage_AndChangesFromScripts_AreServed()
    {
        using var val = _site.Client("val");
        using (var read = new HttpRequestMessage(HttpMethod.Get, "api/v1/status"))
        {
            read.Headers.Add("Origin", "https://grafana.example");
            read.Headers.Add("Sec-Fetch-Site", "cross-site");
            using var answer = await val.SendAsync(read);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }

        using var alice = _site.Client("alice");
        using var typed = new HttpRequestMessage(HttpMethod.Post, "api/v1/clients/alpha/suspend") { Content = OperatorApiSite.Reason("typed") };
        typed.Headers.Add("Sec-Fetch-Site", "none");
        using (var answer = await alice.SendAsync(typed))
        {
            Assert.Equal(HttpStatusCode.Created, answer.StatusCode);
        }

        Assert.Equal("suspended", await StateOfAsync("alpha"));
    }

    private async Task<string?> StateOfAsync(string client)
    {
        using var viewer = _site.Client("val");
        using var response = await viewer.GetAsync("api/v1/status");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var status = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return status.RootElement.GetProperty("clients").EnumerateArray()
            .Single(c => c.GetProperty("id").GetString() == client).GetProperty("state").GetString();
    }
}
