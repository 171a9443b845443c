using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using SegmentController.Core.Evidence;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;

// Usage: StorageBench DIR [RECORDS]. Prints append and verify rates of the evidence store and
// SQLite's own bulk-insert rate (same disk, WAL, synchronous=FULL, same batch size) as the reference,
// each with the CPU time it took per record (on a shared machine the rates move with the neighbours'
// load; the CPU time per record moves less). Verification, which reads only, runs three times: the best.
var dir = args.Length > 0 ? args[0] : Path.GetTempPath();
var count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 400_000;
const int BatchSize = 8192;
var payload = Encoding.UTF8.GetBytes("{\"client\":\"alpha\",\"src\":\"10.1.0.5\",\"route\":\"/crm/api/v2/customers/0000000000\",\"method\":\"GET\",\"status\":200,\"bytes\":18231,\"upstream\":\"crm.alpha.example:443\",\"tls\":\"1.3\",\"ms\":12}".PadRight(200, ' ')[..200]);

string Fresh(string name)
{
    var path = Path.Combine(dir, $"segctl-bench-{name}-{Environment.ProcessId}.db");
    foreach (var suffix in new[] { "", "-wal", "-shm", ".key.pem" })
    {
        File.Delete(path + suffix);
    }

    return path;
}

static TimeSpan Cpu() => Process.GetCurrentProcess().TotalProcessorTime;

// Reference: SQLite's bulk insert of the same rows, no hashing, no signing.
var referencePath = Fresh("reference");
double referenceRate;
TimeSpan referenceCpu;
using (var connection = new SqliteConnection($"Data Source={referencePath};Pooling=False"))
{
    connection.Open();
    using (var pragma = connection.CreateCommand())
    {
        pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE records(idx INTEGER PRIMARY KEY, time INTEGER NOT NULL, type TEXT NOT NULL, clients TEXT, payload BLOB, payload_sha256 BLOB NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL);";
        pragma.ExecuteNonQuery();
    }

    using var insert = connection.CreateCommand();
    insert.CommandText = "INSERT INTO records VALUES ($i, $t, 'access', 'alpha', $p, $h, $h, $h)";
    var pi = insert.Parameters.Add("$i", SqliteType.Integer);
    var pt = insert.Parameters.Add("$t", SqliteType.Integer);
    var pp = insert.Parameters.Add("$p", SqliteType.Blob);
    var ph = insert.Parameters.Add("$h", SqliteType.Blob);
    var zero = new byte[32];
    var cpuBefore = Cpu();
    var watch = Stopwatch.StartNew();
    for (var i = 0; i < count; i += BatchSize)
    {
        using var transaction = connection.BeginTransaction();
        insert.Transaction = transaction;
        for (var j = i; j < Math.Min(count, i + BatchSize); j++)
        {
            pi.Value = j;
            pt.Value = DateTime.UtcNow.Ticks;
            pp.Value = payload;
            ph.Value = zero;
            insert.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    referenceRate = count / watch.Elapsed.TotalSeconds;
    referenceCpu = Cpu() - cpuBefore;
}

// The evidence store: concurrent producers, each append completes only after its batch committed.
var storePath = Fresh("store");
double appendRate;
TimeSpan appendCpu;
await using (var store = await SqliteEvidenceStore.OpenAsync(new StoreOptions { Path = storePath, CheckpointInterval = TimeSpan.FromSeconds(1), MaxBatch = BatchSize }, TimeProvider.System, CancellationToken.None))
{
    const int Producers = 8;
    const int InFlight = 4096;
    var cpuBefore = Cpu();
    var watch = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, Producers).Select(p => Task.Run(async () =>
    {
        var pending = new Queue<Task<long>>(InFlight);
        for (var i = p; i < count; i += Producers)
        {
            if (pending.Count == InFlight)
            {
                await pending.Dequeue();
            }

            pending.Enqueue(store.AppendAsync(RecordTypes.Access, "alpha", payload, CancellationToken.None).AsTask());
        }

        while (pending.Count > 0)
        {
            await pending.Dequeue();
        }
    })));
    appendRate = count / watch.Elapsed.TotalSeconds;
    appendCpu = Cpu() - cpuBefore;
}

var verifyRate = 0.0;
var verifyCpu = TimeSpan.MaxValue;
for (var round = 0; round < 3; round++)
{
    var cpuBefore = Cpu();
    var verifyWatch = Stopwatch.StartNew();
    var report = StoreVerifier.Verify(storePath, CancellationToken.None);
    var rate = report.Count / verifyWatch.Elapsed.TotalSeconds;
    var cpu = Cpu() - cpuBefore;
    if (!report.IsIntact)
    {
        Console.Error.WriteLine($"verification failed: {report.Problem}");
        return 1;
    }

    verifyRate = Math.Max(verifyRate, rate);
    verifyCpu = cpu < verifyCpu ? cpu : verifyCpu;
}

string PerRecord(TimeSpan cpu) => string.Create(CultureInfo.InvariantCulture, $"cpu {cpu.TotalMicroseconds / count:F2} µs/record");

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"records: {count} x {payload.Length} bytes, batches of up to {BatchSize}, WAL + synchronous=FULL, dir {dir}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sqlite bulk insert (reference): {referenceRate,12:N0} rows/s     {PerRecord(referenceCpu)}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"evidence store append:          {appendRate,12:N0} records/s  {PerRecord(appendCpu)}  ({appendRate / referenceRate:P0} of reference; target 200,000)"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"evidence store verify:          {verifyRate,12:N0} records/s  {PerRecord(verifyCpu)}  ({verifyRate / referenceRate:F2}x reference insert rate; target 1,000,000; best of 3)"));
foreach (var suffix in new[] { "", "-wal", "-shm", ".key.pem" })
{
    File.Delete(referencePath + suffix);
    File.Delete(storePath + suffix);
}

return 0;
