using System.Collections.Frozen;
using Yarp.ReverseProxy.Transforms;

namespace SegmentController.Proxy.Forwarding;

/// <summary>
/// Removes from the upstream request every header in which the agent claims another address, a certificate, or
/// another URL, host, port or scheme than the request's own (<see cref="ProxyServer.SpoofableSourceHeaders"/>,
/// <see cref="ProxyServer.SpoofableCertificateHeaders"/> and their prefixes, <see cref="ProxyServer.SpoofableRequestHeaders"/>):
/// YARP copies the agent's headers as they came, so the client's upstream would otherwise take the agent at its word.
/// The agent's headers are read once, and only the names it sent are removed: removing a name from the upstream
/// request parses it each time, and agents rarely send any of them.
/// </summary>
internal sealed class SourceClaimsTransform : RequestTransform
{
    private static readonly FrozenSet<string> Names =
        ProxyServer.SpoofableSourceHeaders.Concat(ProxyServer.SpoofableCertificateHeaders).Concat(ProxyServer.SpoofableRequestHeaders).ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    public override ValueTask ApplyAsync(RequestTransformContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        List<string>? claims = null;
        foreach (var header in context.HttpContext.Request.Headers)
        {
            if (IsClaim(header.Key))
            {
                (claims ??= []).Add(header.Key);
            }
        }

        if (claims is not null)
        {
            foreach (var name in claims)
            {
                RemoveHeader(context, name);
            }
        }

        return default;
    }

    /// <summary>Whether the proxy removes a header of this name before forwarding (in any case).</summary>
    internal static bool IsClaim(string name)
    {
        if (Names.Contains(name))
        {
            return true;
        }

        foreach (var prefix in ProxyServer.SpoofableCertificateHeaderPrefixes)
        {
            if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
