using System.Diagnostics;
using System.Globalization;
using SegmentController.Capture.Classification;
using SegmentController.Capture.Decoding;
using SegmentController.Capture.Rules;
using SegmentController.Capture.Sources;
using SegmentController.Core.Policy;

// Usage: SegmentController.Benchmarks PCAP POLICY [ROUNDS] [STAGE]
// Prints, per stage, the best time over ROUNDS and the frames/s it implies: reading the file alone
// (frames handed to a sink that only counts), reading + decoding, and the whole analyzer.
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: SegmentController.Benchmarks PCAP POLICY [ROUNDS]");
    return 2;
}

var pcap = args[0];
var loaded = PolicyLoader.LoadFile(args[1]);
if (loaded.Policy is null)
{
    Console.Error.WriteLine(string.Join(Environment.NewLine, loaded.Errors));
    return 2;
}

var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
var only = args.Length > 3 ? args[3] : null;
var index = await PolicyIndex.BuildAsync(loaded.Policy, null, TimeSpan.FromSeconds(3), CancellationToken.None);

Measure("read", () => Read(new CountingSink()));
Measure("read+decode", () => Read(new DecodingSink()));
Measure("read+decode+classify+flows+rules", () =>
{
    var analyzer = new CaptureAnalyzer(index, pcap);
    Read(analyzer);
    return analyzer.Packets;
});
return 0;

long Read(IFrameSink sink)
{
    using var source = new PcapFileSource(pcap);
    source.Run(sink, CancellationToken.None);
    return source.Frames;
}

void Measure(string stage, Func<long> run)
{
    if (only is not null && !stage.StartsWith(only, StringComparison.Ordinal))
    {
        return;
    }

    var best = double.MaxValue;
    var bestCpu = double.MaxValue;
    var frames = 0L;
    var allocated = GC.GetTotalAllocatedBytes(precise: true);
    var collections = GC.CollectionCount(0);
    for (var i = 0; i < rounds; i++)
    {
        var cpu = Environment.CpuUsage.TotalTime;
        var started = Stopwatch.GetTimestamp();
        frames = run();
        best = Math.Min(best, Stopwatch.GetElapsedTime(started).TotalSeconds);
        bestCpu = Math.Min(bestCpu, (Environment.CpuUsage.TotalTime - cpu).TotalSeconds);
    }

    // CPU time too: on a shared machine wall-clock time also measures the neighbours.
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{stage,-36} {best,8:F3} s {frames / best,14:N0} frames/s ({best * 1e9 / frames:F1} ns/frame), CPU {bestCpu:F3} s, {(GC.GetTotalAllocatedBytes(precise: true) - allocated) / rounds / 1024.0:F0} KiB allocated per run, {GC.CollectionCount(0) - collections} GCs"));
}

internal sealed class CountingSink : IFrameSink
{
    public long Bytes;

    public void OnFrame(ReadOnlySpan<byte> frame, int wireLength, long timestampTicks) => Bytes += frame.Length;

    public void OnIdle(long nowTicks)
    {
    }

    public void OnStatistics(CaptureStatistics statistics, long nowTicks)
    {
    }
}

internal sealed class DecodingSink : IFrameSink
{
    public long Errors;

    public void OnFrame(ReadOnlySpan<byte> frame, int wireLength, long timestampTicks)
    {
        var decoded = default(DecodedFrame);
        if (FrameDecoder.Decode(frame, wireLength, ref decoded) != DecodeError.None)
        {
            Errors++;
        }
    }

    public void OnIdle(long nowTicks)
    {
    }

    public void OnStatistics(CaptureStatistics statistics, long nowTicks)
    {
    }
}
