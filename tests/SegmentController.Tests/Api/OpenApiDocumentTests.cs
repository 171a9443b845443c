using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using SegmentController.Api;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Api;

/// <summary>
/// The OpenAPI document and the API's README say the same as the running routes: each route's
/// <c>x-segctl-roles</c> are the roles its authorization policies really allow, and the README's
/// endpoint table lists exactly the documented calls with those roles.
/// </summary>
public sealed partial class OpenApiDocumentTests : IAsyncLifetime
{
    // Roles in the order the documents write them; admin is always allowed and never written.
    private static readonly string[] RoleOrder = [ApiRoles.Viewer, ApiRoles.Operator, ApiRoles.Approver, ApiRoles.Auditor];

    private OperatorApiSite _site = null!;

    public async Task InitializeAsync() => _site = await OperatorApiSite.StartAsync();

    public async Task DisposeAsync() => await _site.DisposeAsync();

    [Fact]
    public async Task DocumentedRoles_AreTheRolesEachRouteAllows()
    {
        var documented = Documented();
        var policies = _site.App.Services.GetRequiredService<IAuthorizationPolicyProvider>();
        var checkedRoutes = 0;
        foreach (var endpoint in _site.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == true))
        {
            foreach (var method in endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? [])
            {
                var call = $"{method} {endpoint.RoutePattern.RawText}";
                Assert.True(documented.TryGetValue(call, out var roles), $"{call} is not in openapi.json");
                Assert.True(await AllowedAsync(endpoint, policies) == roles, $"{call}: openapi.json says '{roles}', the route allows '{await AllowedAsync(endpoint, policies)}'");
                checkedRoutes++;
            }
        }

        Assert.Equal(documented.Count, checkedRoutes);
    }

    [Fact]
    public void ReadmeEndpointTable_ListsEveryDocumentedCallWithItsRoles()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "src", "SegmentController", "Api", "README.md"));
        var listed = ReadmeRow().Matches(readme).ToDictionary(
            m => $"{m.Groups["method"].Value} {m.Groups["path"].Value}",
            m => m.Groups["roles"].Value.Trim() switch
            {
                "any" => ApiRoles.Viewer,
                "open" => "open",
                var roles => roles,
            },
            StringComparer.Ordinal);

        Assert.Equal(Documented().OrderBy(p => p.Key, StringComparer.Ordinal), listed.OrderBy(p => p.Key, StringComparer.Ordinal));
    }

    /// <summary>openapi.json's calls and their x-segctl-roles ("open" for calls without security).</summary>
    private static Dictionary<string, string> Documented()
    {
        using var document = JsonDocument.Parse(OperatorApiDocument.Json);
        var calls = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var open = operation.Value.TryGetProperty("security", out var security) && security.GetArrayLength() == 0;
                calls[$"{operation.Name.ToUpperInvariant()} {path.Name}"] = open
                    ? "open"
                    : operation.Value.GetProperty("x-segctl-roles").GetString()!;
            }
        }

        return calls;
    }

    /// <summary>The roles every authorization policy on the route allows, written as the documents write them.</summary>
    private static async Task<string> AllowedAsync(Endpoint endpoint, IAuthorizationPolicyProvider policies)
    {
        if (endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null)
        {
            return "open";
        }

        IEnumerable<string> allowed = RoleOrder.Append(ApiRoles.Admin);
        var any = false;
        foreach (var data in endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>())
        {
            var policy = data.Policy is null ? await policies.GetDefaultPolicyAsync() : await policies.GetPolicyAsync(data.Policy);
            Assert.NotNull(policy);
            foreach (var roles in policy.Requirements.OfType<RolesAuthorizationRequirement>())
            {
                allowed = allowed.Intersect(roles.AllowedRoles, StringComparer.Ordinal).ToArray();
                any = true;
            }
        }

        Assert.True(any, $"{endpoint.DisplayName} names no role");
        Assert.Contains(ApiRoles.Admin, allowed);
        var written = RoleOrder.Where(r => allowed.Contains(r, StringComparer.Ordinal)).ToArray();
        return written.Contains(ApiRoles.Viewer, StringComparer.Ordinal)
            ? ApiRoles.Viewer
            : string.Join(", ", written);
    }

    [GeneratedRegex(@"^\| `(?<method>GET|POST|PUT|DELETE|PATCH) (?<path>/api/v1/[^ `?]+)` \| (?<roles>[^|]+) \|", RegexOptions.Multiline)]
    private static partial Regex ReadmeRow();
}
