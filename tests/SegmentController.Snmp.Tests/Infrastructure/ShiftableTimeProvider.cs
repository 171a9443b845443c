namespace SegmentController.Snmp.Tests.Infrastructure;

/// <summary>The system clock, shifted on demand (to put a client out of an agent's time window).</summary>
internal sealed class ShiftableTimeProvider : TimeProvider
{
    private long _offsetTicks;

    public void Shift(TimeSpan by) => Interlocked.Add(ref _offsetTicks, (long)(by.TotalSeconds * TimestampFrequency));

    public override long GetTimestamp() => System.GetTimestamp() + Interlocked.Read(ref _offsetTicks);

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + TimeSpan.FromSeconds((double)Interlocked.Read(ref _offsetTicks) / TimestampFrequency);
}
