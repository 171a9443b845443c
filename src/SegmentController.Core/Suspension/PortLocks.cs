namespace SegmentController.Core.Suspension;

/// <summary>
/// Ownership of switch ports for the engine's port work (shut, bring-up, reassertion, retry): one piece
/// of work at a time per port, so each port ends as the last work to own it says; work on other ports
/// never waits for it, however long a switch that hangs keeps its owner in SNMP timeouts.
/// </summary>
/// <remarks>
/// A piece of work takes all its ports before it starts, in one order (ordinal, by switch and port), so
/// two pieces that share ports cannot each hold one the other waits for. A port's lock is made the first
/// time the port is named and kept: the policy bounds how many there are.
/// </remarks>
internal sealed class PortLocks
{
    private readonly Dictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>The key of one port: the switch as the policy names it, the port without case (as switches match names).</summary>
    public static string Key(string switchName, string port) => $"{switchName}\0{port.ToUpperInvariant()}";

    /// <summary>Waits until every one of <paramref name="keys"/> is free and takes them; disposing the result frees them.</summary>
    public async Task<Held> AcquireAsync(IEnumerable<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var ordered = keys.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var taken = new List<SemaphoreSlim>(ordered.Length);
        try
        {
            foreach (var key in ordered)
            {
                var semaphore = LockOf(key);
                await semaphore.WaitAsync(cancellationToken).ConfigureAwait(false);
                taken.Add(semaphore);
            }
        }
        catch
        {
            Release(taken);
            throw;
        }

        return new Held(taken);
    }

    private SemaphoreSlim LockOf(string key)
    {
        lock (_gate)
        {
            if (!_locks.TryGetValue(key, out var semaphore))
            {
                _locks[key] = semaphore = new SemaphoreSlim(1, 1);
            }

            return semaphore;
        }
    }

    private static void Release(List<SemaphoreSlim> taken)
    {
        for (var i = taken.Count - 1; i >= 0; i--)
        {
            taken[i].Release();
        }

        taken.Clear();
    }

    /// <summary>Ports taken by one piece of work.</summary>
    public sealed class Held(List<SemaphoreSlim> taken) : IDisposable
    {
        public void Dispose()
        {
            lock (taken)
            {
                Release(taken);
            }
        }
    }
}
