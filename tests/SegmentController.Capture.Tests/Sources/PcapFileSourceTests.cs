using System.Security.Cryptography;
using SegmentController.Capture.Evidence;
using SegmentController.Capture.Sources;
using SegmentController.Capture.Tests.Support;
using SharpPcap;
using SharpPcap.LibPcap;
using static SegmentController.Capture.Tests.Support.CaptureFileBuilder;

namespace SegmentController.Capture.Tests.Sources;

/// <summary>
/// Our own pcap/pcapng walker, checked against libpcap (through SharpPcap) as the oracle on real
/// files, and on the malformed files libpcap's callers would crash or hang on.
/// </summary>
public sealed class PcapFileSourceTests
{
    private static readonly byte[] Frame = Corpus.CleanMix()[0];

    private static (RecordingSink Sink, PcapFileSource Source) Read(string path, bool sha256 = false)
    {
        var sink = new RecordingSink();
        var source = new PcapFileSource(path) { ComputeSha256 = sha256 };
        source.Run(sink, CancellationToken.None);
        return (sink, source);
    }

    private static List<(byte[] Data, int WireLength, long Ticks)> ReadWithLibpcap(string path)
    {
        var frames = new List<(byte[], int, long)>();
        using var device = new CaptureFileReaderDevice(path);
        device.Open(new DeviceConfiguration { TimestampResolution = TimestampResolution.Nanosecond });
        while (device.GetNextPacket(out var capture) == GetPacketStatus.PacketRead)
        {
            var wire = capture.Header is PcapHeader header ? (int)header.PacketLength : capture.Data.Length;
            frames.Add((capture.Data.ToArray(), wire, capture.Header.Timeval.Date.ToUniversalTime().Ticks));
        }

        return frames;
    }

    private static void AssertSameFrames(List<(byte[] Data, int WireLength, long Ticks)> expected, List<(byte[] Data, int WireLength, long Ticks)> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Data, actual[i].Data);
            Assert.Equal(expected[i].WireLength, actual[i].WireLength);
            Assert.Equal(expected[i].Ticks, actual[i].Ticks);
        }
    }

    /// <summary>Frames of random sizes (up to jumbo) so records straddle the reader's chunk boundaries.</summary>
    private static List<EvidenceFrame> ManyFrames(int count)
    {
        var random = new Random(7);
        var seeds = Corpus.CleanMix();
        return Enumerable.Range(0, count).Select(i =>
        {
            var seed = seeds[i % seeds.Count];
            var data = new byte[Math.Max(seed.Length, random.Next(60, 9000))];
            seed.CopyTo(data, 0);
            random.NextBytes(data.AsSpan(seed.Length));
            return new EvidenceFrame(Corpus.Start.Ticks + (i * 10L), data.Length, data);
        }).ToList();
    }

    [Fact]
    public void MultiMegabytePcap_SameFramesAsLibpcap()
    {
        using var dir = new TempDirectory();
        var path = Corpus.WritePcap(dir.File("many.pcap"), ManyFrames(3000));
        Assert.True(new FileInfo(path).Length > 3 * CaptureFileLimits.BufferLength);

        var (sink, source) = Read(path);

        Assert.Null(source.TruncationError);
        Assert.Equal(3000, source.Frames);
        AssertSameFrames(ReadWithLibpcap(path), sink.Frames);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void ByteOrderAndResolution_SameFramesAsLibpcap(bool bigEndian, bool nanoseconds)
    {
        using var dir = new TempDirectory();
        var path = dir.File("variant.pcap");
        File.WriteAllBytes(path, Concat(
            PcapHeader(bigEndian, nanoseconds),
            PcapRecord(1_772_355_600, 123_456, Frame, bigEndian),
            PcapRecord(1_772_355_601, 999_999, Frame, bigEndian, wireOverride: 1500)));

        var (sink, _) = Read(path);

        Assert.Equal(2, sink.Frames.Count);
        AssertSameFrames(ReadWithLibpcap(path), sink.Frames);
        Assert.Equal(1500, sink.Frames[1].WireLength);
    }

    [Fact]
    public void RecordLongerThanSnapLength_CutToSnapLengthLikeLibpcap()
    {
        using var dir = new TempDirectory();
        var path = dir.File("snap.pcap");
        var big = new byte[200];
        Frame.CopyTo(big, 0);
        File.WriteAllBytes(path, Concat(PcapHeader(snapLength: 64), PcapRecord(1, 0, big), PcapRecord(2, 0, Frame[..40])));

        var (sink, source) = Read(path);

        Assert.Null(source.TruncationError);
        Assert.Equal([64, 40], sink.Frames.Select(f => f.Data.Length));
        Assert.Equal(200, sink.Frames[0].WireLength);
        AssertSameFrames(ReadWithLibpcap(path), sink.Frames);
    }

    [Fact]
    public void RecordClaimsMoreThanMaximum_StopsWithClearErrorAfterEarlierFrames()
    {
        using var dir = new TempDirectory();
        var path = dir.File("huge.pcap");
        File.WriteAllBytes(path, Concat(PcapHeader(), PcapRecord(1, 0, Frame), PcapRecord(2, 0, Frame, capturedOverride: 0x7FFF_FFF0), PcapRecord(3, 0, Frame)));

        var (sink, source) = Read(path);

        Assert.Single(sink.Frames);
        Assert.Contains("record 2", source.TruncationError, StringComparison.Ordinal);
        Assert.Contains("more than the maximum", source.TruncationError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(16 + 10)]
    public void TruncatedLastRecord_EarlierFramesDeliveredAndTruncationNamed(int keptOfLast)
    {
        using var dir = new TempDirectory();
        var path = dir.File("cut.pcap");
        var whole = Concat(PcapHeader(), PcapRecord(1, 0, Frame), PcapRecord(2, 0, Frame));
        File.WriteAllBytes(path, whole[..(24 + 16 + Frame.Length + keptOfLast)]);

        var (sink, source) = Read(path, sha256: true);

        Assert.Single(sink.Frames);
        Assert.Contains("truncated record 2", source.TruncationError, StringComparison.Ordinal);
        Assert.Equal(SHA256.HashData(File.ReadAllBytes(path)), source.Sha256);
    }

    [Fact]
    public void HeaderOnly_NoFramesNoError()
    {
        using var dir = new TempDirectory();
        var path = dir.File("empty.pcap");
        File.WriteAllBytes(path, PcapHeader());

        var (sink, source) = Read(path);

        Assert.Empty(sink.Frames);
        Assert.Null(source.TruncationError);
    }

    [Theory]
    [InlineData(new byte[] { 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0 }, "unknown magic 0x78563412")]
    [InlineData(new byte[] { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0 }, "pcap file header is truncated")]
    [InlineData(new byte[] { 0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0 }, "truncated")]
    [InlineData(new byte[] { 0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x11, 0x22, 0x33, 0x44 }, "no byte-order magic")]
    public void BadFileHeader_CaptureSourceExceptionSaysWhy(byte[] content, string why)
    {
        using var dir = new TempDirectory();
        var path = dir.File("bad.pcap");
        File.WriteAllBytes(path, content);

        var e = Assert.Throws<CaptureSourceException>(() => Read(path));

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Directory_CaptureSourceExceptionSaysItIsADirectory()
    {
        using var dir = new TempDirectory();

        var e = Assert.Throws<CaptureSourceException>(() => Read(dir.Path));

        Assert.Equal($"{dir.Path}: is a directory, not a capture file", e.Message);
    }

    [Fact]
    public void PcapVersionNotTwo_CaptureSourceException()
    {
        using var dir = new TempDirectory();
        var path = dir.File("v9.pcap");
        File.WriteAllBytes(path, Concat(PcapHeader(major: 9), PcapRecord(1, 0, Frame)));

        var e = Assert.Throws<CaptureSourceException>(() => Read(path));

        Assert.Contains("version 9", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NotEthernet_CaptureSourceExceptionNamesLinkType()
    {
        using var dir = new TempDirectory();
        var pcap = dir.File("raw.pcap");
        File.WriteAllBytes(pcap, Concat(PcapHeader(linkType: 101), PcapRecord(1, 0, Frame)));
        var pcapng = dir.File("raw.pcapng");
        File.WriteAllBytes(pcapng, Concat(SectionHeader(), InterfaceDescription(linkType: 101), EnhancedPacket(0, 1, Frame)));

        Assert.Contains("link type 101 is not Ethernet", Assert.Throws<CaptureSourceException>(() => Read(pcap)).Message, StringComparison.Ordinal);
        Assert.Contains("link type 101", Assert.Throws<CaptureSourceException>(() => Read(pcapng)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pcapng_InterfacesResolutionsUnknownBlocksAndSections_SameFramesAsLibpcap()
    {
        using var dir = new TempDirectory();
        var path = dir.File("mixed.pcapng");
        var microseconds = 1_772_355_600_123_456UL;
        var nanoseconds = 1_772_355_600_987_654_321UL;
        File.WriteAllBytes(path, Concat(
            SectionHeader(),
            InterfaceDescription(),
            InterfaceDescription(resolution: 9),
            EnhancedPacket(0, microseconds, Frame),
            Block(0x0000_0BAD, new byte[40]),
            EnhancedPacket(1, nanoseconds, Frame),
            SectionHeader(),
            InterfaceDescription(),
            EnhancedPacket(0, microseconds + 5, Frame)));

        var (sink, source) = Read(path);

        Assert.Null(source.TruncationError);
        Assert.Equal(3, sink.Frames.Count);
        Assert.Equal(DateTime.UnixEpoch.Ticks + ((long)microseconds * 10), sink.Frames[0].Ticks);
        Assert.Equal(DateTime.UnixEpoch.Ticks + ((long)nanoseconds / 100), sink.Frames[1].Ticks);
        AssertSameFrames(ReadWithLibpcap(path), sink.Frames);
    }

    [Fact]
    public void PcapngBigEndian_SameFramesAsLibpcap()
    {
        using var dir = new TempDirectory();
        var path = dir.File("big-endian.pcapng");
        File.WriteAllBytes(path, Concat(
            SectionHeader(bigEndian: true),
            InterfaceDescription(resolution: 9, bigEndian: true),
            EnhancedPacket(0, 1_772_355_600_987_654_321UL, Frame, bigEndian: true),
            EnhancedPacket(0, 1_772_355_601_000_000_000UL, Frame[..42], bigEndian: true)));

        var (sink, source) = Read(path);

        Assert.Null(source.TruncationError);
        Assert.Equal(2, sink.Frames.Count);
        AssertSameFrames(ReadWithLibpcap(path), sink.Frames);
    }

    [Fact]
    public void PcapngBlockLargerThanReadBuffer_SkippedAndLaterPacketsRead()
    {
        using var dir = new TempDirectory();
        var path = dir.File("bigblock.pcapng");
        File.WriteAllBytes(path, Concat(
            SectionHeader(),
            InterfaceDescription(),
            Block(0x0000_0BAD, new byte[3 * CaptureFileLimits.BufferLength]),
            EnhancedPacket(0, 1, Frame),
            SimplePacket(Frame)));

        var (sink, source) = Read(path, sha256: true);

        Assert.Null(source.TruncationError);
        Assert.Equal(2, sink.Frames.Count);
        Assert.All(sink.Frames, f => Assert.Equal(Frame, f.Data));
        Assert.Equal(sink.Frames[0].Ticks, sink.Frames[1].Ticks);
        Assert.Equal(SHA256.HashData(File.ReadAllBytes(path)), source.Sha256);
    }

    [Theory]
    [InlineData("claims", 0)]
    [InlineData("interface 3", 1)]
    [InlineData("invalid length", 2)]
    [InlineData("truncated block", 3)]
    [InlineData("invalid length", 4)]
    public void PcapngMalformedBlock_EarlierFramesDeliveredAndProblemNamed(string why, int kind)
    {
        using var dir = new TempDirectory();
        var path = dir.File("bad.pcapng");
        var good = EnhancedPacket(0, 1, Frame);
        var bad = kind switch
        {
            0 => EnhancedPacket(0, 2, Frame, capturedOverride: 100_000),
            1 => EnhancedPacket(3, 2, Frame),
            2 => Block(6, new byte[24], lengthOverride: 30),
            3 => EnhancedPacket(0, 2, Frame)[..50],
            _ => Block(6, new byte[24], lengthOverride: 0x7FFF_FFF0),
        };
        // A cut block must be the file's last: anything after it would be read as its rest.
        File.WriteAllBytes(path, kind == 3 ? Concat(SectionHeader(), InterfaceDescription(), good, bad) : Concat(SectionHeader(), InterfaceDescription(), good, bad, good));

        var (sink, source) = Read(path);

        Assert.Single(sink.Frames);
        Assert.NotNull(source.TruncationError);
        Assert.Contains(why, source.TruncationError, StringComparison.Ordinal);
    }

    [Fact]
    public void PcapngTimestampOverflow_ClampedNotThrown()
    {
        using var dir = new TempDirectory();
        var path = dir.File("future.pcapng");
        File.WriteAllBytes(path, Concat(SectionHeader(), InterfaceDescription(resolution: 0), EnhancedPacket(0, ulong.MaxValue, Frame)));

        var (sink, _) = Read(path);

        Assert.Equal(DateTime.MaxValue.Ticks, Assert.Single(sink.Frames).Ticks);
    }

    [Fact]
    public void Sha256_IsTheWholeFilesHash()
    {
        using var dir = new TempDirectory();
        var path = Corpus.WritePcap(dir.File("many.pcap"), ManyFrames(500));

        var (_, source) = Read(path, sha256: true);

        Assert.Equal(SHA256.HashData(File.ReadAllBytes(path)), source.Sha256);
        Assert.Equal(new FileInfo(path).Length, source.Length);
    }

    [Fact]
    public void Cancelled_StopsWithOperationCanceled()
    {
        using var dir = new TempDirectory();
        var path = Corpus.WritePcap(dir.File("many.pcap"), ManyFrames(9000));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var source = new PcapFileSource(path);

        Assert.ThrowsAny<OperationCanceledException>(() => source.Run(new RecordingSink(), cancelled.Token));
        Assert.True(source.Frames < 9000);
    }

    [Fact]
    public void RandomlyMutatedFiles_NoExceptionButCaptureSourceExceptionAndNoFrameBeyondTheFile()
    {
        using var dir = new TempDirectory();
        var frames = Corpus.CleanMix();
        var pcap = File.ReadAllBytes(Corpus.WritePcap(dir.File("seed.pcap"), Corpus.Timed(frames)));
        var pcapng = Concat([SectionHeader(), InterfaceDescription(resolution: 9), .. frames.Select((f, i) => EnhancedPacket(0, (ulong)i, f)), SimplePacket(frames[0])]);
        var random = new Random(3);
        var path = dir.File("mutated");
        for (var i = 0; i < 2000; i++)
        {
            var seed = i % 2 == 0 ? pcap : pcapng;
            var bytes = seed[..(random.Next(3) == 0 ? random.Next(seed.Length) : seed.Length)];
            for (var m = random.Next(1, 8); m > 0 && bytes.Length > 0; m--)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            File.WriteAllBytes(path, bytes);
            var sink = new RecordingSink();
            var source = new PcapFileSource(path);
            try
            {
                source.Run(sink, CancellationToken.None);
            }
            catch (CaptureSourceException)
            {
            }

            Assert.True(sink.Frames.Sum(f => (long)f.Data.Length) <= bytes.Length);
        }
    }
}
