using System.Collections.Concurrent;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;

namespace SegmentController.Proxy.Benchmarks;

internal sealed class FixedPolicy(SitePolicy policy) : IPolicyProvider
{
    public SitePolicy Current { get; } = policy;

    public event EventHandler<SitePolicy>? PolicyChanged
    {
        add { }
        remove { }
    }
}

/// <summary>
/// Keeps access records in memory: the proxy's side of the cost, without a disk. It holds the last
/// <see cref="Access.AccessRecords.Capacity"/>, as many as the proxy lets wait for the store.
/// </summary>
internal sealed class MemoryAppender : IRecordAppender
{
    private long _index;

    public ConcurrentQueue<ReadOnlyMemory<byte>> Recent { get; } = new();

    public StoreHealth Health { get; } = StoreHealth.Healthy(DateTimeOffset.UtcNow);

    public event EventHandler<StoreHealth>? HealthChanged
    {
        add { }
        remove { }
    }

    public ValueTask<long> AppendAsync(string type, string? clients, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        Recent.Enqueue(payload.ToArray());
        while (Recent.Count > Access.AccessRecords.Capacity)
        {
            Recent.TryDequeue(out _);
        }

        return ValueTask.FromResult(Interlocked.Increment(ref _index));
    }
}
