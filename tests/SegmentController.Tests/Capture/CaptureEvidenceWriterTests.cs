using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using SegmentController.Capture;
using SegmentController.Capture.Classification;
using SegmentController.Capture.Decoding;
using SegmentController.Capture.Evidence;
using SegmentController.Capture.Flows;
using SegmentController.Capture.Rules;
using SegmentController.Capture.Sources;
using SegmentController.Core.Policy;

namespace SegmentController.Tests.Capture;

/// <summary>Evidence pcaps on a real directory: named, hashed, bounded, never overwritten.</summary>
public sealed class CaptureEvidenceWriterTests : IDisposable
{
    private static readonly long Start = new DateTime(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc).Ticks;

    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-evidence-writer-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Violation Violation(CaptureRules rule = CaptureRules.CrossClientFlow) =>
        new(rule, new FlowKey([10], false, NetworkLayer.Ipv4, 6, default, default, 1, 2), ["acme", "globex"], "leak", Start);

    private static EvidenceFrame[] Frames(int count, int size = 100) =>
        Enumerable.Range(0, count).Select(i => new EvidenceFrame(Start + i, size, Enumerable.Repeat((byte)i, size).ToArray())).ToArray();

    private static SitePolicy EmptySite() => new()
    {
        Site = new SiteInfo { Id = "s", Name = "s" },
        Controller = new ControllerSettings { Store = new StoreSettings { Path = "/var/lib/segctl/segctl.db" } },
        Infrastructure = new InfrastructureSettings(),
        Switches = [],
        Clients = [],
    };

    [Fact]
    public async Task Write_PcapNamedByTimeInterfaceAndRule_HashOfItsBytes_ReadableByTheFileSource()
    {
        var writer = new CaptureEvidenceWriter(NullLogger.Instance);
        writer.Configure(_dir, 1024 * 1024);

        var (path, sha256, note) = writer.Write("span0", Violation(), Frames(3));

        Assert.Null(note);
        Assert.NotNull(path);
        Assert.Matches(@"^20260301T090000Z-span0-cross-client-flow-\d{6}\.pcap$", Path.GetFileName(path));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))), sha256);
        using var source = new PcapFileSource(path);
        var analyzer = new CaptureAnalyzer(await PolicyIndex.BuildAsync(EmptySite(), null, TimeSpan.FromSeconds(1), CancellationToken.None), path);
        source.Run(analyzer, CancellationToken.None);
        Assert.Equal(3, analyzer.Packets);
    }

    [Fact]
    public void SameSecondSameRuleTwice_TwoFilesNeitherOverwritten()
    {
        var writer = new CaptureEvidenceWriter(NullLogger.Instance);
        writer.Configure(_dir, 1024 * 1024);

        var first = writer.Write("span0", Violation(), Frames(1)).Path!;
        var second = writer.Write("span0", Violation(), Frames(2)).Path!;

        Assert.NotEqual(first, second);
        Assert.Equal(2, Directory.GetFiles(_dir, "*.pcap").Length);
    }

    [Fact]
    public void DirectoryAtItsLimit_NothingWrittenFindingSaysWhy()
    {
        // Evidence already there counts toward the limit.
        File.WriteAllBytes(Path.Combine(_dir, "earlier.pcap"), new byte[900]);
        var writer = new CaptureEvidenceWriter(NullLogger.Instance);
        writer.Configure(_dir, 1000);

        var (path, sha256, note) = writer.Write("span0", Violation(), Frames(2));

        Assert.Null(path);
        Assert.Null(sha256);
        Assert.Contains("holds its limit", note, StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(_dir, "*.pcap"));
        Assert.Equal(900, writer.UsedBytes);
    }

    [Fact]
    public void DirectoryCannotBeCreated_FindingSaysWhy()
    {
        var blocked = Path.Combine(_dir, "a-file");
        File.WriteAllText(blocked, "not a directory");
        var writer = new CaptureEvidenceWriter(NullLogger.Instance);
        writer.Configure(Path.Combine(blocked, "evidence"), 1024 * 1024);

        var (path, _, note) = writer.Write("span0", Violation(), Frames(1));

        Assert.Null(path);
        Assert.Contains("unavailable", note, StringComparison.Ordinal);
    }

    [Fact]
    public void DirectoryFor_BesideTheStoreUnlessThePolicyNamesOne()
    {
        var policy = EmptySite();

        Assert.Equal("/var/lib/segctl/evidence", CaptureEvidenceWriter.DirectoryFor(policy));
        Assert.Equal("/srv/evidence", CaptureEvidenceWriter.DirectoryFor(policy with
        {
            Controller = policy.Controller with { Capture = new CaptureSettings { EvidenceDirectory = "/srv/evidence" } },
        }));
    }

    [Theory]
    [InlineData("span0", "span0")]
    [InlineData("eth0.100", "eth0.100")]
    [InlineData("../../etc/x", ".._.._etc_x")]
    [InlineData("", "_")]
    public void SafeName_OnlyFileNameCharacters(string name, string expected)
    {
        Assert.Equal(expected, CaptureEvidenceWriter.SafeName(name));
    }
}
