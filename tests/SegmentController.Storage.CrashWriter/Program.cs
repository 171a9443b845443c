using System.Globalization;
using System.Text;
using SegmentController.Core.Evidence;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;

// Usage: CrashWriter STORE_PATH. Appends from 32 concurrent writers until killed; prints
// "ack INDEX N" only after the append of payload {"n":N} was acknowledged (durable).
if (args.Length != 1)
{
    await Console.Error.WriteLineAsync("usage: CrashWriter STORE_PATH");
    return 2;
}

var store = await SqliteEvidenceStore.OpenAsync(
    new StoreOptions { Path = args[0], CheckpointInterval = TimeSpan.FromMilliseconds(200) },
    TimeProvider.System,
    CancellationToken.None);
var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true };
var gate = new Lock();
var counter = 0;
Console.Error.WriteLine("ready");

async Task WriterAsync()
{
    while (true)
    {
        var n = Interlocked.Increment(ref counter);
        var payload = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $$"""{"n":{{n}},"pad":"{{new string('x', 150)}}"}"""));
        var index = await store.AppendAsync(RecordTypes.Access, n % 2 == 0 ? "alpha" : "beta", payload, CancellationToken.None);
        lock (gate)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ack {index} {n}"));
        }
    }
}

await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(WriterAsync)));
return 0;
