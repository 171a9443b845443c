using System.Collections.Concurrent;
using System.Formats.Asn1;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using SegmentController.Core.Policy;
using SegmentController.Snmp.Protocol;
using SegmentController.Snmp.Security;
using Oid = SegmentController.Snmp.Protocol.Oid;

namespace SegmentController.Snmp.Transport;

/// <summary>
/// An SNMP v2c/v3 client for one agent over one connected UDP socket. A single receive loop matches
/// answers to outstanding requests by request-id (v2c) or msgID (v3); anything else — wrong ids,
/// malformed BER, bad digests, foreign engine ids — is counted and dropped, so a hostile peer can delay
/// a request until its timeout but never crash it or make it accept a forged answer.
/// Concurrency: the engine state is an immutable snapshot swapped atomically; requests in flight are
/// bounded by a semaphore.
/// </summary>
internal sealed class SnmpClient : ISnmpClient
{
    public const int MaxMessageSize = 65507;

    private static readonly Oid UsmStats = Oid.Parse("1.3.6.1.6.3.15.1.1");
    private static readonly Oid UnsupportedSecLevels = UsmStats.Append(1, 0);
    private static readonly Oid NotInTimeWindows = UsmStats.Append(2, 0);
    private static readonly Oid UnknownUserNames = UsmStats.Append(3, 0);
    private static readonly Oid UnknownEngineIds = UsmStats.Append(4, 0);
    private static readonly Oid WrongDigests = UsmStats.Append(5, 0);
    private static readonly Oid DecryptionErrors = UsmStats.Append(6, 0);
    private static readonly Oid UnavailableContexts = Oid.Parse("1.3.6.1.6.3.12.1.4.0");
    private static readonly Oid UnknownContexts = Oid.Parse("1.3.6.1.6.3.12.1.5.0");

    private readonly Socket _socket;
    private readonly SnmpClientOptions _options;
    private readonly TimeProvider _time;
    private readonly UsmKeys _keys;
    private readonly ConcurrentDictionary<int, Pending> _pending = new();
    private readonly SemaphoreSlim _inFlight;
    private readonly SemaphoreSlim _discovery = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _receiveLoop;
    private readonly byte[] _community;
    private int _nextId = RandomNumberGenerator.GetInt32(1, int.MaxValue / 2);
    private long _salt = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(8));
    private volatile EngineState? _engine;
    private long _sent;
    private long _received;
    private long _unmatched;
    private static readonly TimeSpan ReceiveErrorPause = TimeSpan.FromMilliseconds(10);

    private long _malformed;
    private long _authFailures;
    private long _wrongEngine;
    private long _notInTimeWindow;
    private long _refused;
    private long _requests;
    private int _inFlightNow;
    private int _peakInFlight;

    private SnmpClient(string target, IPEndPoint endpoint, SnmpCredentials credentials, SnmpClientOptions options, TimeProvider time, UsmKeys keys)
    {
        Target = target;
        Endpoint = endpoint;
        Credentials = credentials;
        _options = options;
        _time = time;
        _keys = keys;
        _community = Encoding.UTF8.GetBytes(credentials.Community);
        _inFlight = new SemaphoreSlim(Math.Max(1, options.MaxInFlight));
        _socket = new Socket(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // Room for bursts of GETBULK answers (and for floods to be counted rather than silently lost).
            _socket.ReceiveBufferSize = 1 << 20;
            // Connecting filters datagrams from any other source in the kernel.
            _socket.Connect(endpoint);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }

        _receiveLoop = Task.Run(ReceiveLoopAsync);
    }

    public string Target { get; }

    public IPEndPoint Endpoint { get; }

    public SnmpCredentials Credentials { get; }

    public SnmpStatistics Statistics => new(
        Interlocked.Read(ref _sent),
        Interlocked.Read(ref _received),
        Interlocked.Read(ref _unmatched),
        Interlocked.Read(ref _malformed),
        Interlocked.Read(ref _authFailures),
        Interlocked.Read(ref _wrongEngine),
        Interlocked.Read(ref _notInTimeWindow),
        Interlocked.Read(ref _refused),
        Interlocked.Read(ref _requests),
        Volatile.Read(ref _peakInFlight));

    /// <summary>The authoritative engine id learned by discovery (v3), or null.</summary>
    public byte[]? EngineId => _engine?.EngineId;

    public static async Task<SnmpClient> ConnectAsync(
        string target,
        SnmpCredentials credentials,
        SnmpClientOptions? options = null,
        TimeProvider? time = null,
        UsmKeys? keys = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        credentials.Validate();
        var (host, port) = SnmpTarget.Parse(target);
        var endpoint = await SnmpTarget.ResolveAsync(host, port, cancellationToken).ConfigureAwait(false);
        return new SnmpClient(target, endpoint, credentials, options ?? new SnmpClientOptions(), time ?? TimeProvider.System, keys ?? UsmKeys.Shared);
    }

    public async Task<Pdu> SendAsync(PduType type, IReadOnlyList<VarBind> varBinds, int nonRepeaters, int maxRepetitions, SnmpContext? context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(varBinds);
        ObjectDisposedException.ThrowIf(_stopping.IsCancellationRequested, this);
        await _inFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
        NoteInFlight(Interlocked.Increment(ref _inFlightNow));
        try
        {
            var errorStatus = type == PduType.GetBulkRequest ? nonRepeaters : 0;
            var errorIndex = type == PduType.GetBulkRequest ? maxRepetitions : 0;
            return Credentials.Version == SnmpVersion.V2c
                ? await SendV2cAsync(type, varBinds, errorStatus, errorIndex, context, cancellationToken).ConfigureAwait(false)
                : await SendV3Async(type, varBinds, errorStatus, errorIndex, context, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlightNow);
            _inFlight.Release();
        }
    }

    private void NoteInFlight(int now)
    {
        var peak = Volatile.Read(ref _peakInFlight);
        while (now > peak)
        {
            var seen = Interlocked.CompareExchange(ref _peakInFlight, now, peak);
            if (seen == peak)
            {
                return;
            }

            peak = seen;
        }
    }

    private async Task<Pdu> SendV2cAsync(PduType type, IReadOnlyList<VarBind> varBinds, int errorStatus, int errorIndex, SnmpContext? context, CancellationToken cancellationToken)
    {
        var id = NextId();
        var community = Credentials.Community + (context?.V2cCommunitySuffix ?? "");
        var bytes = CommunityMessage.Encode(community, new Pdu(type, id, errorStatus, errorIndex, varBinds));
        var pending = new Pending(id, Encoding.UTF8.GetBytes(community), null, null, null, MessageFlags.None);
        var answer = await ExchangeAsync(pending, () => bytes, cancellationToken).ConfigureAwait(false);
        return answer.Pdu;
    }

    private async Task<Pdu> SendV3Async(PduType type, IReadOnlyList<VarBind> varBinds, int errorStatus, int errorIndex, SnmpContext? context, CancellationToken cancellationToken)
    {
        var engine = _engine ?? await DiscoverAsync(null, cancellationToken).ConfigureAwait(false);
        var contextName = Encoding.UTF8.GetBytes(context?.V3ContextName ?? Credentials.Context);
        var flags = MessageFlags.Reportable
            | (Credentials.AuthProtocol is null ? MessageFlags.None : MessageFlags.Auth)
            | (Credentials.PrivProtocol is null ? MessageFlags.None : MessageFlags.Priv);
        var resynchronised = false;
        var rediscovered = false;
        while (true)
        {
            var id = NextId();
            var pdu = new Pdu(type, id, errorStatus, errorIndex, varBinds);
            var scoped = V3Message.EncodeScopedPdu(new ScopedPdu(engine.EngineId, contextName, pdu));
            var current = engine;
            var pending = new Pending(id, null, current, current.AuthKey, current.PrivKey, flags);
            var answer = await ExchangeAsync(pending, () => BuildV3(id, flags, current, scoped), cancellationToken).ConfigureAwait(false);
            if (answer.Pdu.Type != PduType.Report)
            {
                return answer.Pdu;
            }

            var reported = ReportedOid(answer.Pdu);
            var authentic = answer.Message is { } reportMessage && (reportMessage.Flags & MessageFlags.Auth) != 0;
            if (reported == NotInTimeWindows && authentic && !resynchronised)
            {
                // RFC 3414 §4: an authenticated notInTimeWindow report carries the agent's clock; adopt it and retry once.
                resynchronised = true;
                var timed = answer.Message!;
                engine = current with { Boots = timed.Usm.EngineBoots, Time = timed.Usm.EngineTime, LearnedAt = _time.GetTimestamp() };
                _engine = engine;
                continue;
            }

            if ((reported == UnknownEngineIds || (reported == NotInTimeWindows && !authentic)) && !rediscovered)
            {
                // The agent no longer knows the engine id we used (it was re-provisioned or replaced), or claims
                // a clock we cannot authenticate: learn engine id, boots and time afresh and retry once.
                rediscovered = true;
                engine = await DiscoverAsync(current, cancellationToken).ConfigureAwait(false);
                continue;
            }

            throw ReportError(reported, contextName);
        }
    }

    private SnmpException ReportError(Oid? reported, byte[] contextName)
    {
        var user = Credentials.User;
        if (reported == UnknownUserNames)
        {
            return new SnmpException(SnmpErrorKind.UnknownUser, $"{Target} rejected the credentials: unknown user '{user}' (usmStatsUnknownUserNames)");
        }

        if (reported == WrongDigests)
        {
            return new SnmpException(SnmpErrorKind.WrongDigest, $"{Target} rejected the credentials: wrong authentication pass phrase or protocol for user '{user}' (usmStatsWrongDigests)");
        }

        if (reported == DecryptionErrors)
        {
            return new SnmpException(SnmpErrorKind.DecryptionError, $"{Target} rejected the credentials: it cannot decrypt our request — wrong privacy pass phrase or protocol for user '{user}' (usmStatsDecryptionErrors)");
        }

        if (reported == UnsupportedSecLevels)
        {
            return new SnmpException(SnmpErrorKind.UnsupportedSecurityLevel, $"{Target} rejected the credentials: user '{user}' is not configured for this security level (usmStatsUnsupportedSecLevels)");
        }

        if (reported == NotInTimeWindows)
        {
            return new SnmpException(SnmpErrorKind.NotInTimeWindow, $"{Target} still reports notInTimeWindow after resynchronising its clock (usmStatsNotInTimeWindows)");
        }

        if (reported == UnknownEngineIds)
        {
            return new SnmpException(SnmpErrorKind.UnknownEngineId, $"{Target} still reports an unknown engine id after rediscovery (usmStatsUnknownEngineIDs)");
        }

        if (reported == UnknownContexts || reported == UnavailableContexts)
        {
            return new SnmpException(SnmpErrorKind.UnknownContext, $"{Target} does not know context '{Encoding.UTF8.GetString(contextName)}'");
        }

        return new SnmpException(SnmpErrorKind.Report, $"{Target} answered with a Report PDU ({reported?.ToString() ?? "no variable"})");
    }

    private async Task<EngineState> DiscoverAsync(EngineState? stale, CancellationToken cancellationToken)
    {
        await _discovery.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Another request may have rediscovered while this one waited: a different engine id is news enough.
            if (_engine is { } known && (stale is null || !known.EngineId.AsSpan().SequenceEqual(stale.EngineId)))
            {
                return known;
            }

            var id = NextId();
            var probe = V3Message.EncodeScopedPdu(new ScopedPdu([], [], new Pdu(PduType.GetRequest, id, 0, 0, [])));
            var usm = new UsmSecurityParameters([], 0, 0, [], [], []);
            var bytes = V3Message.Encode(id, MaxMessageSize, MessageFlags.Reportable, usm, probe, encrypted: false);
            var pending = new Pending(id, null, null, null, null, MessageFlags.None);
            var answer = await ExchangeAsync(pending, () => bytes, cancellationToken).ConfigureAwait(false);
            var message = answer.Message!;
            if (message.Usm.EngineId.Length is < 5 or > 32)
            {
                throw new SnmpException(SnmpErrorKind.Protocol, $"{Target} announced an invalid engine id ({message.Usm.EngineId.Length} octets)");
            }

            var engineId = message.Usm.EngineId;
            byte[]? authKey = null;
            byte[]? privKey = null;
            if (Credentials.AuthProtocol is { } auth)
            {
                authKey = _keys.Localized(auth, Credentials.AuthPassphrase, engineId);
                if (Credentials.PrivProtocol is not null)
                {
                    // RFC 3826 §1.2: the privacy key is localised with the authentication protocol's hash.
                    privKey = _keys.Localized(auth, Credentials.PrivPassphrase, engineId);
                }
            }

            var state = new EngineState(engineId, message.Usm.EngineBoots, message.Usm.EngineTime, _time.GetTimestamp(), authKey, privKey);
            _engine = state;
            return state;
        }
        finally
        {
            _discovery.Release();
        }
    }

    private byte[] BuildV3(int id, MessageFlags flags, EngineState engine, byte[] scoped)
    {
        var engineTime = EstimatedTime(engine);
        var authLength = Credentials.AuthProtocol is { } a ? AuthAlgorithm.DigestLength(a) : 0;
        byte[] privParams = [];
        var data = scoped;
        var encrypted = false;
        if (Credentials.PrivProtocol is { } priv)
        {
            var salt = unchecked((ulong)Interlocked.Increment(ref _salt));
            data = PrivacyAlgorithm.Encrypt(priv, engine.PrivKey!, engine.Boots, engineTime, salt, scoped, out privParams);
            encrypted = true;
        }

        var usm = new UsmSecurityParameters(engine.EngineId, engine.Boots, engineTime, Encoding.UTF8.GetBytes(Credentials.User), new byte[authLength], privParams);
        var message = V3Message.Encode(id, MaxMessageSize, flags, usm, data, encrypted);
        if (Credentials.AuthProtocol is { } auth)
        {
            var offset = V3Message.Decode(message).AuthParamsOffset;
            var digest = AuthAlgorithm.Hmac(auth, engine.AuthKey, message);
            digest.AsSpan(0, authLength).CopyTo(message.AsSpan(offset));
        }

        return message;
    }

    private async Task<Answer> ExchangeAsync(Pending pending, Func<byte[]> build, CancellationToken cancellationToken)
    {
        if (!_pending.TryAdd(pending.Id, pending))
        {
            throw new InvalidOperationException("request id collision");
        }

        var before = Statistics;
        Interlocked.Increment(ref _requests);
        try
        {
            for (var attempt = 0; attempt <= _options.Retries; attempt++)
            {
                var bytes = build();
                try
                {
                    await _socket.SendAsync(bytes, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                    Interlocked.Increment(ref _sent);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable)
                {
                    Interlocked.Increment(ref _refused);
                }

                try
                {
                    return await pending.Completion.Task.WaitAsync(_options.Timeout, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                }
            }
        }
        finally
        {
            _pending.TryRemove(pending.Id, out _);
        }

        throw TimeoutError(before, Statistics, pending.Engine is not null);
    }

    private SnmpException TimeoutError(SnmpStatistics before, SnmpStatistics after, bool engineDiscovered)
    {
        var attempts = _options.Retries + 1;
        var total = _options.Timeout * attempts;
        var dropped = new List<string>();
        void Note(long count, string what)
        {
            if (count > 0)
            {
                dropped.Add($"{count} {what}");
            }
        }

        Note(after.Malformed - before.Malformed, "malformed");
        Note(after.Unmatched - before.Unmatched, "with a wrong request id");
        Note(after.AuthenticationFailures - before.AuthenticationFailures, "failing authentication");
        Note(after.WrongEngine - before.WrongEngine, "from a wrong engine id");
        Note(after.NotInTimeWindow - before.NotInTimeWindow, "authentic but outside the time window (replayed)");
        var refused = after.Refused > before.Refused;
        var detail = dropped.Count > 0 ? $"; dropped answers: {string.Join(", ", dropped)}" : "";
        var hint = Credentials.Version == SnmpVersion.V2c ? " (agent down, filtered, or community rejected)"
            : engineDiscovered && Credentials.PrivProtocol is not null && dropped.Count == 0
                // net-snmp logs "error parsing ScopedPDU" and sends nothing back when it cannot decrypt a request.
                ? $" although it answered engine discovery: most likely a wrong privacy pass phrase or protocol for user '{Credentials.User}' (agents drop requests they cannot decrypt), or the agent went down"
                : " (agent down or filtered)";
        return refused
            ? new SnmpException(SnmpErrorKind.Refused, $"{Target} refused SNMP (ICMP port unreachable): no agent listens there{detail}")
            : new SnmpException(SnmpErrorKind.Timeout, $"no valid answer from {Target} within {total.TotalSeconds:0.###} s ({attempts} attempts){hint}{detail}");
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[MaxMessageSize + 1];
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await _socket.ReceiveAsync(buffer, SocketFlags.None, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset or SocketError.HostUnreachable or SocketError.NetworkUnreachable)
            {
                Interlocked.Increment(ref _refused);
                continue;
            }
            catch (SocketException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                // Another error of the socket's (an ICMP report of another kind, a kernel short of buffers): counted as
                // refused, and the loop goes on after a pause, so that one that persists cannot spin it.
                Interlocked.Increment(ref _refused);
                try
                {
                    await Task.Delay(ReceiveErrorPause, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            Interlocked.Increment(ref _received);
            if (length > MaxMessageSize)
            {
                Interlocked.Increment(ref _malformed);
                continue;
            }

            var datagram = buffer.AsSpan(0, length).ToArray();
            try
            {
                if (Credentials.Version == SnmpVersion.V2c)
                {
                    AcceptV2c(datagram);
                }
                else
                {
                    AcceptV3(datagram);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Whatever a datagram does to the decoders (SnmpDecodeException, CryptographicException, the ASN.1
                // reader's own, or a kind nobody foresaw), it is one malformed answer: it must not end the receive
                // loop, which would leave every later request of this client to time out.
                Interlocked.Increment(ref _malformed);
            }
        }
    }

    private void AcceptV2c(byte[] datagram)
    {
        var (community, pdu) = CommunityMessage.Decode(datagram);
        if (pdu.Type != PduType.Response || !_pending.TryGetValue(pdu.RequestId, out var pending)
            || !pending.Community.AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(community)))
        {
            Interlocked.Increment(ref _unmatched);
            return;
        }

        pending.Completion.TrySetResult(new Answer(pdu, null));
    }

    private void AcceptV3(byte[] datagram)
    {
        var message = V3Message.Decode(datagram);
        if (!_pending.TryGetValue(message.MsgId, out var pending))
        {
            Interlocked.Increment(ref _unmatched);
            return;
        }

        var authenticated = (message.Flags & MessageFlags.Auth) != 0;
        var foreignEngine = false;
        if (pending.Engine is { } engine)
        {
            if (!message.Usm.EngineId.AsSpan().SequenceEqual(engine.EngineId))
            {
                // An agent that no longer knows our engine id answers with an unauthenticated Report carrying its
                // own (RFC 3414 §3.2 step 3). Only such a Report is let through, to trigger one rediscovery.
                if (authenticated || message.IsEncrypted)
                {
                    Interlocked.Increment(ref _wrongEngine);
                    return;
                }

                foreignEngine = true;
            }

            if (authenticated)
            {
                if (pending.AuthKey is null || !Verify(datagram, message, pending.AuthKey))
                {
                    Interlocked.Increment(ref _authFailures);
                    return;
                }
            }
        }
        else if (authenticated)
        {
            // Discovery: nothing to verify against yet, and an authenticated answer to an unauthenticated probe is wrong.
            Interlocked.Increment(ref _authFailures);
            return;
        }

        ScopedPdu scoped;
        if (message.IsEncrypted)
        {
            if (!authenticated || (message.Flags & MessageFlags.Priv) == 0 || pending.PrivKey is null)
            {
                Interlocked.Increment(ref _malformed);
                return;
            }

            var plain = PrivacyAlgorithm.Decrypt(Credentials.PrivProtocol!.Value, pending.PrivKey, message.Usm.EngineBoots, message.Usm.EngineTime, message.Usm.PrivParams, message.Data.Span);
            scoped = V3Message.DecodeScopedPdu(plain);
        }
        else
        {
            scoped = V3Message.DecodeScopedPdu(message.Data);
        }

        var pdu = scoped.Pdu;
        if (foreignEngine && (pdu.Type != PduType.Report || ReportedOid(pdu) is not { } reported || (reported != UnknownEngineIds && reported != NotInTimeWindows)))
        {
            Interlocked.Increment(ref _wrongEngine);
            return;
        }

        if (pdu.Type == PduType.Response)
        {
            // A response must come at the security level of the request; only Reports may be lower.
            var level = message.Flags & (MessageFlags.Auth | MessageFlags.Priv);
            if (level != (pending.Flags & (MessageFlags.Auth | MessageFlags.Priv)) || pdu.RequestId != pending.Id)
            {
                Interlocked.Increment(ref _unmatched);
                return;
            }
        }
        else if (pdu.Type != PduType.Report)
        {
            Interlocked.Increment(ref _unmatched);
            return;
        }

        if (authenticated && pending.Engine is { } known && pdu.Type == PduType.Response && OutsideTimeWindow(message.Usm, Latest(known)))
        {
            // RFC 3414 §3.2 step 7b: a signed answer from an earlier boot, or from well before the agent's time we last
            // learned, is a replay of an old answer (an old read-back of ifAdminStatus, say), however good its digest.
            // Reports are let through: the worst they do is one resynchronisation, or fail the request.
            Interlocked.Increment(ref _notInTimeWindow);
            return;
        }

        if (authenticated && pending.Engine is { } current && message.Usm.EngineBoots >= current.Boots)
        {
            // RFC 3414 §3.2 step 7b: an authentic message moves our notion of the agent's clock forward.
            var estimate = EstimatedTime(current);
            if (message.Usm.EngineBoots > current.Boots || message.Usm.EngineTime > estimate)
            {
                var updated = current with { Boots = message.Usm.EngineBoots, Time = message.Usm.EngineTime, LearnedAt = _time.GetTimestamp() };
                Interlocked.CompareExchange(ref _engine, updated, current);
            }
        }

        pending.Completion.TrySetResult(new Answer(pdu, message));
    }

    /// <summary>
    /// The agent's snmpEngineTime now, by our clock since we learned it: at most 2147483647 (RFC 3414 §2.2), where the
    /// agent's own clock stops and its boots go up; a sum past it would be sent as a negative time.
    /// </summary>
    private int EstimatedTime(EngineState engine) =>
        (int)Math.Min((long)engine.Time + (long)_time.GetElapsedTime(engine.LearnedAt).TotalSeconds, int.MaxValue);

    /// <summary>The engine state most recently learned for the engine of <paramref name="sent"/>.</summary>
    private EngineState Latest(EngineState sent) =>
        _engine is { } now && now.EngineId.AsSpan().SequenceEqual(sent.EngineId) && (now.Boots > sent.Boots || (now.Boots == sent.Boots && now.Time > sent.Time)) ? now : sent;

    /// <summary>
    /// RFC 3414 §3.2 step 7b for a non-authoritative engine: outside the window are the boots limit (2147483647),
    /// an earlier boot, and a time more than 150 s behind the latest learned.
    /// </summary>
    private static bool OutsideTimeWindow(UsmSecurityParameters usm, EngineState latest) =>
        usm.EngineBoots == int.MaxValue
        || usm.EngineBoots < latest.Boots
        || (usm.EngineBoots == latest.Boots && (long)usm.EngineTime < (long)latest.Time - 150);

    private static Oid? ReportedOid(Pdu pdu) => pdu.VarBinds.Count > 0 ? pdu.VarBinds[0].Oid : null;

    private bool Verify(byte[] datagram, V3Message message, byte[] authKey)
    {
        var protocol = Credentials.AuthProtocol!.Value;
        var length = AuthAlgorithm.DigestLength(protocol);
        if (message.Usm.AuthParams.Length != length)
        {
            return false;
        }

        var copy = (byte[])datagram.Clone();
        copy.AsSpan(message.AuthParamsOffset, length).Clear();
        var digest = AuthAlgorithm.Hmac(protocol, authKey, copy);
        return CryptographicOperations.FixedTimeEquals(digest.AsSpan(0, length), message.Usm.AuthParams);
    }

    private int NextId()
    {
        while (true)
        {
            var id = Interlocked.Increment(ref _nextId) & int.MaxValue;
            if (id != 0 && !_pending.ContainsKey(id))
            {
                return id;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        try
        {
            await _receiveLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stopping.Dispose();
        _inFlight.Dispose();
        _discovery.Dispose();
    }

    private sealed record EngineState(byte[] EngineId, int Boots, int Time, long LearnedAt, byte[]? AuthKey, byte[]? PrivKey);

    private sealed record Answer(Pdu Pdu, V3Message? Message);

    private sealed class Pending(int id, byte[]? community, EngineState? engine, byte[]? authKey, byte[]? privKey, MessageFlags flags)
    {
        public int Id { get; } = id;

        public byte[]? Community { get; } = community;

        public EngineState? Engine { get; } = engine;

        public byte[]? AuthKey { get; } = authKey;

        public byte[]? PrivKey { get; } = privKey;

        public MessageFlags Flags { get; } = flags;

        public TaskCompletionSource<Answer> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
