using System.Net;
using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests;

/// <summary>
/// Every agent segment × every client route, with Host / SNI / absolute-form / path tricks and
/// request-smuggling shapes, over raw TLS sockets: no request from one client's segment (or from
/// nowhere) may reach another client's upstream.
/// </summary>
public sealed class CrossClientMatrixTests : IAsyncLifetime
{
    private static readonly (string Source, string OwnHost)[] Sources =
    [
        (ProxyHarness.AcmeAgent, "acme.test"),
        (ProxyHarness.GlobexAgent, "globex.test"),
        (ProxyHarness.UnknownAgent, "unknown.test"),
    ];

    private static readonly string[] Targets = ["acme.test", "globex.test"];

    private ProxyHarness _h = null!;

    public async Task InitializeAsync() => _h = await ProxyHarness.StartAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private static IEnumerable<(string Name, string Sni, string Request)> Shapes(string own, string target)
    {
        const string End = "\r\n";
        var smuggled = $"GET /smuggled HTTP/1.1{End}Host: {target}{End}{End}";
        yield return ("plain", own, $"GET /m HTTP/1.1{End}Host: {target}{End}Connection: close{End}{End}");
        yield return ("sni-target-host-own", target, $"GET /m HTTP/1.1{End}Host: {own}{End}Connection: close{End}{End}");
        yield return ("absolute-target-host-own", own, $"GET https://{target}/m HTTP/1.1{End}Host: {own}{End}Connection: close{End}{End}");
        yield return ("absolute-own-host-target", own, $"GET https://{own}/m HTTP/1.1{End}Host: {target}{End}Connection: close{End}{End}");
        yield return ("duplicate-host", own, $"GET /m HTTP/1.1{End}Host: {own}{End}Host: {target}{End}Connection: close{End}{End}");
        yield return ("host-trailing-dot", own, $"GET /m HTTP/1.1{End}Host: {target}.{End}Connection: close{End}{End}");
        yield return ("host-upper-port", own, $"GET /m HTTP/1.1{End}Host: {target.ToUpperInvariant()}:443{End}Connection: close{End}{End}");
        yield return ("host-userinfo", own, $"GET /m HTTP/1.1{End}Host: {own}@{target}{End}Connection: close{End}{End}");
        yield return ("path-double-slash", own, $"GET //{target}/m HTTP/1.1{End}Host: {own}{End}Connection: close{End}{End}");
        yield return ("path-encoded-dots", own, $"GET /..%2f..%2f{target}/m HTTP/1.1{End}Host: {own}{End}Connection: close{End}{End}");
        yield return ("path-dot-segments", own, $"GET /%2e%2e/%2e%2e/{target}/m HTTP/1.1{End}Host: {own}{End}Connection: close{End}{End}");
        yield return ("forwarded-host-header", own, $"GET /m HTTP/1.1{End}Host: {own}{End}X-Forwarded-Host: {target}{End}X-Forwarded-For: 127.0.2.99{End}Connection: close{End}{End}");
        yield return ("pipelined", own, $"GET /first HTTP/1.1{End}Host: {own}{End}{End}GET /second HTTP/1.1{End}Host: {target}{End}Connection: close{End}{End}");
        yield return ("cl-te", own, $"POST /m HTTP/1.1{End}Host: {own}{End}Content-Length: {5 + smuggled.Length}{End}Transfer-Encoding: chunked{End}{End}0{End}{End}{smuggled}");
        yield return ("te-cl", own, $"POST /m HTTP/1.1{End}Host: {own}{End}Content-Length: 4{End}Transfer-Encoding: chunked{End}{End}{smuggled.Length:x}{End}{smuggled}{End}0{End}{End}");
        yield return ("duplicate-content-length", own, $"POST /m HTTP/1.1{End}Host: {own}{End}Content-Length: 0{End}Content-Length: {smuggled.Length}{End}{End}{smuggled}");
        yield return ("te-obfuscated", own, $"POST /m HTTP/1.1{End}Host: {own}{End}Content-Length: {5 + smuggled.Length}{End}Transfer-Encoding: xchunked{End}{End}0{End}{End}{smuggled}");
        yield return ("te-space-before-colon", own, $"POST /m HTTP/1.1{End}Host: {own}{End}Content-Length: {5 + smuggled.Length}{End}Transfer-Encoding : chunked{End}{End}0{End}{End}{smuggled}");
    }

    [Fact]
    public async Task EverySegmentTimesEveryRoute_NoCrossClientForward()
    {
        var cases = (
            from source in Sources
            from target in Targets
            from shape in Shapes(source.OwnHost, target)
            select (source.Source, target, shape.Name, shape.Sni, shape.Request)).ToArray();

        var responses = await Task.WhenAll(cases.Select(async c =>
        {
            try
            {
                return await _h.RawAsync(c.Source, c.Sni, c.Request);
            }
            catch (IOException e)
            {
                return "io: " + e.Message;
            }
        }));

        Assert.Equal(cases.Length, responses.Length);
        AssertOnlyOwnSources(_h.Acme, "127.0.1.");
        AssertOnlyOwnSources(_h.Globex, "127.0.2.");

        // The matrix can fail: the agents' own plain requests did get through.
        Assert.Contains(_h.Acme.Hits, h => h.Path == "/m");
        Assert.Contains(_h.Globex.Hits, h => h.Path == "/m");
        Assert.DoesNotContain(_h.Acme.Hits, h => h.Path == "/smuggled" && !LastForwardedFor(h).StartsWith("127.0.1.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Http2AuthorityOfOtherClient_Refused()
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent, HttpVersion.Version20);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("https://acme.test/m"));
        request.Headers.Host = "globex.test";

        var response = await agent.SendAsync(request);

        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(_h.Globex.Hits);
    }

    private static string LastForwardedFor(UpstreamHit hit) =>
        (hit.ForwardedFor ?? "").Split(',', StringSplitOptions.TrimEntries).LastOrDefault() ?? "";

    private static void AssertOnlyOwnSources(UpstreamServer upstream, string prefix)
    {
        foreach (var hit in upstream.Hits)
        {
            Assert.True(
                LastForwardedFor(hit).StartsWith(prefix, StringComparison.Ordinal),
                $"{upstream.Name} received {hit.Method} {hit.Host}{hit.Path} from {hit.ForwardedFor}");
        }
    }
}
