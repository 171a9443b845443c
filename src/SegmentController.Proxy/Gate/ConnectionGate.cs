using System.Net;
using Microsoft.AspNetCore.Connections;
using SegmentController.Core.Suspension;
using SegmentController.Proxy.Configuration;
using SegmentController.Proxy.Enforcement;

namespace SegmentController.Proxy.Gate;

/// <summary>
/// Kestrel connection middleware, before TLS: a suspended client's new connections are dropped before
/// a byte of handshake — and while the site-wide switch is on, every connection is, a source in no
/// client segment included — and every connection is tracked so a trip can cut it (this covers
/// keep-alive connections, HTTP/2 streams and upgraded WebSockets alike). Each drop is counted and
/// recorded (<see cref="GateRefusals"/>).
/// </summary>
internal sealed class ConnectionGate : ISuspensionEnforcer
{
    // Connections from sources in no client segment are tracked under this key, which is no client id:
    // only the site-wide switch (scope "*") cuts them.
    private const string NoClient = "";

    private readonly ClientDirectory _directory;
    private readonly ISuspensionView _suspensions;
    private readonly GateRefusals _refusals;
    private readonly ClientTracker<ConnectionContext> _connections = new();

    public ConnectionGate(ClientDirectory directory, ISuspensionView suspensions, GateRefusals refusals)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(suspensions);
        ArgumentNullException.ThrowIfNull(refusals);
        _directory = directory;
        _suspensions = suspensions;
        _refusals = refusals;
    }

    public SuspensionStage Stage => SuspensionStage.Gate;

    /// <summary>Live connections of a client (for tests and status).</summary>
    public int ConnectionCount(string client) => _connections.Count(client);

    /// <summary>
    /// The live connection the server knows as <paramref name="connectionId"/>, or null once it has ended: for what the
    /// server reports of a connection by its id alone (<see cref="Access.Http2Refusals"/>). A walk over every live
    /// connection, not kept per request.
    /// </summary>
    public ConnectionContext? Find(string connectionId) =>
        _connections.Find(static (connection, id) => string.Equals(connection.ConnectionId, id, StringComparison.Ordinal), connectionId);

    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(next);
        if (connection.RemoteEndPoint is IPEndPoint { Address.IsIPv4MappedToIPv6: true } mapped)
        {
            // A dual-stack listener sees an IPv4 agent as ::ffff:a.b.c.d. Everything after the gate (the
            // request's RemoteIpAddress, access records, findings, X-Forwarded-For to the upstream) names
            // it as the policy, the capture and an IPv4 listener do.
            connection.RemoteEndPoint = new IPEndPoint(mapped.Address.MapToIPv4(), mapped.Port);
        }

        var address = (connection.RemoteEndPoint as IPEndPoint)?.Address;
        string? client;
        string key;
        while (true)
        {
            var snapshot = _directory.Current;
            client = snapshot.Addresses.Resolve(address);
            key = client ?? NoClient;

            // Track before checking: a trip publishes its state before it enumerates the tracked connections,
            // and a reload puts its snapshot in force before it judges them again (Reattribute): tracked
            // under the policy still in force after it is tracked, or tracked again under the new one.
            _connections.Add(key, connection);
            if (ReferenceEquals(snapshot, _directory.Current))
            {
                break;
            }

            _connections.Remove(key, connection);
        }

        try
        {
            var state = _suspensions.Current;
            if (client is null ? state.AllSuspended : state.IsSuspended(client))
            {
                _refusals.Refused(client, address?.ToString() ?? "?");
                connection.Abort(new ConnectionAbortedException("client suspended"));
                return;
            }

            // Unknown sources get through only while someone is served: each request is answered 403
            // with an unknown-source finding.
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            _connections.Remove(key, connection);
        }
    }

    /// <summary>
    /// The client's new connections are refused from the moment the engine published the suspension
    /// (<see cref="OnConnectionAsync"/> checks it); its established ones are closed on the thread pool,
    /// queued here and not waited for.
    /// </summary>
    /// <remarks>
    /// Why not here: closing a socket waits until a send or receive in progress on it returns, and a trip
    /// runs at real-time priority (<see cref="TripPriority"/>). A pool thread the trip preempted in the
    /// middle of a send could not return until the trip's spin-wait fell back to a 1 ms sleep: under load,
    /// one close took 1.08–1.26 ms in 10 of 101 trips (the proxy benchmark, instrumented). Nothing can be
    /// forwarded on those connections meanwhile: every request checks the suspension first, and the next
    /// stages cancel forwarding and reset the client's upstream sockets.
    /// </remarks>
    public void Enforce(string scope)
    {
        var connections = _connections.Snapshot(scope);
        if (connections.Length > 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static connections => Close(connections), connections, preferLocal: false);
        }
    }

    /// <summary>
    /// A reload put <paramref name="current"/> in force: a connection whose source now belongs to another
    /// client (or to none, or newly to one) is closed, on the thread pool like a trip's. The agent's next
    /// connection is gated as what the new policy says it is — refused if that client is suspended — and
    /// nothing stays open under a client the agent no longer belongs to, for that client's trip to miss.
    /// </summary>
    public void Reattribute(ProxySnapshot current)
    {
        ArgumentNullException.ThrowIfNull(current);
        List<ConnectionContext>? moved = null;
        foreach (var (key, connection) in _connections.All())
        {
            var address = (connection.RemoteEndPoint as IPEndPoint)?.Address;
            if (!string.Equals(current.Addresses.Resolve(address) ?? NoClient, key, StringComparison.Ordinal))
            {
                (moved ??= []).Add(connection);
            }
        }

        if (moved is not null)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static connections => Close(connections, "the policy moved its source to another client"), moved.ToArray(), preferLocal: false);
        }
    }

    private static void Close(ConnectionContext[] connections) => Close(connections, "client suspended");

    private static void Close(ConnectionContext[] connections, string reason)
    {
        foreach (var connection in connections)
        {
            try
            {
                connection.Abort(new ConnectionAbortedException(reason));
            }
            catch (ObjectDisposedException)
            {
                // Closed between the snapshot and the abort.
            }
        }
    }
}
