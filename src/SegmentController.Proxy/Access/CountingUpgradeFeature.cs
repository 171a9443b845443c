using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace SegmentController.Proxy.Access;

/// <summary>
/// Stands in for the server's upgrade of one request (HTTP/1.1 upgrade, or HTTP/2 extended CONNECT) and
/// counts the bytes of the stream it upgrades to: an upgraded connection is copied through that stream,
/// never through the request and response bodies.
/// </summary>
internal sealed class CountingUpgradeFeature : IHttpUpgradeFeature, IHttpExtendedConnectFeature
{
    private readonly IHttpUpgradeFeature? _upgrade;
    private readonly IHttpExtendedConnectFeature? _connect;
    private CountingStream? _stream;

    private CountingUpgradeFeature(IHttpUpgradeFeature? upgrade, IHttpExtendedConnectFeature? connect)
    {
        _upgrade = upgrade;
        _connect = connect;
    }

    /// <summary>Bytes the agent sent over the upgraded connection (0 until it is upgraded).</summary>
    public long BytesIn => Volatile.Read(ref _stream)?.BytesRead ?? 0;

    /// <summary>Bytes sent to the agent over the upgraded connection (0 until it is upgraded).</summary>
    public long BytesOut => Volatile.Read(ref _stream)?.BytesWritten ?? 0;

    bool IHttpUpgradeFeature.IsUpgradableRequest => _upgrade?.IsUpgradableRequest == true;

    bool IHttpExtendedConnectFeature.IsExtendedConnect => _connect?.IsExtendedConnect == true;

    string? IHttpExtendedConnectFeature.Protocol => _connect?.Protocol;

    /// <summary>
    /// Puts a counter in place of the request's upgrade feature when the request asks to be upgraded;
    /// null (and nothing allocated) for any other request.
    /// </summary>
    public static CountingUpgradeFeature? Install(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var features = context.Features;
        if (HttpMethods.IsConnect(context.Request.Method))
        {
            if (features.Get<IHttpExtendedConnectFeature>() is not { IsExtendedConnect: true } connect)
            {
                return null;
            }

            var counter = new CountingUpgradeFeature(null, connect);
            features.Set<IHttpExtendedConnectFeature>(counter);
            return counter;
        }

        if (features.Get<IHttpUpgradeFeature>() is not { IsUpgradableRequest: true } upgrade)
        {
            return null;
        }

        var upgradeCounter = new CountingUpgradeFeature(upgrade, null);
        features.Set<IHttpUpgradeFeature>(upgradeCounter);
        return upgradeCounter;
    }

    async Task<Stream> IHttpUpgradeFeature.UpgradeAsync()
    {
        var upgrade = _upgrade ?? throw new InvalidOperationException("The request is not an HTTP/1.1 upgrade.");
        return Counted(await upgrade.UpgradeAsync().ConfigureAwait(false));
    }

    async ValueTask<Stream> IHttpExtendedConnectFeature.AcceptAsync()
    {
        var connect = _connect ?? throw new InvalidOperationException("The request is not an extended CONNECT.");
        return Counted(await connect.AcceptAsync().ConfigureAwait(false));
    }

    private CountingStream Counted(Stream upgraded)
    {
        var stream = new CountingStream(upgraded, ownsInner: true);
        Volatile.Write(ref _stream, stream);
        return stream;
    }
}
