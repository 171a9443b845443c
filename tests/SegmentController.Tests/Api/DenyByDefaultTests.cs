using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace SegmentController.Tests.Api;

/// <summary>
/// The management listener denies by default: an endpoint mapped without an authorization policy of its
/// own, and a path that maps to nothing, need an authenticated operator; only /metrics, /healthz and the
/// OpenAPI document are open.
/// </summary>
public sealed class DenyByDefaultTests : IAsyncLifetime
{
    private OperatorApiSite _site = null!;

    public async Task InitializeAsync() =>
        _site = await OperatorApiSite.StartAsync(map: app =>
        {
            // As a future endpoint would be written by someone who forgot RequireAuthorization.
            app.MapGet("/api/v1/forgotten", () => Results.Text("the forgotten endpoint's data"));
            app.MapGet("/debug/forgotten", () => Results.Text("the forgotten endpoint's data"));
        });

    public async Task DisposeAsync() => await _site.DisposeAsync();

    [Theory]
    [InlineData("api/v1/forgotten")]
    [InlineData("debug/forgotten")]
    public async Task EndpointWithoutPolicy_Anonymous_Returns401ProblemAndNoData(string path)
    {
        using var anonymous = _site.Client(null);
        using var response = await anonymous.GetAsync(path);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("forgotten endpoint's data", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("api/v1/forgotten")]
    [InlineData("debug/forgotten")]
    public async Task EndpointWithoutPolicy_WrongKey_Returns401(string path)
    {
        using var stranger = _site.Client(null);
        stranger.DefaultRequestHeaders.Authorization = new("Bearer", OperatorApiSite.NewKey());
        using var response = await stranger.GetAsync(path);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task EndpointWithoutPolicy_AnyRole_IsServed()
    {
        using var viewer = _site.Client("val");
        Assert.Equal("the forgotten endpoint's data", await viewer.GetStringAsync("debug/forgotten"));
    }

    [Fact]
    public async Task UnknownPath_Anonymous_Returns401NotAMapOfTheRoutes()
    {
        using var anonymous = _site.Client(null);
        using var unknown = await anonymous.GetAsync("api/v1/no-such-thing");
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);

        // A known route with the wrong method says no more than an unknown one.
        using var wrongMethod = await anonymous.DeleteAsync("api/v1/status");
        Assert.Equal(HttpStatusCode.Unauthorized, wrongMethod.StatusCode);

        using var viewer = _site.Client("val");
        using var known = await viewer.GetAsync("api/v1/no-such-thing");
        Assert.Equal(HttpStatusCode.NotFound, known.StatusCode);
    }

    [Theory]
    [InlineData("metrics")]
    [InlineData("healthz")]
    [InlineData("api/v1/openapi.json")]
    public async Task OpenEndpoints_AnswerWithoutCredentials(string path)
    {
        using var anonymous = _site.Client(null);
        using var response = await anonymous.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public void EveryMappedEndpoint_IsOpenOnPurposeOrHasAPolicy()
    {
        var open = new List<string>();
        foreach (var endpoint in _site.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            if (endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAllowAnonymous>() is not null)
            {
                open.Add(endpoint.RoutePattern.RawText!);
            }
        }

        Assert.Equal(["/api/v1/openapi.json", "/healthz", "/metrics"], open.Order(StringComparer.Ordinal));
    }
}
