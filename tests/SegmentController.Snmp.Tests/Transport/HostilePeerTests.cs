using System.Formats.Asn1;
using SegmentController.Core.Policy;
using SegmentController.Snmp.Protocol;
using SegmentController.Snmp.Tests.Infrastructure;
using SegmentController.Snmp.Transport;
using SegmentController.Snmp.Walking;

namespace SegmentController.Snmp.Tests.Transport;

public sealed class HostilePeerTests
{
    private static readonly Oid SysDescr = Oid.Parse("1.3.6.1.2.1.1.1.0");
    // What each test asserts comes from the peer's answers (counted junk, a walk's thousand answers before its
    // byte bound): each send has a window a busy machine's late answer still falls in, and a walk its time.
    private static readonly SnmpClientOptions Answering = new() { Timeout = TimeSpan.FromSeconds(2), Retries = 1 };
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(2);

    private static byte[] Answer(byte[] request, Func<Pdu, Pdu> change)
    {
        var (community, pdu) = CommunityMessage.Decode(request);
        var response = new Pdu(PduType.Response, pdu.RequestId, 0, 0, pdu.VarBinds.Select(v => new VarBind(v.Oid, SnmpValue.OctetString("hello"))).ToArray());
        return CommunityMessage.Encode(community, change(response));
    }

    [Fact]
    public async Task TruncatedBer_DroppedAndCounted_TimesOutClearly()
    {
        await using var peer = new HostileResponder(request => [Answer(request, p => p)[..^3]]);
        await using var client = await SnmpClient.ConnectAsync(peer.Target, SnmpCredentials.V2c("public"), Answering);
        var e = await Assert.ThrowsAsync<SnmpException>(() => client.GetAsync([SysDescr]).WaitAsync(Bound));
        Assert.Equal(SnmpErrorKind.Timeout, e.Kind);
        Assert.Contains("malformed", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, client.Statistics.Malformed);
    }

    [Fact]
    public async Task OversizedLengthClaim_DroppedAndCounted()
    {
        byte[] lie = [0x30, 0x84, 0x7F, 0xFF, 0xFF, 0xFF, 0x02, 0x01, 0x01];
        byte[] deep = [.. Enumerable.Repeat((byte)0x30, 2000).SelectMany(b => new byte[] { b, 0x80 })];
        await using var peer = new HostileResponder(_ => [lie, deep, Array.Empty<byte>()]);
        await using var client = await SnmpClient.ConnectAsync(peer.Target, SnmpCredentials.V2c("public"), Answering);
        var e = await Assert.ThrowsAsync<SnmpException>(() => client.GetAsync([SysDescr]).WaitAsync(Bound));
        Assert.Equal(SnmpErrorKind.Timeout, e.Kind);
        Assert.True(client.Statistics.Malformed >= 4, $"malformed {client.Statistics.Malformed}");
    }

    [Fact]
    public async Task WrongRequestIds_IgnoredAndCounted()
    {
        await using var peer = new HostileResponder(request => [Answer(request, p => p with { RequestId = p.RequestId + 1 })]);
        await using var client = await SnmpClient.ConnectAsync(peer.Target, SnmpCredentials.V2c("public"), Answering);
        var e = await Assert.ThrowsAsync<SnmpException>(() => client.GetAsync([SysDescr]).WaitAsync(Bound));
        Assert.Contains("wrong request id", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, client.Statistics.Unmatched);
    }

    [Fact]
    public async Task FloodBeforeTheRealAnswer_RealAnswerAccepted()
    {
        static IEnumerable<byte[]> Flood(byte[] request)
        {
            // 3,000 datagrams in bursts the default socket buffer holds; a single burst larger than the
            // receive buffer would lose datagrams in the kernel (the real answer among them) — UDP, not us.
            for (var i = 0; i < 3000; i++)
            {
                yield return i % 2 == 0 ? [0x30, 0x03, 0x02, 0x01] : Answer(request, p => p with { RequestId = p.RequestId ^ (i + 1) });
                if (i % 100 == 99)
                {
                    Thread.Sleep(15);
                }
            }

            // Quiet long enough for a client slowed by a loaded machine to drain what its socket holds.
            // With 300 ms the answer went missing in 1 run of 5 alone: the client had seen 3,980 of the
            // 4,500 datagrams of each kind (the rest lost to a full socket buffer), and no answer.
            Thread.Sleep(1500);
            yield return Answer(request, p => p);
        }

        await using var peer = new HostileResponder(Flood);
        await using var client = await SnmpClient.ConnectAsync(peer.Target, SnmpCredentials.V2c("public"), new SnmpClientOptions { Timeout = TimeSpan.FromSeconds(4), Retries = 2 });
        var result = await client.GetAsync([SysDescr]).WaitAsync(Bound);
        Assert.Equal("hello", result[0].Value.AsText());
        Assert.True(client.Statistics.Malformed + client.Statistics.Unmatched > 100);
    }

    [Fact]
    public async Task WalkWithNonIncreasingOids_FailsCleanly()
    {
        var root = Oid.Parse("1.3.6.1.2.1.2.2.1.2");
        await using var peer = new HostileResponder(request => [Answer(request, p => p with { VarBinds = [new VarBind(root.Append(5), SnmpValue.Integer(1)), new VarBind(root.Append(3), SnmpValue.Integer(1))] })]);
        await using var client = await SnmpClient.ConnectAsync(peer.Target, SnmpCredentials.V2c("public"), Answering);
        var e = await Assert.ThrowsAsync<SnmpException>(() => TableWalker.WalkSubtreeAsync(client, root, 10).WaitAsync(Bound));
        Assert.Equal(SnmpErrorKind.Protocol, e.Kind);
        Assert.Contains("not increasing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WalkOfEndlessLargeRows_GivesUpAtTheByteBoundWellBeforeTheRowBound()
    {
        // Each answer one row further on, holding a 60,000-byte string: within the row bound, a walk would
        // hold gigabytes. Both walks stop at the byte bound with a clear error.
        var root = Oid.Parse("1.3.6.1.2.1.2.2.1.2");
        var large = SnmpValue.OctetString(new string('x', 60_000));
        await using var peer = new HostileResponder(request =>
        {
            var (community, pdu) = CommunityMessage.Decode(request);
            var asked = pdu.VarBinds[0].Oid;
            var next = asked.Length == root.Length ? root.Append(1) : root.Append(asked[asked.Length - 1] + 1);
            return [CommunityMessage.Encode(community, new Pdu(PduType.Response, pdu.RequestId, 0, 0, [new VarBind(next, large)]))];
        });
        await using var client = await SnmpClient.ConnectAsync(peer.Target, SnmpCredentials.V2c("public"), Answering);

        var subtree = await Assert.ThrowsAsync<SnmpException>(() => TableWalker.WalkSubtreeAsync(client, root, 10).WaitAsync(Bound));
        var column = await Assert.ThrowsAsync<SnmpException>(() => TableWalker.WalkAsync(client, [root], 10).WaitAsync(Bound));

        foreach (var e in (SnmpException[])[subtree, column])
        {
            Assert.Equal(SnmpErrorKind.Protocol, e.Kind);
            Assert.Contains($"more than {TableWalker.MaxBytesPerWalk >> 20} MiB", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task WalkAgentRepeatingTheRequestedOid_FailsCleanly()
    {
        var root = Oid.Parse("1.3.6.1.2.1.2.2.1.2");
        await using var peer = new HostileResponder(request =>
        {
            var (community, pdu) = CommunityMessage.Decode(request);
            return [CommunityMessage.Encode(community, new Pdu(PduType.Response, pdu.RequestId, 0, 0, [new VarBind(pdu.VarBinds[0].Oid.Length == root.Length ? root.Append(1) : pdu.VarBinds[0].Oid, SnmpValue.Integer(1))]))];
        });
        await using var client = await SnmpClient.ConnectAsync(peer.Target, SnmpCredentials.V2c("public"), Answering);
        var e = await Assert.ThrowsAsync<SnmpException>(() => TableWalker.WalkSubtreeAsync(client, root, 10).WaitAsync(Bound));
        Assert.Contains("not increasing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ColumnWalkAnsweredWithAnOidBeforeTheColumn_FailsNotIncreasing_RowsNotSilentlyCutOff()
    {
        // Two rows, then an answer that goes back before the column: the column has not ended (its OIDs did not
        // move past it), the agent went backwards, and the rows it has not given yet would be missing unnoticed.
        var column = Oid.Parse("1.3.6.1.2.1.2.2.1.2");
        await using var peer = new HostileResponder(request =>
        {
            var (community, pdu) = CommunityMessage.Decode(request);
            VarBind[] answer = pdu.VarBinds[0].Oid == column
                ? [new VarBind(column.Append(1), SnmpValue.OctetString("a")), new VarBind(column.Append(2), SnmpValue.OctetString("b"))]
                : [new VarBind(SysDescr, SnmpValue.OctetString("back"))];
            return [CommunityMessage.Encode(community, new Pdu(PduType.Response, pdu.RequestId, 0, 0, answer))];
        });
        await using var client = await SnmpClient.ConnectAsync(peer.Target, SnmpCredentials.V2c("public"), Answering);

        var e = await Assert.ThrowsAsync<SnmpException>(() => TableWalker.WalkAsync(client, [column], 10).WaitAsync(Bound));

        Assert.Equal(SnmpErrorKind.Protocol, e.Kind);
        Assert.Contains($"OID not increasing in the walk of {column}: {SysDescr} after {column.Append(2)}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ColumnWalkWhoseAnswerLeavesOutAnEndedColumn_FailsNeverLosesARow()
    {
        // Asked for two columns, an agent that leaves out the first once it has ended, instead of going on with the
        // variables after it, shifts the second column's rows into the first one's slots: ifType.4 lands where
        // ifDescr's successor belongs, and ifType.4 would be missing from ifType's rows without a word.
        var descr = Oid.Parse("1.3.6.1.2.1.2.2.1.2");
        var type = Oid.Parse("1.3.6.1.2.1.2.2.1.3");
        await using var peer = new HostileResponder(request =>
        {
            var (community, pdu) = CommunityMessage.Decode(request);
            VarBind[] answer = pdu.VarBinds.Count == 2
                ?
                [
                    new VarBind(descr.Append(1), SnmpValue.OctetString("a")), new VarBind(type.Append(1), SnmpValue.Integer(6)),
                    new VarBind(descr.Append(2), SnmpValue.OctetString("b")), new VarBind(type.Append(2), SnmpValue.Integer(6)),
                    new VarBind(descr.Append(3), SnmpValue.OctetString("c")), new VarBind(type.Append(3), SnmpValue.Integer(6)),
                    new VarBind(type.Append(4), SnmpValue.Integer(6)), new VarBind(type.Append(5), SnmpValue.Integer(6)),
                ]
                : [new VarBind(Oid.Parse("1.3.6.1.2.1.2.2.1.4.1"), SnmpValue.Integer(1500))];
            return [CommunityMessage.Encode(community, new Pdu(PduType.Response, pdu.RequestId, 0, 0, answer))];
        });
        await using var client = await SnmpClient.ConnectAsync(peer.Target, SnmpCredentials.V2c("public"), Answering);

        var e = await Assert.ThrowsAsync<SnmpException>(() => TableWalker.WalkAsync(client, [descr, type], 10).WaitAsync(Bound));

        Assert.Equal(SnmpErrorKind.Protocol, e.Kind);
        Assert.Contains($"answered GETBULK without {type.Append(4)} in the walk of {type}, which the same answer holds elsewhere", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAndSetAnsweredForAnotherOid_RefusedNeverAttributedToTheOidAsked()
    {
        // A read-back of ifAdminStatus.5 answered with ifAdminStatus.6 = down must not say port 5 is down.
        var asked = Oid.Parse("1.3.6.1.2.1.2.2.1.7.5");
        var other = Oid.Parse("1.3.6.1.2.1.2.2.1.7.6");
        await using var peer = new HostileResponder(request =>
        {
            var (community, pdu) = CommunityMessage.Decode(request);
            return [CommunityMessage.Encode(community, new Pdu(PduType.Response, pdu.RequestId, 0, 0, [new VarBind(other, SnmpValue.Integer(2))]))];
        });
        await using var client = await SnmpClient.ConnectAsync(peer.Target, SnmpCredentials.V2c("public"), Answering);

        var get = await Assert.ThrowsAsync<SnmpException>(() => client.GetAsync([asked]).WaitAsync(Bound));
        var set = await Assert.ThrowsAsync<SnmpException>(() => client.SetAsync([new VarBind(asked, SnmpValue.Integer(2))]).WaitAsync(Bound));

        foreach (var (e, type) in new[] { (get, "GetRequest"), (set, "SetRequest") })
        {
            Assert.Equal(SnmpErrorKind.Protocol, e.Kind);
            Assert.Contains($"answered {type} for {asked} with {other}", e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(4, 9000)]
    [InlineData(5, 4000)]
    [InlineData(int.MaxValue, 9000)]
    public async Task V3AuthenticResponseOutsideTheTimeWindow_DroppedNeverAccepted(int boots, int time)
    {
        // Discovery says boots 5, time 5000. A correctly signed Response from an earlier boot, from more than 150 s
        // before the time last learned, or at the boots limit is a replay (RFC 3414 §3.2 step 7b): dropped.
        byte[] engine = [0x80, 0x00, 0x1F, 0x88, 0x80, 0x01, 0x02, 0x03, 0x04];
        var credentials = SnmpdTests.V3("sha256np", SnmpAuthProtocol.Sha256, priv: null);
        var key = SegmentController.Snmp.Security.UsmKeys.Shared.Localized(SnmpAuthProtocol.Sha256, credentials.AuthPassphrase, engine);
        var answered = 0;
        await using var peer = new HostileResponder(request =>
        {
            var message = V3Message.Decode(request);
            if (message.Usm.EngineId.Length == 0)
            {
                var report = new Pdu(PduType.Report, 0, 0, 0, [new VarBind(Oid.Parse("1.3.6.1.6.3.15.1.1.4.0"), SnmpValue.Unsigned(SnmpType.Counter32, 1))]);
                return [V3Message.Encode(message.MsgId, 65507, MessageFlags.None, new UsmSecurityParameters(engine, 5, 5000, [], [], []), V3Message.EncodeScopedPdu(new ScopedPdu(engine, [], report)), encrypted: false)];
            }

            Interlocked.Increment(ref answered);
            var request3 = V3Message.DecodeScopedPdu(message.Data);
            var response = new Pdu(PduType.Response, request3.Pdu.RequestId, 0, 0, [new VarBind(SysDescr, SnmpValue.OctetString("replayed"))]);
            var length = SegmentController.Snmp.Security.AuthAlgorithm.DigestLength(SnmpAuthProtocol.Sha256);
            var usm = new UsmSecurityParameters(engine, boots, time, message.Usm.UserName, new byte[length], []);
            var signed = V3Message.Encode(message.MsgId, 65507, MessageFlags.Auth, usm, V3Message.EncodeScopedPdu(new ScopedPdu(engine, [], response)), encrypted: false);
            SegmentController.Snmp.Security.AuthAlgorithm.Hmac(SnmpAuthProtocol.Sha256, key, signed).AsSpan(0, length).CopyTo(signed.AsSpan(V3Message.Decode(signed).AuthParamsOffset));
            return [signed];
        });
        await using var client = await SnmpClient.ConnectAsync(peer.Target, credentials, Answering);

        var e = await Assert.ThrowsAsync<SnmpException>(() => client.GetAsync([SysDescr]).WaitAsync(Bound));

        Assert.Equal(SnmpErrorKind.Timeout, e.Kind);
        Assert.Contains("outside the time window", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, answered);
    }

    [Fact]
    public async Task V3AuthenticResponseWithinTheTimeWindow_Accepted()
    {
        // The counterpart of the replay test: the same signed answer, 150 s behind the time learned, is in the window.
        byte[] engine = [0x80, 0x00, 0x1F, 0x88, 0x80, 0x01, 0x02, 0x03, 0x04];
        var credentials = SnmpdTests.V3("sha256np", SnmpAuthProtocol.Sha256, priv: null);
        var key = SegmentController.Snmp.Security.UsmKeys.Shared.Localized(SnmpAuthProtocol.Sha256, credentials.AuthPassphrase, engine);
        await using var peer = new HostileResponder(request =>
        {
            var message = V3Message.Decode(request);
            if (message.Usm.EngineId.Length == 0)
            {
                var report = new Pdu(PduType.Report, 0, 0, 0, [new VarBind(Oid.Parse("1.3.6.1.6.3.15.1.1.4.0"), SnmpValue.Unsigned(SnmpType.Counter32, 1))]);
                return [V3Message.Encode(message.MsgId, 65507, MessageFlags.None, new UsmSecurityParameters(engine, 5, 5000, [], [], []), V3Message.EncodeScopedPdu(new ScopedPdu(engine, [], report)), encrypted: false)];
            }

            var scoped = V3Message.DecodeScopedPdu(message.Data);
            var response = new Pdu(PduType.Response, scoped.Pdu.RequestId, 0, 0, [new VarBind(SysDescr, SnmpValue.OctetString("fresh"))]);
            var length = SegmentController.Snmp.Security.AuthAlgorithm.DigestLength(SnmpAuthProtocol.Sha256);
            var usm = new UsmSecurityParameters(engine, 5, 4850, message.Usm.UserName, new byte[length], []);
            var signed = V3Message.Encode(message.MsgId, 65507, MessageFlags.Auth, usm, V3Message.EncodeScopedPdu(new ScopedPdu(engine, [], response)), encrypted: false);
            SegmentController.Snmp.Security.AuthAlgorithm.Hmac(SnmpAuthProtocol.Sha256, key, signed).AsSpan(0, length).CopyTo(signed.AsSpan(V3Message.Decode(signed).AuthParamsOffset));
            return [signed];
        });
        await using var client = await SnmpClient.ConnectAsync(peer.Target, credentials, Answering);

        var result = await client.GetAsync([SysDescr]).WaitAsync(Bound);

        Assert.Equal("fresh", result[0].Value.AsText());
    }

    [Fact]
    public async Task ValidAnswerFromAnotherPortOrAddress_NeverReachesTheClient()
    {
        // The agent's address and port are 127.0.0.1:P; well-formed answers with the right request id and community
        // come from 127.0.0.1:Q and from 127.0.0.2:P. Neither is the agent: the client must not even see them.
        using var agent = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        agent.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        var port = ((System.Net.IPEndPoint)agent.LocalEndPoint!).Port;
        using var otherPort = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        otherPort.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        using var otherAddress = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        otherAddress.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Parse("127.0.0.2"), port));
        await using var client = await SnmpClient.ConnectAsync($"127.0.0.1:{port}", SnmpCredentials.V2c("public"), Answering);

        var get = client.GetAsync([SysDescr]);
        var buffer = new byte[65536];
        var received = await agent.ReceiveFromAsync(buffer, System.Net.Sockets.SocketFlags.None, new System.Net.IPEndPoint(System.Net.IPAddress.Any, 0)).WaitAsync(Bound);
        var answer = Answer(buffer[..received.ReceivedBytes], p => p);
        await otherPort.SendToAsync(answer, System.Net.Sockets.SocketFlags.None, received.RemoteEndPoint);
        await otherAddress.SendToAsync(answer, System.Net.Sockets.SocketFlags.None, received.RemoteEndPoint);

        var e = await Assert.ThrowsAsync<SnmpException>(() => get.WaitAsync(Bound));
        Assert.Equal(SnmpErrorKind.Timeout, e.Kind);
        Assert.Equal(0, client.Statistics.Received);
    }

    [Fact]
    public async Task V3WrongEngineIdAndBadDigest_DroppedNeverAccepted()
    {
        byte[] engine = [0x80, 0x00, 0x1F, 0x88, 0x80, 0x01, 0x02, 0x03, 0x04];
        byte[] otherEngine = [0x80, 0x00, 0x1F, 0x88, 0x80, 0x09, 0x09, 0x09, 0x09];
        await using var peer = new HostileResponder(request =>
        {
            var message = V3Message.Decode(request);
            if (message.Usm.EngineId.Length == 0)
            {
                var report = new Pdu(PduType.Report, 0, 0, 0, [new VarBind(Oid.Parse("1.3.6.1.6.3.15.1.1.4.0"), SnmpValue.Unsigned(SnmpType.Counter32, 1))]);
                var scoped = V3Message.EncodeScopedPdu(new ScopedPdu(engine, [], report));
                return [V3Message.Encode(message.MsgId, 65507, MessageFlags.None, new UsmSecurityParameters(engine, 1, 100, [], [], []), scoped, encrypted: false)];
            }

            var junk = new byte[48];
            var digest = new byte[24];
            Random.Shared.NextBytes(junk);
            Random.Shared.NextBytes(digest);
            var flags = MessageFlags.Auth | MessageFlags.Priv;
            return
            [
                V3Message.Encode(message.MsgId, 65507, flags, new UsmSecurityParameters(otherEngine, 1, 100, message.Usm.UserName, digest, new byte[8]), junk, encrypted: true),
                V3Message.Encode(message.MsgId, 65507, flags, new UsmSecurityParameters(engine, 1, 100, message.Usm.UserName, digest, new byte[8]), junk, encrypted: true),
            ];
        });
        await using var client = await SnmpClient.ConnectAsync(peer.Target, SnmpdTests.V3("sha256", SnmpAuthProtocol.Sha256), Answering);
        var e = await Assert.ThrowsAsync<SnmpException>(() => client.GetAsync([SysDescr]).WaitAsync(Bound));
        Assert.Equal(SnmpErrorKind.Timeout, e.Kind);
        Assert.Contains("failing authentication", e.Message, StringComparison.Ordinal);
        Assert.Contains("wrong engine id", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task V3ForeignEngine_UnauthenticatedResponseDropped_ReportsRediscoverOnceThenFail()
    {
        byte[] engine = [0x80, 0x00, 0x1F, 0x88, 0x80, 0x01, 0x02, 0x03, 0x04];
        byte[] otherEngine = [0x80, 0x00, 0x1F, 0x88, 0x80, 0x09, 0x09, 0x09, 0x09];
        var unknownEngineIds = Oid.Parse("1.3.6.1.6.3.15.1.1.4.0");
        byte[] Unauthenticated(int msgId, byte[] from, Pdu pdu) =>
            V3Message.Encode(msgId, 65507, MessageFlags.None, new UsmSecurityParameters(from, 1, 100, [], [], []), V3Message.EncodeScopedPdu(new ScopedPdu(from, [], pdu)), encrypted: false);

        var discoveries = 0;
        await using var peer = new HostileResponder(request =>
        {
            var message = V3Message.Decode(request);
            if (message.Usm.EngineId.Length == 0)
            {
                Interlocked.Increment(ref discoveries);
                return [Unauthenticated(message.MsgId, engine, new Pdu(PduType.Report, 0, 0, 0, [new VarBind(unknownEngineIds, SnmpValue.Unsigned(SnmpType.Counter32, 1))]))];
            }

            // A forged plain-text Response from another engine, then that engine's unknownEngineID Report.
            return
            [
                Unauthenticated(message.MsgId, otherEngine, new Pdu(PduType.Response, 0, 0, 0, [new VarBind(SysDescr, SnmpValue.OctetString("forged"))])),
                Unauthenticated(message.MsgId, otherEngine, new Pdu(PduType.Report, 0, 0, 0, [new VarBind(unknownEngineIds, SnmpValue.Unsigned(SnmpType.Counter32, 7))])),
            ];
        });
        // Every answer comes at once, so no attempt needs to time out: a generous timeout keeps a busy
        // machine from retrying a request (which would count as another discovery here).
        await using var client = await SnmpClient.ConnectAsync(peer.Target, SnmpdTests.V3("sha256", SnmpAuthProtocol.Sha256), new SnmpClientOptions { Timeout = TimeSpan.FromSeconds(5), Retries = 1 });
        var e = await Assert.ThrowsAsync<SnmpException>(() => client.GetAsync([SysDescr]).WaitAsync(Bound));
        Assert.Equal(SnmpErrorKind.UnknownEngineId, e.Kind);
        Assert.Contains("still reports an unknown engine id after rediscovery", e.Message, StringComparison.Ordinal);
        // The first discovery and exactly one rediscovery: a peer repeating the Report cannot loop us.
        Assert.Equal(2, discoveries);
        Assert.Equal(2, client.Statistics.WrongEngine);
    }

    [Fact]
    public async Task V3AgentClockAtItsLimit_TimeSentNeverPassesIt()
    {
        // The agent's snmpEngineTime one second short of its limit (2147483647, RFC 3414 §2.2): the retry, built more
        // than two seconds later, must say the limit, not a sum that wraps to a negative time.
        byte[] engine = [0x80, 0x00, 0x1F, 0x88, 0x80, 0x01, 0x02, 0x03, 0x04];
        var sent = new System.Collections.Concurrent.ConcurrentQueue<int>();
        await using var peer = new HostileResponder(request =>
        {
            var message = V3Message.Decode(request);
            if (message.Usm.EngineId.Length == 0)
            {
                var report = new Pdu(PduType.Report, 0, 0, 0, [new VarBind(Oid.Parse("1.3.6.1.6.3.15.1.1.4.0"), SnmpValue.Unsigned(SnmpType.Counter32, 1))]);
                return [V3Message.Encode(message.MsgId, 65507, MessageFlags.None, new UsmSecurityParameters(engine, 1, int.MaxValue - 1, [], [], []), V3Message.EncodeScopedPdu(new ScopedPdu(engine, [], report)), encrypted: false)];
            }

            sent.Enqueue(message.Usm.EngineTime);
            return [];
        });
        await using var client = await SnmpClient.ConnectAsync(peer.Target, SnmpdTests.V3("sha256", SnmpAuthProtocol.Sha256), new SnmpClientOptions { Timeout = TimeSpan.FromSeconds(2.5), Retries = 1 });

        var e = await Assert.ThrowsAsync<SnmpException>(() => client.GetAsync([SysDescr]).WaitAsync(Bound));

        Assert.Equal(SnmpErrorKind.Timeout, e.Kind);
        Assert.Equal([int.MaxValue - 1, int.MaxValue], sent.ToArray());
    }

    [Fact]
    public async Task V3AgentAnnouncingANegativeClock_AnswerDroppedAsMalformed()
    {
        byte[] engine = [0x80, 0x00, 0x1F, 0x88, 0x80, 0x01, 0x02, 0x03, 0x04];
        await using var peer = new HostileResponder(request =>
        {
            var message = V3Message.Decode(request);
            var report = new Pdu(PduType.Report, 0, 0, 0, [new VarBind(Oid.Parse("1.3.6.1.6.3.15.1.1.4.0"), SnmpValue.Unsigned(SnmpType.Counter32, 1))]);
            return
            [
                V3Message.Encode(message.MsgId, 65507, MessageFlags.None, new UsmSecurityParameters(engine, -1, 100, [], [], []), V3Message.EncodeScopedPdu(new ScopedPdu(engine, [], report)), encrypted: false),
                V3Message.Encode(message.MsgId, 65507, MessageFlags.None, new UsmSecurityParameters(engine, 1, -5, [], [], []), V3Message.EncodeScopedPdu(new ScopedPdu(engine, [], report)), encrypted: false),
            ];
        });
        await using var client = await SnmpClient.ConnectAsync(peer.Target, SnmpdTests.V3("sha256", SnmpAuthProtocol.Sha256), Answering);

        var e = await Assert.ThrowsAsync<SnmpException>(() => client.GetAsync([SysDescr]).WaitAsync(Bound));

        Assert.Equal(SnmpErrorKind.Timeout, e.Kind);
        Assert.Equal(4, client.Statistics.Malformed);
    }

    [Fact]
    public async Task ClosedPort_FailsWithRefusedOrTimeout()
    {
        await using var client = await SnmpClient.ConnectAsync($"127.0.0.1:{FreePort.Udp()}", SnmpCredentials.V2c("public"), Answering);
        var e = await Assert.ThrowsAsync<SnmpException>(() => client.GetAsync([SysDescr]).WaitAsync(Bound));
        Assert.Contains(e.Kind, new[] { SnmpErrorKind.Refused, SnmpErrorKind.Timeout });
    }

    [Theory]
    [InlineData(new byte[] { 0x06, 0x00 })]
    [InlineData(new byte[] { 0x06, 0x02, 0x2B, 0x80 })]
    [InlineData(new byte[] { 0x06, 0x06, 0x2B, 0x90, 0x80, 0x80, 0x80, 0x00 })]
    public void MalformedOid_RejectedAsDecodeError(byte[] encoded)
    {
        Assert.Throws<SnmpDecodeException>(() => BerCodec.ReadOid(encoded));
    }

    [Fact]
    public void EveryValueType_RoundTrips()
    {
        SnmpValue[] values =
        [
            SnmpValue.Integer(-5), SnmpValue.OctetString("x"), SnmpValue.Null, SnmpValue.FromOid(SysDescr),
            SnmpValue.IpAddress(System.Net.IPAddress.Parse("192.0.2.1")), SnmpValue.Unsigned(SnmpType.Counter32, uint.MaxValue),
            SnmpValue.Unsigned(SnmpType.Gauge32, 7), SnmpValue.Unsigned(SnmpType.TimeTicks, 100), SnmpValue.Opaque([0x9f, 0x78, 0x04, 0, 0, 0, 0]),
            SnmpValue.Unsigned(SnmpType.Counter64, ulong.MaxValue), SnmpValue.NoSuchObject, SnmpValue.NoSuchInstance, SnmpValue.EndOfMibView,
        ];
        var pdu = new Pdu(PduType.Response, 42, 0, 0, values.Select((v, i) => new VarBind(SysDescr.Append((uint)i), v)).ToArray());
        var (_, decoded) = CommunityMessage.Decode(CommunityMessage.Encode("c", pdu));
        Assert.Equal(values.Select(v => v.ToString()), decoded.VarBinds.Select(v => v.Value.ToString()));
        Assert.Equal(values.Select(v => v.Type), decoded.VarBinds.Select(v => v.Value.Type));
    }

    [Theory]
    [InlineData("301E0201010400A217020101020100020100300C300A06012B02050100000000")]
    [InlineData("301D0201010400A216020501000000000201000201003007300506012B0500")]
    public void IntegerWiderThan32Bits_AsDecodeError(string hex)
    {
        // A varbind value (first) or a request id (second) of five octets: valid BER, not a valid SNMP INTEGER.
        Assert.Throws<SnmpDecodeException>(() => CommunityMessage.Decode(Convert.FromHexString(hex)));
        var pdu = Convert.FromHexString(hex[14..]);
        Assert.Throws<SnmpDecodeException>(() => V3Message.DecodeScopedPdu((byte[])[0x30, (byte)(4 + pdu.Length), 0x04, 0x00, 0x04, 0x00, .. pdu]));
    }

    [Fact]
    public void AsnLibraryRejectsIndefiniteLengthGarbage_AsDecodeError()
    {
        var writer = new AsnWriter(AsnEncodingRules.BER);
        writer.WriteInteger(1);
        Assert.Throws<SnmpDecodeException>(() => CommunityMessage.Decode(writer.Encode()));
    }
}
