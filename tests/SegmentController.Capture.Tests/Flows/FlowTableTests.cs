using SegmentController.Capture.Decoding;
using SegmentController.Capture.Flows;

namespace SegmentController.Capture.Tests.Flows;

public sealed class FlowTableTests
{
    private static FlowKey Key(int n) =>
        new(10, 10, 1, NetworkLayer.Ipv4, 6, IpKey.FromV4(0x0A0A0000u + (uint)n), IpKey.FromV4(0x0A630005), (ushort)(1000 + n), 443);

    [Fact]
    public void SameKeyTwice_OneFlow()
    {
        var table = new FlowTable(8);

        table.GetOrAdd(Key(1), 1, out var first).Packets++;
        ref var state = ref table.GetOrAdd(Key(1), 2, out var second);
        state.Packets++;

        Assert.True(first);
        Assert.False(second);
        Assert.Equal(2, state.Packets);
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void Full_OldestEvictedAndCounted()
    {
        var table = new FlowTable(3);
        var step = FlowTable.OrderGranularityTicks + 1;
        for (var i = 0; i < 3; i++)
        {
            table.GetOrAdd(Key(i), i * step, out _).LastTicks = i * step;
        }

        table.GetOrAdd(Key(0), 10 * step, out _).LastTicks = 10 * step;
        table.GetOrAdd(Key(3), 11 * step, out _);
        table.GetOrAdd(Key(1), 12 * step, out var recreated);

        Assert.Equal(2, table.Evictions);
        Assert.True(recreated);
        Assert.Equal(3, table.Count);
    }

    [Fact]
    public void IdleFlows_ExpiredOldestFirst()
    {
        var table = new FlowTable(16);
        for (var i = 0; i < 10; i++)
        {
            table.GetOrAdd(Key(i), i * 100, out _).LastTicks = i * 100;
        }

        var removed = table.Expire(500);

        Assert.Equal(5, removed);
        Assert.Equal(5, table.Count);
        Assert.Equal(5, table.Expirations);
    }

    [Fact]
    public void FlowSeenAfterItWasPlaced_NotExpired()
    {
        var table = new FlowTable(16);
        table.GetOrAdd(Key(1), 0, out _);
        table.GetOrAdd(Key(2), 0, out _);
        table.GetOrAdd(Key(1), 10, out _).LastTicks = 10;

        var removed = table.Expire(5);

        Assert.Equal(1, removed);
        table.GetOrAdd(Key(1), 11, out var created);
        Assert.False(created);
    }

    [Fact]
    public void QinQStackDiffers_DifferentFlows()
    {
        var table = new FlowTable(8);
        var a = Key(1);
        var b = a.WithVlans(100, 2);

        table.GetOrAdd(a, 1, out _);
        table.GetOrAdd(b, 1, out var created);

        Assert.True(created);
        Assert.Equal(2, table.Count);
    }
}
