using System.Security.Cryptography;
using System.Text;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Chain;
using SegmentController.Storage.Sqlite;
using SegmentController.Storage.Tests.Support;

namespace SegmentController.Storage.Tests.Sqlite;

/// <summary>The fast paths of writing and verifying give what the plain ones give.</summary>
public sealed class WriterPathTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Sha256_DirectLibcrypto_InUseOnLinux_SameDigestAsDotNet_ForEveryLength()
    {
        Assert.Equal(OperatingSystem.IsLinux(), Sha256.IsNative);
        var data = RandomNumberGenerator.GetBytes(70_000);
        Span<byte> ours = stackalloc byte[32];
        foreach (var length in new[] { 0, 1, 31, 55, 56, 63, 64, 65, 78, 80, 119, 200, 4096, 70_000 })
        {
            Sha256.Hash(data.AsSpan(0, length), ours);
            Assert.Equal(SHA256.HashData(data.AsSpan(0, length)), ours.ToArray());
        }
    }

    [Fact]
    public async Task SixMegabytesAppended_WriteAheadLogNeverGrowsPastOneCheckpointAndOneCommit()
    {
        // A checkpoint copies the log back once it holds WalCheckpointPages pages; the log file is then
        // reused from its start, so its size is the most the disk was handed between two checkpoints.
        // With SQLite's default of 1,000 pages it would reach about 4 MB here.
        var path = _dir.File("wal.db");
        var pad = new string('x', 20_000);
        await using (var store = await Stores.OpenAsync(path))
        {
            for (var n = 0; n < 300; n++)
            {
                await store.AppendAsync(RecordTypes.Access, "alpha", Stores.Json($$"""{"n":{{n}},"pad":"{{pad}}"}"""), CancellationToken.None);
            }

            var walBytes = new FileInfo(path + "-wal").Length;

            // 256 pages of 4,096 bytes, each framed with a 24-byte header, and room for the last commit: a
            // 20 kB record rewrites a few dozen pages at most (its overflow pages, the table's and the
            // index's last pages, the head).
            Assert.InRange(walBytes, 1, 32 + ((256 + 32) * (4096 + 24)));
            Assert.Equal(256, SqliteConnections.WalCheckpointPages);
        }

        var report = StoreVerifier.Verify(path, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
        Assert.Equal(300, StoreFile.Read(path, new RecordQuery { Type = RecordTypes.Access }).Count);
    }

    [Fact]
    public async Task ManyAppendsAtOnce_MultiRowInserts_EveryRecordAtItsIndexWithItsPayload()
    {
        var path = _dir.File("burst.db");
        var options = new StoreOptions { Path = path, CheckpointInterval = TimeSpan.Zero, BatchWindow = TimeSpan.FromMilliseconds(5) };
        var written = new Dictionary<long, string>();
        await using (var store = await SqliteEvidenceStore.OpenAsync(options, TimeProvider.System, CancellationToken.None))
        {
            var clients = new[] { "alpha", "beta", "alpha,beta", null };
            var appends = Enumerable.Range(0, 1000).Select(async n =>
            {
                var payload = $$"""{"n":{{n}},"pad":"{{new string('x', n % 300)}}"}""";
                var index = await store.AppendAsync(RecordTypes.Access, clients[n % clients.Length], Encoding.UTF8.GetBytes(payload), CancellationToken.None);
                lock (written)
                {
                    written.Add(index, payload);
                }
            }).ToArray();
            await Task.WhenAll(appends);
        }

        Assert.Equal(Enumerable.Range(1, 1000).Select(i => (long)i), written.Keys.Order());
        foreach (var record in StoreFile.Read(path, new RecordQuery { Type = RecordTypes.Access }))
        {
            Assert.Equal(written[record.Index], Encoding.UTF8.GetString(record.Payload!.Value.Span));
        }

        var report = StoreVerifier.Verify(path, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
    }

    [Fact]
    public async Task Verification_ReadingColumnsDirectlyOrThroughSqlitePcl_SameVerdict()
    {
        Assert.True(SqliteColumns.IsAvailable);
        var path = _dir.File("both.db");
        await using (var store = await Stores.OpenAsync(path))
        {
            await Stores.FillAsync(store, 9000);
        }

        var direct = StoreVerifier.Verify(path, directColumns: true, CancellationToken.None);
        var wrapped = StoreVerifier.Verify(path, directColumns: false, CancellationToken.None);
        Assert.True(direct.IsIntact && wrapped.IsIntact);
        Assert.Equal(direct.Count, wrapped.Count);
        Assert.Equal(direct.HeadHash, wrapped.HeadHash);

        // A record in the third batch of rows edited: both name it.
        Stores.Tamper(path, "UPDATE records SET payload = CAST('{\"n\":0}' AS BLOB) WHERE idx = 8500");
        direct = StoreVerifier.Verify(path, directColumns: true, CancellationToken.None);
        wrapped = StoreVerifier.Verify(path, directColumns: false, CancellationToken.None);
        Assert.Equal(8500, direct.Problem!.Index);
        Assert.Equal(direct.Problem, wrapped.Problem);
    }
}
