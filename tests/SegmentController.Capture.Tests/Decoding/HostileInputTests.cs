using SegmentController.Capture.Decoding;
using SegmentController.Capture.Rules;
using SegmentController.Capture.Sources;
using SegmentController.Capture.Tests.Support;
using SegmentController.Core.Findings;
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
    public void EveryTruncationOfEveryCorpusFrame_NoExceptionErrorsCountedByKind()
    {
        var frames = Corpus.CleanMix().Concat(Corpus.Leaks().Values.SelectMany(f => f)).ToArray();
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "truncation");
        var expected = new long[Enum.GetValues<DecodeError>().Length];
        var ticks = Corpus.Start.Ticks;
        long cases = 0;
        foreach (var frame in frames)
        {
            for (var length = 0; length <= frame.Length; length++)
            {
                // Cut by a snap length (wire length intact) and cut on the wire (lengths then lie).
                foreach (var wire in (int[])[frame.Length, length])
                {
                    expected[(int)DecodeOf(frame[..length], wire)]++;
                    analyzer.ProcessFrame(frame.AsSpan(0, length), wire, ticks += 10);
                    cases++;
                }
            }
        }

        var errors = cases - expected[(int)DecodeError.None];
        Assert.Equal(cases, analyzer.Packets);
        Assert.Equal(errors, analyzer.DecodeErrors);
        Assert.Equal(expected.Skip(1), analyzer.DecodeErrorsByKind.Skip(1));
        Assert.Equal(analyzer.DecodeErrors, analyzer.DecodeErrorsByKind.Sum());

        // Every frame cut inside its Ethernet header is an error of that kind, counted once per case.
        Assert.Equal(frames.Length * 14 * 2, analyzer.DecodeErrorsByKind[(int)DecodeError.TruncatedEthernet]);
        Assert.True(analyzer.DecodeErrorsByKind[(int)DecodeError.TruncatedIpv4] > 0);
        Assert.True(analyzer.DecodeErrorsByKind[(int)DecodeError.TruncatedTcp] > 0);
        Assert.True(analyzer.DecodeErrorsByKind[(int)DecodeError.Ipv4LengthLies] > 0);
        Assert.True(analyzer.DecodeErrorsByKind[(int)DecodeError.TruncatedArp] > 0);
    }

    [Fact]
    public void HundredDeepTagStack_DecodedAsOverflowNotAnError()
    {
        var frame = Ethernet(Broadcast, Broadcast, Enumerable.Range(1, 100).ToArray(), 0x0800, Ipv4("10.10.0.11", "10.20.0.21", 17, Udp(1, 2, [])));
        var decoded = default(DecodedFrame);

        var error = FrameDecoder.Decode(frame, frame.Length, ref decoded);

        Assert.Equal(DecodeError.None, error);
        Assert.True(decoded.VlanOverflow);
        Assert.Equal(100, decoded.VlanHeaders);
        Assert.Equal(FrameDecoder.MaxVlanTags, decoded.VlanCount);
        Assert.Equal(1, decoded.OuterVlan);
        Assert.Equal(8, decoded.InnerVlan);
        Assert.Equal(NetworkLayer.Ipv4, decoded.Layer);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void HundredDeepTagStack_VlanHoppingWhetherOrNotTheSiteRunsQinQ(bool qinq)
    {
        var frame = Ethernet(Broadcast, Mac(TestPolicy.GlobexAgentMac), Enumerable.Range(1, 100).Select(i => i == 1 ? 20 : i).ToArray(), 0x0800, Ipv4("10.20.0.21", "10.20.0.22", 17, Udp(1, 2, new byte[20])));

        var report = Analysis.Of([frame], TestPolicy.Index(qinq: qinq));

        Assert.Equal(0, report.DecodeErrors);
        var hopping = Assert.Single(report.Findings, f => f.Rule == RuleIds.VlanHopping);
        Assert.Equal(new[] { 20, 2, 3, 4, 5, 6, 7, 8 }, hopping.Evidence["vlans"]);
        Assert.Equal(100, hopping.Evidence["vlan_depth"]);
        Assert.Equal(true, hopping.Evidence["vlans_truncated"]);
        Assert.Contains("100 VLAN tags", hopping.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void DeepTagStackCutBySnapLength_StillVlanHopping()
    {
        var frame = Ethernet(Broadcast, Broadcast, Enumerable.Range(1, 100).ToArray(), 0x0800, Ipv4("10.10.0.11", "10.20.0.21", 17, Udp(1, 2, [])));
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(qinq: true), "snap");

        // A 256-byte snap length ends the capture inside the stack.
        analyzer.ProcessFrame(frame.AsSpan(0, 256), frame.Length, Corpus.Start.Ticks);

        Assert.Equal(0, analyzer.DecodeErrors);
        var findings = analyzer.AllFindings(DateTimeOffset.UnixEpoch);
        var hopping = Assert.Single(findings, f => f.Rule == RuleIds.VlanHopping);
        Assert.Equal((256 - 12 - 6) / 4 + 1, hopping.Evidence["vlan_depth"]);
        Assert.Contains("at least 60 VLAN tags", hopping.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void TagStackBeyondWalkingBound_BoundedAndVlanHopping()
    {
        var frame = Ethernet(Broadcast, Broadcast, Enumerable.Range(1, 2000).Select(i => (i % 4000) + 1).ToArray(), 0x0800, Ipv4("10.10.0.11", "10.20.0.21", 17, Udp(1, 2, [])));
        var decoded = default(DecodedFrame);

        var error = FrameDecoder.Decode(frame, frame.Length, ref decoded);

        Assert.Equal(DecodeError.None, error);
        Assert.True(decoded.VlanOverflow);
        Assert.Equal(FrameDecoder.MaxWalkedVlanTags, decoded.VlanHeaders);
        Assert.Equal(NetworkLayer.Other, decoded.Layer);
        var report = Analysis.Of([frame]);
        Assert.Equal(RuleIds.VlanHopping, Assert.Single(report.Findings, f => f.Rule == RuleIds.VlanHopping).Rule);
    }

    [Fact]
    public void Ipv4TotalLengthBeyondFrame_AddressesKeptWithTheError()
    {
        var frame = Ethernet(Broadcast, Broadcast, [], 0x0800, Ipv4("10.10.0.11", "10.20.0.21", 17, Udp(1, 2, []), totalLengthOverride: 1400));
        var decoded = default(DecodedFrame);

        var error = FrameDecoder.Decode(frame, frame.Length, ref decoded);

        Assert.Equal(DecodeError.Ipv4LengthLies, error);
        Assert.True(decoded.HasAddresses);
        Assert.Equal("10.10.0.11", decoded.Source.ToString());
        Assert.Equal("10.20.0.21", decoded.Destination.ToString());
        Assert.Equal(17, decoded.Protocol);
        Assert.False(decoded.HasTransport);
        Assert.Equal(0, decoded.SourcePort);
    }

    [Fact]
    public void NineExtensionHeaders_ChainErrorAddressesKept()
    {
        var frame = Ethernet(Broadcast, Broadcast, [], 0x86DD, Ipv6("2001:db8:10::11", "2001:db8:20::21", 17, Udp(1, 2, []), Enumerable.Repeat(((byte)60, new byte[] { 1, 4, 0, 0, 0, 0 }), 9).ToArray()));
        var decoded = default(DecodedFrame);

        var error = FrameDecoder.Decode(frame, frame.Length, ref decoded);

        Assert.Equal(DecodeError.Ipv6ExtensionChain, error);
        Assert.True(decoded.HasAddresses);
        Assert.Equal("2001:db8:20::21", decoded.Destination.ToString());
        Assert.False(decoded.HasTransport);
    }

    [Fact]
    public void Ipv4CutInsideItsFixedHeader_NoAddresses()
    {
        var frame = Ethernet(Broadcast, Broadcast, [], 0x0800, Ipv4("10.10.0.11", "10.20.0.21", 17, Udp(1, 2, [])));
        var decoded = default(DecodedFrame);

        var error = FrameDecoder.Decode(frame.AsSpan(0, 14 + 19), frame.Length, ref decoded);

        Assert.Equal(DecodeError.TruncatedIpv4, error);
        Assert.False(decoded.HasAddresses);
    }

    [Fact]
    public void ShortStackCutOnTheWire_TruncatedVlanTag()
    {
        var frame = Ethernet(Broadcast, Broadcast, [10, 20, 30], 0x0800, []);

        Assert.Equal(DecodeError.TruncatedVlanTag, DecodeOf(frame[..20]));
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
    public void Ipv6ExtensionHeaderCutBySnapLength_TransportTruncatedNoException()
    {
        // A 304-byte destination options header before TCP, captured with the default 256-byte snap length.
        var frame = Ethernet(Broadcast, Broadcast, [], 0x86DD, Ipv6("2001:db8:10::11", "2001:db8:20::21", 6, Tcp(1234, 443, 0x18, new byte[64]), [(60, new byte[302])]));
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "snap");

        Assert.Equal(DecodeError.TruncatedTcp, DecodeOf(frame[..256], frame.Length));
        analyzer.ProcessFrame(frame.AsSpan(0, 256), frame.Length, Corpus.Start.Ticks);

        // Every snap length, through the decoder and the analyzer alike.
        for (var length = 0; length <= frame.Length; length++)
        {
            DecodeOf(frame[..length], frame.Length);
            analyzer.ProcessFrame(frame.AsSpan(0, length), frame.Length, Corpus.Start.Ticks + length);
        }
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
        Assert.True(analyzer.Violations().Count(v => !v.IsAggregate) <= 1000);
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
