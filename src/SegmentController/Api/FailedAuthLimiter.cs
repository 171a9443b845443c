using System.Net;

namespace SegmentController.Api;

/// <summary>
/// Counts failed authentications per source address in a fixed window; once an address has failed
/// <see cref="MaxFailures"/> times in the window it is refused (429) until the window ends. Memory is
/// bounded: at most <see cref="MaxTrackedAddresses"/> addresses, expired ones pruned first.
/// </summary>
internal sealed class FailedAuthLimiter(TimeProvider time)
{
    /// <summary>Failures allowed per address per window.</summary>
    public const int MaxFailures = 10;

    /// <summary>Addresses remembered at once.</summary>
    public const int MaxTrackedAddresses = 10_000;

    /// <summary>The window.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private readonly Dictionary<IPAddress, Bucket> _buckets = [];

    /// <summary>How long the address must wait, or null when it may try.</summary>
    public TimeSpan? RetryAfter(IPAddress? address)
    {
        var key = address ?? IPAddress.None;
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (_buckets.TryGetValue(key, out var bucket) && bucket.Failures >= MaxFailures && now < bucket.WindowEnd)
            {
                return bucket.WindowEnd - now;
            }

            return null;
        }
    }

    /// <summary>Counts one failure for the address.</summary>
    public void RecordFailure(IPAddress? address)
    {
        var key = address ?? IPAddress.None;
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (!_buckets.TryGetValue(key, out var bucket) || now >= bucket.WindowEnd)
            {
                if (_buckets.Count >= MaxTrackedAddresses)
                {
                    Prune(now);
                }

                bucket = new Bucket(0, now + Window);
            }

            _buckets[key] = bucket with { Failures = bucket.Failures + 1 };
        }
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var (address, bucket) in _buckets.ToArray())
        {
            if (now >= bucket.WindowEnd)
            {
                _buckets.Remove(address);
            }
        }

        // Still full under a spray from many addresses: forget the oldest half rather than grow.
        if (_buckets.Count >= MaxTrackedAddresses)
        {
            foreach (var address in _buckets.OrderBy(b => b.Value.WindowEnd).Take(_buckets.Count / 2).Select(b => b.Key).ToArray())
            {
                _buckets.Remove(address);
            }
        }
    }

    private readonly record struct Bucket(int Failures, DateTimeOffset WindowEnd);
}
