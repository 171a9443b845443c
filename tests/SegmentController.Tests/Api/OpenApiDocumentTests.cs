using System.Globalization;
using System.Text;
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
/// <c>x-segctl-roles</c> are the roles its authorization policies really allow, the README's
/// endpoint table lists exactly the documented calls with those roles, and the answers the listener gives
/// every call of a kind (another method, a web page's request, a body that is not one) are documented for
/// each call that gives them.
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

    /// <summary>
    /// Each operation of the document is asked, on the running listener, what gives an answer of its kind: another
    /// method (405 with Allow, as problem details), a changing request from a web page (403 Browser request
    /// refused), a body naming a field twice, with a broken chunk, stalled, or over 64 KiB (400, 400, 408, 413),
    /// and /metrics and /healthz asked with GET and HEAD; every answer must be the one expected and be
    /// documented for that operation.
    /// </summary>
    [Fact]
    public async Task AnswersOfEveryKind_GivenByEachOperation_AreDocumentedForIt()
    {
        using var document = JsonDocument.Parse(OperatorApiDocument.Json);
        var asked = new List<Task<string?>>();
        var calls = new HashSet<string>(StringComparer.Ordinal);
        var bodies = 0;
        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var call = $"{operation.Name.ToUpperInvariant()} {path.Name}";
                calls.Add(call);
                var documented = operation.Value.GetProperty("responses").EnumerateObject().Select(r => int.Parse(r.Name, CultureInfo.InvariantCulture)).ToHashSet();
                var target = PathParameter().Replace(path.Name, "alpha");
                var key = KeyFor(operation.Value);
                var method = operation.Name.ToUpperInvariant();
                // Under /api/ deny by default holds for a method a path does not take: 405 is for an authenticated caller.
                var caller = key ?? (path.Name.StartsWith("/api/", StringComparison.Ordinal) ? _site.Keys["val"] : null);
                asked.Add(ExpectAsync(call, documented, "another method", 405, AskAsync("PATCH", target, caller, "Content-Length: 0\r\n", "")));
                if (method is "GET" or "HEAD")
                {
                    asked.Add(ExpectAsync(call, documented, "itself", null, AskAsync(method, target, key, "", "")));
                }
                else
                {
                    asked.Add(ExpectAsync(call, documented, "from a web page", 403, AskAsync(method, target, key, "Origin: https://attacker.example\r\n" + Json("{\"reason\":\"x\"}"))));
                }

                if (!operation.Value.TryGetProperty("requestBody", out _))
                {
                    continue;
                }

                bodies++;
                asked.Add(ExpectAsync(call, documented, "with a field named twice", 400, AskAsync(method, target, key, Json("{\"reason\":\"a\",\"reason\":\"b\"}"))));
                asked.Add(ExpectAsync(call, documented, "with a broken chunk", 400, AskAsync(method, target, key, "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n", "ZZ\r\n{\"reason\":")));
                asked.Add(ExpectAsync(call, documented, "with a body over 64 KiB", 413, AskAsync(method, target, key, Json("{\"reason\":\"" + new string('a', 70_000) + "\"}"))));

                // Kestrel's minimum body data rate (240 bytes/s after a 5 s grace) ends a body that stalls.
                asked.Add(ExpectAsync(call, documented, "with a body that stops coming", 408, AskAsync(method, target, key, "Content-Type: application/json\r\nContent-Length: 100\r\n", "{\"reas")));
            }
        }

        var wrong = (await Task.WhenAll(asked)).OfType<string>().ToArray();
        Assert.True(wrong.Length == 0, string.Join("\n", wrong));
        Assert.Superset(new HashSet<string>(["GET /metrics", "HEAD /metrics", "GET /healthz", "HEAD /healthz"], StringComparer.Ordinal), calls);
        Assert.True(bodies >= 12, $"only {bodies} calls with a body documented");
    }

    /// <summary>Null when <paramref name="answer"/> is the status expected (any, when null) and documented for the call; else what is wrong.</summary>
    private static async Task<string?> ExpectAsync(string call, HashSet<int> documented, string what, int? expected, Task<(int Status, string Head, string Body)> answer)
    {
        var (status, head, body) = await answer;
        if (expected is { } want && status != want)
        {
            return $"{call} asked {what}: answered {status}, not {want}: {head} {body}";
        }

        if (!documented.Contains(status))
        {
            return $"{call} asked {what}: answered {status}, which openapi.json does not document for it";
        }

        if (status == 405 && (!head.Contains("\r\nAllow: ", StringComparison.OrdinalIgnoreCase) || !body.Contains("\"status\":405", StringComparison.Ordinal)))
        {
            return $"{call} asked {what}: 405 without Allow or problem details: {head} {body}";
        }

        if (status == 403 && !body.Contains("\"title\":\"Browser request refused\"", StringComparison.Ordinal))
        {
            return $"{call} asked {what}: 403 but not as a web page's request: {body}";
        }

        return null;
    }

    /// <summary>Headers of a JSON body and the body.</summary>
    private static string Json(string body) =>
        $"Content-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}";

    private Task<(int Status, string Head, string Body)> AskAsync(string method, string target, string? key, string headersAndBody) =>
        AskRawAsync(method, target, key, headersAndBody);

    private Task<(int Status, string Head, string Body)> AskAsync(string method, string target, string? key, string headers, string body) =>
        AskRawAsync(method, target, key, headers + "\r\n" + body);

    /// <summary>Writes the request as is (the connection closed after it) and reads the answer until the server closes.</summary>
    private async Task<(int Status, string Head, string Body)> AskRawAsync(string method, string target, string? key, string rest)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(_site.Url.Host, _site.Url.Port, deadline.Token);
        var stream = tcp.GetStream();
        var request = $"{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{(key is null ? "" : $"X-Api-Key: {key}\r\n")}{rest}";
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request), deadline.Token);
        using var answer = new MemoryStream();
        try
        {
            await stream.CopyToAsync(answer, deadline.Token);
        }
        catch (IOException) when (answer.Length > 0)
        {
            // The server answered before reading the whole body (too large) and reset the rest.
        }

        var text = Encoding.UTF8.GetString(answer.ToArray());
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && end > 0, $"{method} {target}: no answer: '{text}'");
        return (int.Parse(text.AsSpan(9, 3), CultureInfo.InvariantCulture), text[..end] + "\r\n", text[(end + 4)..]);
    }

    /// <summary>The key of a person whose roles the operation allows (null for an open one).</summary>
    private string? KeyFor(JsonElement operation)
    {
        if (operation.TryGetProperty("security", out var security) && security.GetArrayLength() == 0)
        {
            return null;
        }

        var user = operation.GetProperty("x-segctl-roles").GetString()!.Split(", ")[0] switch
        {
            ApiRoles.Viewer => "val",
            ApiRoles.Operator => "alice",
            ApiRoles.Approver => "bob",
            ApiRoles.Auditor => "audra",
            var role => throw new InvalidOperationException($"no one of role '{role}' in the site's keys file"),
        };
        return _site.Keys[user];
    }

    /// <summary>openapi.json's calls and their x-segctl-roles ("open" for calls without security).</summary>
    private static Dictionary<string, string> Documented()
    {
        using var document = JsonDocument.Parse(OperatorApiDocument.Json);
        var calls = new Dictionary<string, string>(StringComparer.Ordinal);
        // The operator API's calls: /metrics and /healthz are documented beside them, as the listener's own.
        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject().Where(p => p.Name.StartsWith("/api/", StringComparison.Ordinal)))
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

    [GeneratedRegex(@"\{[^}]+\}")]
    private static partial Regex PathParameter();

    [GeneratedRegex(@"^\| `(?<method>GET|POST|PUT|DELETE|PATCH) (?<path>/api/v1/[^ `?]+)` \| (?<roles>[^|]+) \|", RegexOptions.Multiline)]
    private static partial Regex ReadmeRow();
}
