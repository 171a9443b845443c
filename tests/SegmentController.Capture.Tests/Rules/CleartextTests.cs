using System.Text;
using SegmentController.Capture.Rules;
using SegmentController.Capture.Tests.Support;
using SegmentController.Core.Findings;
using static SegmentController.Capture.Tests.Support.Frames;

namespace SegmentController.Capture.Tests.Rules;

/// <summary>
/// <c>cleartext-to-client</c> is judged only where it is sound: from a stream's first byte, from text
/// seen mid-stream over several segments, or per datagram — never from a TLS stream's middle.
/// </summary>
public sealed class CleartextTests
{
    private const byte Syn = 0x02;
    private const byte Ack = 0x10;
    private const byte PshAck = 0x18;

    private static readonly byte[] Infra = Mac(TestPolicy.InfraMac);
    private static readonly byte[] Proxy = Mac(TestPolicy.ProxyMac);

    /// <summary>Proxy → acme's upstream on the management VLAN (the path the proxy itself takes).</summary>
    private static byte[] ToUpstream(ushort port, byte flags, ReadOnlySpan<byte> payload, uint sequence) =>
        Ethernet(Infra, Proxy, [99], 0x0800, Ipv4("10.99.0.5", "192.0.2.10", 6, Tcp(40500, port, flags, payload, sequence: sequence)));

    private static byte[] FromUpstream(ushort port, byte flags, ReadOnlySpan<byte> payload, uint sequence) =>
        Ethernet(Proxy, Infra, [99], 0x0800, Ipv4("192.0.2.10", "10.99.0.5", 6, Tcp(port, 40500, flags, payload, sequence: sequence)));

    /// <summary>A TLS application-data record's middle: random bytes, no record header at the start.</summary>
    private static byte[] CipherText(int seed, int length = 1200)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        bytes[0] = 0x9C;
        return bytes;
    }

    private static byte[] HttpLine(int n) => Encoding.ASCII.GetBytes($"GET /export/{n}?page={n} HTTP/1.1\r\nHost: crm.acme.example\r\n\r\n");

    private static List<Finding> Run(CaptureAnalyzer analyzer, IEnumerable<byte[]> frames, ref long ticks)
    {
        foreach (var frame in frames)
        {
            analyzer.ProcessFrame(frame, frame.Length, ticks += TimeSpan.TicksPerMillisecond);
        }

        return [.. analyzer.AllFindings(DateTimeOffset.UnixEpoch)];
    }

    [Fact]
    public void TlsStreamSeenFromItsMiddle_NotCleartext()
    {
        // Capture started after the handshake: only cipher text segments, none at a record boundary.
        var frames = Enumerable.Range(0, 40).Select(i => ToUpstream(443, PshAck, CipherText(i), 50_000 + ((uint)i * 1200))).ToList();

        var report = Analysis.Of(frames);

        Assert.Empty(report.Findings);
    }

    [Fact]
    public void TlsStreamFromItsStart_NotCleartext()
    {
        var frames = new List<byte[]>
        {
            ToUpstream(443, Syn, [], 9000),
            FromUpstream(443, Syn | Ack, [], 3000),
            ToUpstream(443, PshAck, ClientHello(0x0303, "crm.acme.example", [0x0304]), 9001),
            FromUpstream(443, PshAck, ServerHello(0x0303, 0x0304), 3001),
        };
        frames.AddRange(Enumerable.Range(0, 10).Select(i => ToUpstream(443, PshAck, CipherText(i), 10_000 + ((uint)i * 1200))));

        Assert.Empty(Analysis.Of(frames).Findings);
    }

    [Fact]
    public void CleartextFromTheStreamStart_FlaggedAtOnceWithItsFirstSegment()
    {
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "t");
        var ticks = Corpus.Start.Ticks;

        var findings = Run(analyzer, [ToUpstream(80, Syn, [], 7000), ToUpstream(80, PshAck, "x"u8, 7001)], ref ticks);

        var finding = Assert.Single(findings);
        Assert.Equal(RuleIds.CleartextToClient, finding.Rule);
        Assert.Equal(["acme"], finding.Clients);
    }

    [Fact]
    public void PolicyReloadedMidTlsStream_NotCleartext()
    {
        // The stream was judged TLS at its start; after a reload every flow is classified again, and the
        // next segment (cipher text from the middle) must not be judged as if it started the stream.
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "t");
        var ticks = Corpus.Start.Ticks;
        Run(analyzer, [ToUpstream(443, Syn, [], 9000), ToUpstream(443, PshAck, ClientHello(0x0303, "crm.acme.example", [0x0304]), 9001)], ref ticks);

        analyzer.UpdatePolicy(TestPolicy.Index(silence: TimeSpan.FromSeconds(90)));
        var findings = Run(analyzer, Enumerable.Range(0, 20).Select(i => ToUpstream(443, PshAck, CipherText(i), 20_000 + ((uint)i * 1200))), ref ticks);

        Assert.Empty(findings);
    }

    [Fact]
    public void PolicyReloadedMidCleartextStream_StillCleartext()
    {
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "t");
        var ticks = Corpus.Start.Ticks;
        Run(analyzer, [ToUpstream(80, Syn, [], 7000), ToUpstream(80, PshAck, HttpLine(0), 7001)], ref ticks);

        analyzer.UpdatePolicy(TestPolicy.Index(silence: TimeSpan.FromSeconds(90)));
        var findings = Run(analyzer, [ToUpstream(80, PshAck, CipherText(1, 100), 9000)], ref ticks);

        var finding = Assert.Single(findings);
        Assert.Equal(RuleIds.CleartextToClient, finding.Rule);
        Assert.Equal(2L, finding.Evidence["packets"]);
    }

    [Fact]
    public void CleartextSeenFromItsMiddle_FlaggedOnlyAfterThreeTextSegments()
    {
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "t");
        var ticks = Corpus.Start.Ticks;

        var afterTwo = Run(analyzer, [ToUpstream(80, PshAck, HttpLine(1), 7100), ToUpstream(80, PshAck, HttpLine(2), 7200)], ref ticks);
        var afterThree = Run(analyzer, [ToUpstream(80, PshAck, HttpLine(3), 7300)], ref ticks);

        Assert.Empty(afterTwo);
        Assert.Equal(RuleIds.CleartextToClient, Assert.Single(afterThree).Rule);
    }

    [Fact]
    public void StreamRestartedOnSamePorts_JudgedAfresh()
    {
        // A cleartext connection, then a TLS connection reusing the same ports: only the first is cleartext.
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "t");
        var ticks = Corpus.Start.Ticks;
        Run(analyzer, [ToUpstream(443, Syn, [], 100), ToUpstream(443, PshAck, HttpLine(0), 101)], ref ticks);

        var findings = Run(analyzer, [ToUpstream(443, Syn, [], 90_000), ToUpstream(443, PshAck, ClientHello(0x0303, null, [0x0304]), 90_001), ToUpstream(443, PshAck, CipherText(4), 90_200)], ref ticks);

        Assert.Equal(1L, Assert.Single(findings).Evidence["packets"]);
    }

    [Theory]
    [InlineData(53, "plain DNS", false)]
    [InlineData(443, "QUIC long header", false)]
    [InlineData(443, "QUIC short header", false)]
    [InlineData(4433, "DTLS", false)]
    [InlineData(80, "HTTP over UDP", true)]
    [InlineData(9999, "QUIC short header", true)]
    [InlineData(514, "syslog", true)]
    public void DatagramToUpstream_CleartextUnlessDnsDtlsOrQuic(int port, string kind, bool cleartext)
    {
        byte[] payload = kind switch
        {
            "plain DNS" => [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, (byte)'c', (byte)'r', (byte)'m', 0, 0, 1, 0, 1],
            "QUIC long header" => [0xC3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0x40, 0x80, 0x9A, 0x11],
            "QUIC short header" => [0x43, 0xF1, 0x22, 0x95, 0x0B, 0xC7, 0x01, 0x88, 0xA4, 0x33],
            "DTLS" => [22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 1, 0, 0, 0, 0, 0],
            "HTTP over UDP" => HttpLine(7),
            _ => "<134>Mar  1 09:00:00 agent-11 crm export of 512 customer records"u8.ToArray(),
        };
        var frame = Ethernet(Infra, Proxy, [99], 0x0800, Ipv4("10.99.0.5", "192.0.2.10", 17, Udp(40600, (ushort)port, payload)));

        var findings = Analysis.Of([frame]).Findings;

        Assert.Equal(cleartext, findings.Any(f => f.Rule == RuleIds.CleartextToClient));
    }

    [Fact]
    public void WeakTlsFinding_CarriesServerNameOfItsConnection()
    {
        var frames = new List<byte[]>
        {
            ToUpstream(443, PshAck, ClientHello(0x0301, "legacy.acme.example", null), 9001),
            FromUpstream(443, PshAck, ServerHello(0x0301, null), 3001),
        };

        var finding = Assert.Single(Analysis.Of(frames).Findings);

        Assert.Equal(RuleIds.WeakTls, finding.Rule);
        Assert.Equal("legacy.acme.example", finding.Evidence["sni"]);
    }

    [Fact]
    public void ServerNameWithControlBytes_PrintedSafely()
    {
        var frames = new List<byte[]>
        {
            ToUpstream(443, PshAck, ClientHello(0x0301, "bad\u0007name\u001b[31m", null), 9001),
            FromUpstream(443, PshAck, ServerHello(0x0301, null), 3001),
        };

        var finding = Assert.Single(Analysis.Of(frames).Findings);

        Assert.Equal("bad?name?[31m", finding.Evidence["sni"]);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\n", true)]
    [InlineData("short text", false)]
    [InlineData("binary\0 in the first sixteen bytes", false)]
    public void IsText_PrintableAsciiOverAtLeastSixteenBytes(string payload, bool text)
    {
        Assert.Equal(text, CaptureAnalyzer.IsText(Encoding.ASCII.GetBytes(payload)));
    }
}
