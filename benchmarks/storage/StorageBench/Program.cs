using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using SegmentController.Core.Evidence;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;

// Usage: StorageBench DIR [RECORDS] [RATE] [SECONDS]. Prints append and verify rates of the evidence
// store and SQLite's own bulk-insert rate (same disk, WAL, synchronous=FULL, same batch size) as the
// reference, each with the CPU time it took per record (on a shared machine the rates move with the
// neighbours' load; the CPU time per record moves less). Verification, which reads only, runs three
// times: the best. Then records handed over at a steady RATE a second, as the proxy hands over its
// access records, with the default batch window (20 ms, 384 records), the same for 8 clients in turn (a
// batch's records of one client key are one row) and the earlier 10 ms, 256 records: the CPU each record
// costs the store.
var dir = args.Length > 0 ? args[0] : Path.GetTempPath();
var count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 400_000;
var steadyRate = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 22_000;
var steadySeconds = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 8;
const int BatchSize = 8192;
var payload = Encoding.UTF8.GetBytes("{\"client\":\"alpha\",\"src\":\"10.1.0.5\",\"route\":\"/crm/api/v2/customers/0000000000\",\"method\":\"GET\",\"status\":200,\"bytes\":18231,\"upstream\":\"crm.alpha.example:443\",\"tls\":\"1.3\",\"ms\":12}".PadRight(200, ' ')[..200]);

string Fresh(string name)
{
    var path = Path.Combine(dir, $"segctl-bench-{name}-{Environment.ProcessId}.db");
    DeleteStore(path);
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
DeleteStore(referencePath);
DeleteStore(storePath);

// Steady hand-over: a producer thread hands records over at the rate, each a fresh access-record-sized
// payload, holding at most the proxy's bound (AccessRecords.Capacity, 512) not yet durable, as AccessRecords
// does. The producer alone (the same payloads, no store) is measured too: the store's cost per record is
// the difference. Alternated, three times each, so that the machine's drift falls on every setting.
var steadyPayload = "{\"time\":\"2026-11-26T21:00:00.1234567+00:00\",\"client\":\"acme\",\"source\":\"10.20.0.15\",\"method\":\"GET\",\"host\":\"crm.acme.example\",\"path\":\"/api/v2/customers\",\"status\":200,\"bytes_in\":0,\"bytes_out\":18231,\"duration_seconds\":0.000512,\"upstream\":\"crm\",\"route_client\":\"acme\",\"outcome\":\"forwarded\",\"n\":";
const int ProxyBound = 512;
(TimeSpan Window, int Records, int Clients, string Name)[] settings =
[
    (TimeSpan.Zero, 0, 1, "producer alone"),
    (TimeSpan.FromMilliseconds(20), 384, 1, "20 ms window, 384 records (default)"),
    (TimeSpan.FromMilliseconds(20), 384, 8, "the same, 8 clients in turn"),
    (TimeSpan.FromMilliseconds(10), 256, 1, "10 ms window, 256 records (earlier default)"),
];
var steady = settings.Select(_ => new List<SteadyResult>()).ToArray();
for (var round = 0; round < 3; round++)
{
    for (var k = 0; k < settings.Length; k++)
    {
        var (window, records, clients, _) = settings[k];
        steady[k].Add(await SteadyAsync(window, records, clients));
    }
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"steady hand-over, {steadyRate:N0} records/s for {steadySeconds} s, payloads of about {steadyPayload.Length + 7} bytes (median of 3 by CPU; process CPU per record, the producer's included):"));
var alone = Median(steady[0]).CpuUs;
for (var k = 0; k < settings.Length; k++)
{
    var m = Median(steady[k]);
    Console.WriteLine(k == 0
        ? string.Create(CultureInfo.InvariantCulture, $"  {settings[k].Name,-40} cpu {m.CpuUs,5:F2} µs/record  (runs {string.Join(" ", steady[k].Select(r => r.CpuUs.ToString("F2", CultureInfo.InvariantCulture)))})")
        : string.Create(CultureInfo.InvariantCulture, $"  {settings[k].Name,-40} cpu {m.CpuUs,5:F2} µs/record, the store's {m.CpuUs - alone:F2}  {m.Commits / steadySeconds,4:F0} commits/s of {m.RecordsPerCommit:F0} records, {m.WrittenPerRecord:F0} bytes written per record  (runs {string.Join(" ", steady[k].Select(r => r.CpuUs.ToString("F2", CultureInfo.InvariantCulture)))})"));
}

return 0;

static SteadyResult Median(List<SteadyResult> runs) => runs.OrderBy(r => r.CpuUs).ElementAt(runs.Count / 2);

async Task<SteadyResult> SteadyAsync(TimeSpan window, int windowRecords, int clients)
{
    // A batch's records of one client key are one row: with several clients, a batch makes several.
    var clientKeys = Enumerable.Range(0, clients).Select(c => c == 0 ? "acme" : $"client{c}").ToArray();
    var path = Fresh("steady");
    var observer = new CountingObserver();
    SqliteEvidenceStore? store = window > TimeSpan.Zero
        ? await SqliteEvidenceStore.OpenAsync(new StoreOptions { Path = path, BatchWindow = window, WindowRecords = windowRecords }, TimeProvider.System, CancellationToken.None)
        : null;
    var bound = ProxyBound;
    var written = WrittenBytes();
    var cpuBefore = Cpu();
    var sent = 0L;
    var producer = new Thread(() =>
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed.TotalSeconds < steadySeconds)
        {
            var due = (long)(watch.Elapsed.TotalSeconds * steadyRate);
            for (; sent < due; sent++)
            {
                while (Volatile.Read(ref observer.Outstanding) >= bound)
                {
                    Thread.Sleep(0);
                }

                var record = Encoding.UTF8.GetBytes(steadyPayload + sent.ToString(CultureInfo.InvariantCulture) + "}");
                Interlocked.Increment(ref observer.Outstanding);
                if (store is null)
                {
                    // The same payloads, and no store: what the store costs includes its caller's side
                    // of the hand-over (the copy, the payload's digest).
                    GC.KeepAlive(record);
                    ((IAppendObserver)observer).Committed(1);
                }
                else if (!store.TryHandOver(RecordTypes.Access, clientKeys[sent % clients], record, observer))
                {
                    throw new InvalidOperationException("the store's queue is full");
                }
            }

            Thread.Sleep(1);
        }
    });
    producer.Start();
    producer.Join();
    while (Volatile.Read(ref observer.Outstanding) > 0)
    {
        await Task.Delay(1);
    }

    var cpu = Cpu() - cpuBefore;
    var bytes = WrittenBytes() - written;
    var commits = observer.Commits;
    if (store is not null)
    {
        await store.DisposeAsync();
    }

    DeleteStore(path);
    return new SteadyResult(cpu.TotalMicroseconds / sent, store is null ? 0 : commits, store is null ? 1 : (double)sent / Math.Max(1, commits), (double)bytes / sent);
}

// A store file and what SQLite and the store keep beside it.
static void DeleteStore(string path)
{
    foreach (var suffix in new[] { "", "-wal", "-shm", ".key.pem", ".lock" })
    {
        File.Delete(path + suffix);
    }
}

// Bytes this process caused to be written to disk (/proc/self/io write_bytes; 0 where unavailable).
static long WrittenBytes()
{
    try
    {
        foreach (var line in File.ReadLines("/proc/self/io"))
        {
            if (line.StartsWith("write_bytes:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan("write_bytes:".Length).Trim(), CultureInfo.InvariantCulture);
            }
        }
    }
    catch (IOException)
    {
    }

    return 0;
}

internal sealed record SteadyResult(double CpuUs, long Commits, double RecordsPerCommit, double WrittenPerRecord);

internal sealed class CountingObserver : IAppendObserver
{
    public int Outstanding;
    public long Commits;

    void IAppendObserver.Committed(int count)
    {
        Interlocked.Add(ref Outstanding, -count);
        Commits++;
    }

    void IAppendObserver.Retrying(int count, StoreUnavailableException reason) => throw reason;

    void IAppendObserver.Failed(int count, StoreUnavailableException reason) => throw reason;
}
