using Microsoft.AspNetCore.Http;

namespace SegmentController.Proxy.Enforcement;

/// <summary>The host an agent asked for, as the proxy reads and records it.</summary>
internal static class AgentHost
{
    /// <summary>
    /// The host as the agent wrote it (its Host header; over HTTP/2, its <c>:authority</c>), for records, findings and
    /// logs. Not <see cref="HttpRequest.Host"/>, which turns an internationalized name's ASCII form into Unicode: a
    /// look-alike of another client's host name would read as that name in the evidence, and a malformed one would
    /// throw.
    /// </summary>
    public static string Of(HttpRequest request) => request.Headers.Host.ToString();

    /// <summary>
    /// Takes the trailing dot off a fully qualified host name (<c>globex.test.</c>, <c>globex.test.:443</c>), which
    /// names the same host: routes match the name without it, so such a request reaches the route check (another
    /// client's host: 403 and a finding) instead of matching no route. Anything else is left as it came.
    /// </summary>
    public static void WithoutTrailingDot(HttpRequest request)
    {
        var host = request.Headers.Host.ToString();
        if (host.Length < 2 || host[0] == '[')
        {
            return;
        }

        var colon = host.LastIndexOf(':');
        var end = colon < 0 ? host.Length : colon;
        if (end >= 2 && host[end - 1] == '.' && host[end - 2] != '.')
        {
            request.Headers.Host = string.Concat(host.AsSpan(0, end - 1), host.AsSpan(end));
        }
    }

    /// <summary>
    /// Whether the host decodes (what routing reads): false for a label written as the ASCII form of an internationalized
    /// name (<c>xn--…</c>) that is the form of no name. Only a host with such a label is decoded to find out.
    /// </summary>
    public static bool Decodes(HttpRequest request)
    {
        var host = request.Headers.Host.ToString();
        if (!host.Contains("xn--", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        try
        {
            _ = HostString.FromUriComponent(host).Host;
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
