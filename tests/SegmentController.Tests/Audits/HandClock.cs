namespace SegmentController.Tests.Audits;

/// <summary>Wall-clock time the test moves by hand; timers and delays still run on real time.</summary>
internal sealed class HandClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
