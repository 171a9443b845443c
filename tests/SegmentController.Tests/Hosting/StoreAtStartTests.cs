using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Hosting;
using SegmentController.Storage.Sqlite;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Hosting;

/// <summary>
/// What the evidence store shows at start of a controller that ran before: only records <c>segctl run</c>
/// writes count; a store that cannot be read to tell counts as one (fail closed).
/// </summary>
public sealed class StoreAtStartTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-store-at-start-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void NoStoreFile_NothingRanBefore()
    {
        var atStart = StoreAtStart.Of(Path.Combine(_dir, "segctl.db"));

        Assert.False(atStart.Existed);
        Assert.Null(atStart.RanBefore);
    }

    [Fact]
    public void EmptyStoreFile_NothingRanBefore()
    {
        var path = Path.Combine(_dir, "segctl.db");
        File.WriteAllBytes(path, []);

        var atStart = StoreAtStart.Of(path);

        Assert.True(atStart.Existed);
        Assert.Null(atStart.RanBefore);
    }

    [Fact]
    public async Task StoreOnlyOfflineCommandsWrote_NothingRanBefore()
    {
        var path = Path.Combine(_dir, "segctl.db");
        await AppendAsync(path, RecordTypes.Analysis, """{"file":"capture.pcap"}""");
        await AppendAsync(path, RecordTypes.OperatorAction, "{}");
        await AppendAsync(path, RecordTypes.PolicyLoad, System.Text.Encoding.UTF8.GetString(PolicyLoadRecord.Create(TestSitePolicy(), PolicyLoadRecord.Purge)));

        Assert.Null(StoreAtStart.Of(path).RanBefore);
    }

    [Theory]
    [InlineData(PolicyLoadRecord.Start)]
    [InlineData(PolicyLoadRecord.Reload)]
    public async Task StoreHoldsAPolicyLoadOfARun_RanBefore_NamesTheRecord(string cause)
    {
        var path = Path.Combine(_dir, "segctl.db");
        await AppendAsync(path, RecordTypes.OperatorAction, "{}");
        await AppendAsync(path, RecordTypes.PolicyLoad, System.Text.Encoding.UTF8.GetString(PolicyLoadRecord.Create(TestSitePolicy(), cause)));

        var ranBefore = StoreAtStart.Of(path).RanBefore;

        Assert.NotNull(ranBefore);
        Assert.Contains($"a policy loaded at its {cause}, record ", ranBefore, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StoreHoldsASuspensionRecord_RanBefore()
    {
        var path = Path.Combine(_dir, "segctl.db");
        await AppendAsync(path, RecordTypes.Suspension, """{"event":"tripped","scope":"alpha"}""");

        Assert.Contains("a suspension record", StoreAtStart.Of(path).RanBefore, StringComparison.Ordinal);
    }

    [Fact]
    public void StoreFileThatIsNoStore_CannotTell_CountsAsRanBefore()
    {
        var path = Path.Combine(_dir, "segctl.db");
        File.WriteAllText(path, "not a database at all\n");

        var ranBefore = StoreAtStart.Of(path).RanBefore;

        Assert.NotNull(ranBefore);
        Assert.Contains("cannot be read to tell whether a controller ran here", ranBefore, StringComparison.Ordinal);
    }

    private static async Task AppendAsync(string path, string type, string payload)
    {
        await using var store = await SqliteEvidenceStore.OpenAsync(new Storage.StoreOptions { Path = path }, TimeProvider.System, CancellationToken.None);
        await store.AppendAsync(type, null, System.Text.Encoding.UTF8.GetBytes(payload), CancellationToken.None);
    }

    private SitePolicy TestSitePolicy()
    {
        var file = TestSite.WritePolicy(_dir);
        return PolicyProvider.TryOpen(file, out var errors)?.Current ?? throw new InvalidOperationException(string.Join("; ", errors));
    }
}
