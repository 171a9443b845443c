using System.Net;
using Microsoft.AspNetCore.Connections;
using SegmentController.Core.Suspension;
using SegmentController.Proxy.Enforcement;

namespace SegmentController.Proxy.Gate;

/// <summary>
/// Kestrel connection middleware, before TLS: a suspended client's new connections are dropped before
/// a byte of handshake, and every connection of a client is tracked so a trip can cut it (this covers
/// keep-alive connections, HTTP/2 streams and upgraded WebSockets alike).
/// </summary>
internal sealed class ConnectionGate : ISuspensionEnforcer
{
    private readonly ClientDirectory _directory;
    private readonly ISuspensionView _suspensions;
    private readonly ClientTracker<ConnectionContext> _connections = new();

    public ConnectionGate(ClientDirectory directory, ISuspensionView suspensions)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(suspensions);
        _directory = directory;
        _suspensions = suspensions;
    }

    public SuspensionStage Stage => SuspensionStage.Gate;

    /// <summary>Live connections of a client (for tests and status).</summary>
    public int ConnectionCount(string client) => _connections.Count(client);

    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(next);
        var client = _directory.Resolve((connection.RemoteEndPoint as IPEndPoint)?.Address);
        if (client is null)
        {
            // Unknown sources are answered per request (403 and an unknown-source finding).
            await next(connection).ConfigureAwait(false);
            return;
        }

        _connections.Add(client, connection);
        try
        {
            if (_suspensions.Current.IsSuspended(client))
            {
                connection.Abort(new ConnectionAbortedException("client suspended"));
                return;
            }

            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            _connections.Remove(client, connection);
        }
    }

    public void Enforce(string scope)
    {
        foreach (var connection in _connections.Snapshot(scope))
        {
            try
            {
                connection.Abort(new ConnectionAbortedException("client suspended"));
            }
            catch (ObjectDisposedException)
            {
                // Closed between the snapshot and the abort.
            }
        }
    }
}
