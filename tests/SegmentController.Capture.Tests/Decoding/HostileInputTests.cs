using SegmentController.Capture.Decoding;
using SegmentController.Capture.Rules;
using SegmentController.Capture.Sources;
using SegmentController.Capture.Tests.Support;
using static SegmentController.Capture.Tests.Support.Frames;

namespace SegmentController.Capture.Tests.Decoding;

public sealed class HostileInputTests
{
    private static DecodeError DecodeOf(byte[] frame, int? wireLength = null)
    {
        var result = default(DecodedFrame);
        return FrameDecoder.Decode(frame, wireLength ?? frame.Length, ref result);
    }

    [Fact]
    public void EveryTruncationOfEveryCorpusFrame_NoException()
    {
        var frames = Corpus.CleanMix().Concat(Corpus.Leaks().Values.SelectMany(f => f));
        foreach (var frame in frames)
        {
            for (var length = 0; length <= frame.Length; length++)
            {
                // Cut by a snap length (wire length intact) and cut on the wire (lengths then lie).
                DecodeOf(frame[..length], frame.Length);
                DecodeOf(frame[..length]);
            }
        }
    }

    [Fact]
    public void HundredDeepTagStack_TooManyVlanTags()
    {
        var frame = Ethernet(Broadcast, Broadcast, Enumerable.Range(1, 100).ToArray(), 0x0800, Ipv4("10.10.0.11", "10.20.0.21", 17, Udp(1, 2, [])));

        Assert.Equal(DecodeError.TooManyVlanTags, DecodeOf(frame));
    }

    [Fact]
    public void Ipv4TotalLengthBeyondFrame_LengthLies()
    {
        var frame = Ethernet(Broadcast, Broadcast, [], 0x0800, Ipv4("10.10.0.11", "10.20.0.21", 17, Udp(1, 2, []), totalLengthOverride: 1400));

        Assert.Equal(DecodeError.Ipv4LengthLies, DecodeOf(frame));
    }

    [Fact]
    public void Ipv4IhlBelowFive_BadHeader()
    {
        var frame = Ethernet(Broadcast, Broadcast, [], 0x0800, Ipv4("10.10.0.11", "10.20.0.21", 17, Udp(1, 2, [])));
        frame[14] = 0x43;

        Assert.Equal(DecodeError.BadIpv4Header, DecodeOf(frame));
    }

    [Fact]
    public void UdpLengthBeyondIpPayload_LengthLies()
    {
        var frame = Ethernet(Broadcast, Broadcast, [], 0x0800, Ipv4("10.10.0.11", "10.20.0.21", 17, Udp(1, 2, new byte[4], lengthOverride: 500)));

        Assert.Equal(DecodeError.UdpLengthLies, DecodeOf(frame));
    }

    [Fact]
    public void TcpDataOffsetBeyondSegment_BadHeader()
    {
        var segment = Tcp(1, 2, 0x18, []);
        segment[12] = 0xF0;
        var frame = Ethernet(Broadcast, Broadcast, [], 0x0800, Ipv4("10.10.0.11", "10.20.0.21", 6, segment));

        Assert.Equal(DecodeError.BadTcpHeader, DecodeOf(frame));
    }

    [Fact]
    public void Ipv6PayloadLengthBeyondFrame_LengthLies()
    {
        var frame = Ethernet(Broadcast, Broadcast, [], 0x86DD, Ipv6("2001:db8:10::1", "2001:db8:20::1", 17, Udp(1, 2, []), payloadLengthOverride: 4000));

        Assert.Equal(DecodeError.Ipv6LengthLies, DecodeOf(frame));
    }

    [Fact]
    public void Ipv6EndlessExtensionChain_Rejected()
    {
        var chain = Enumerable.Repeat(((byte)60, new byte[6]), 20).ToArray();
        var frame = Ethernet(Broadcast, Broadcast, [], 0x86DD, Ipv6("2001:db8:10::1", "2001:db8:20::1", 17, Udp(1, 2, []), chain));

        Assert.Equal(DecodeError.Ipv6ExtensionChain, DecodeOf(frame));
    }

    [Fact]
    public void ExtensionLengthPastPayload_Rejected()
    {
        var frame = Ethernet(Broadcast, Broadcast, [], 0x86DD, Ipv6("2001:db8:10::1", "2001:db8:20::1", 17, [], [(60, new byte[6])]));
        frame[14 + 40 + 1] = 200;

        Assert.Equal(DecodeError.Ipv6ExtensionChain, DecodeOf(frame));
    }

    [Fact]
    public void TlsHelloWithLyingLengths_ParsedAsFarAsTrueNoError()
    {
        var hello = ClientHello(0x0303, "crm.acme.example", [0x0304]);
        for (var i = 3; i < hello.Length; i++)
        {
            var copy = (byte[])hello.Clone();
            copy[i] = 0xFF;
            var frame = Ethernet(Broadcast, Broadcast, [], 0x0800, Ipv4("10.10.0.11", "192.0.2.10", 6, Tcp(1, 443, 0x18, copy)));

            Assert.Equal(DecodeError.None, DecodeOf(frame));
        }
    }

    [Fact]
    public void MillionMutatedFrames_NoExceptionErrorsCounted()
    {
        var random = new Random(20260301);
        var seeds = Corpus.CleanMix().Concat(Corpus.Leaks().Values.SelectMany(f => f)).ToArray();
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "fuzz", new CaptureAnalyzerOptions { FlowCapacity = 4096, MaxViolations = 1000 });
        var buffer = new byte[2048];
        var ticks = Corpus.Start.Ticks;
        const int Count = 1_000_000;
        for (var i = 0; i < Count; i++)
        {
            var seed = seeds[random.Next(seeds.Length)];
            var length = random.Next(4) == 0 ? random.Next(0, seed.Length + 1) : seed.Length;
            seed.AsSpan(0, Math.Min(length, seed.Length)).CopyTo(buffer);
            var mutations = random.Next(1, 6);
            for (var m = 0; m < mutations && length > 0; m++)
            {
                buffer[random.Next(length)] = (byte)random.Next(256);
            }

            analyzer.ProcessFrame(buffer.AsSpan(0, length), random.Next(4) == 0 ? random.Next(0, 3000) : length, ticks += 1000);
        }

        Assert.Equal(Count, analyzer.Packets);
        Assert.InRange(analyzer.DecodeErrors, 1, Count - 1);
        Assert.True(analyzer.Flows.Count <= 4096);
        Assert.True(analyzer.Violations().Count <= 1000);
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0xd4, 0xc3, 0xb2, 0xa1 })]
    [InlineData(new byte[] { 0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0 })]
    [InlineData(new byte[] { 0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x31, 0x0d, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0 })]
    public void GarbagePcapHeader_CaptureSourceException(byte[] content)
    {
        using var dir = new TempDirectory();
        var path = dir.File("garbage.pcap");
        File.WriteAllBytes(path, content);
        using var source = new PcapFileSource(path);

        var e = Assert.Throws<CaptureSourceException>(() => source.Run(new CaptureAnalyzer(TestPolicy.Index(), path), CancellationToken.None));

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PcapRecordLengthLies_FramesBeforeDeliveredAndTruncationReported()
    {
        using var dir = new TempDirectory();
        var path = Corpus.WritePcap(dir.File("cut.pcap"), Corpus.Timed(Corpus.CleanMix()));
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^10]);
        using var source = new PcapFileSource(path);
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), path);

        source.Run(analyzer, CancellationToken.None);

        Assert.Equal(Corpus.CleanMix().Count - 1, analyzer.Packets);
        Assert.NotNull(source.TruncationError);
    }

    [Fact]
    public void MissingFile_CaptureSourceException()
    {
        using var source = new PcapFileSource("/nonexistent/segctl.pcap");

        Assert.Throws<CaptureSourceException>(() => source.Run(new CaptureAnalyzer(TestPolicy.Index(), "x"), CancellationToken.None));
    }
}
