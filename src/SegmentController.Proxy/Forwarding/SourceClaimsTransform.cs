using Yarp.ReverseProxy.Transforms;

namespace SegmentController.Proxy.Forwarding;

/// <summary>
/// Removes from the upstream request every header in which the agent claims another address
/// (<see cref="ProxyServer.SpoofableSourceHeaders"/>): YARP copies the agent's headers as they came, so the
/// client's upstream would otherwise take the agent at its word. Only the names the agent sent are removed:
/// looking a name up among the agent's headers costs a fraction of removing it from the upstream request,
/// which parses the name each time, and agents rarely send any of them.
/// </summary>
internal sealed class SourceClaimsTransform : RequestTransform
{
    public override ValueTask ApplyAsync(RequestTransformContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var sent = context.HttpContext.Request.Headers;
        foreach (var name in ProxyServer.SpoofableSourceHeaders)
        {
            if (sent.ContainsKey(name))
            {
                RemoveHeader(context, name);
            }
        }

        return default;
    }
}
