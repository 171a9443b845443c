using SegmentController.Capture.Decoding;
using SegmentController.Capture.Flows;

namespace SegmentController.Capture.Tests.Flows;

public sealed class FlowTableTests
{
    private static FlowKey Key(int n, params ushort[] vlans) =>
        new(vlans.Length == 0 ? [10] : vlans, false, NetworkLayer.Ipv4, 6, IpKey.FromV4(0x0A0A0000u + (uint)n), IpKey.FromV4(0x0A630005), (ushort)(1000 + n), 443);

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
        var a = Key(1, 10);
        var b = Key(1, 100, 10);

        table.GetOrAdd(a, 1, out _);
        table.GetOrAdd(b, 1, out var created);

        Assert.True(created);
        Assert.Equal(2, table.Count);
    }

    [Fact]
    public void ThreeDeepStacksDifferingOnlyInTheMiddle_DifferentFlows()
    {
        var table = new FlowTable(8);
        var a = Key(1, 100, 200, 10);
        var b = Key(1, 100, 201, 10);

        table.GetOrAdd(a, 1, out _);
        table.GetOrAdd(b, 1, out var created);
        table.GetOrAdd(Key(1, 100, 200, 10), 1, out var again);

        Assert.True(created);
        Assert.False(again);
        Assert.Equal(2, table.Count);
        Assert.Equal(new[] { 100, 200, 10 }, a.VlanList());
        Assert.Equal(100, a.OuterVlan);
        Assert.Equal(10, a.InnerVlan);
    }

    [Fact]
    public void EightTagStack_EveryTagKeptAndDistinct()
    {
        ushort[] stack = [1, 2, 3, 4, 5, 6, 7, 8];
        var keys = Enumerable.Range(0, 8).Select(i =>
        {
            var changed = (ushort[])stack.Clone();
            changed[i] = 4000;
            return Key(1, changed);
        }).Append(Key(1, stack)).ToArray();

        Assert.Equal(keys.Length, keys.Distinct().Count());
        Assert.Equal(stack.Select(v => (int)v), Key(1, stack).VlanList());
    }

    [Fact]
    public void OverflowFlag_PartOfTheKey()
    {
        ushort[] stack = [1, 2, 3, 4, 5, 6, 7, 8];
        var kept = new FlowKey(stack, false, NetworkLayer.Other, 0, default, default, 0, 0);
        var deeper = new FlowKey(stack, true, NetworkLayer.Other, 0, default, default, 0, 0);

        Assert.NotEqual(kept, deeper);
        Assert.True(deeper.VlanOverflow);
        Assert.False(kept.VlanOverflow);
    }

    [Fact]
    public void RandomInsertsExpiriesAndEvictions_AgreeWithReferenceModel()
    {
        // Small capacity, many more keys than fit, colliding hashes forced by few distinct ports: the
        // index's growth, probing and backward-shift deletion must never lose or invent a flow.
        var table = new FlowTable(300);
        var model = new Dictionary<int, long>();
        var order = new LinkedList<int>();
        var nodes = new Dictionary<int, (LinkedListNode<int> Node, long OrderedTicks)>();
        var random = new Random(11);
        var now = 1_000_000L;
        for (var step = 0; step < 200_000; step++)
        {
            now += random.Next(0, 3) * FlowTable.OrderGranularityTicks;
            var n = random.Next(2000);
            ref var state = ref table.GetOrAdd(Key(n), now, out var created);
            state.Packets++;
            state.LastTicks = now;
            Assert.Equal(!model.ContainsKey(n), created);
            if (created)
            {
                if (model.Count == 300)
                {
                    model.Remove(order.First!.Value);
                    nodes.Remove(order.First!.Value);
                    order.RemoveFirst();
                }

                model[n] = 0;
                nodes[n] = (order.AddLast(n), now);
            }
            else if (now - nodes[n].OrderedTicks > FlowTable.OrderGranularityTicks)
            {
                // The table's order moves a flow to the young end at most once per granularity period.
                order.Remove(nodes[n].Node);
                nodes[n] = (order.AddLast(n), now);
            }

            model[n]++;
            Assert.Equal(model[n], state.Packets);
            if (random.Next(500) == 0)
            {
                table.Expire(now + 1);
                model.Clear();
                order.Clear();
                nodes.Clear();
            }

            Assert.Equal(model.Count, table.Count);
        }
    }
}
