using System.Collections.Concurrent;
using SegmentController.Core.Suspension;

namespace SegmentController.Proxy.Gate;

/// <summary>
/// Live objects (connections, requests) per client, so a trip can abort them. Callers add before they
/// check the suspension state and the engine publishes the state before it enumerates: whichever comes
/// second sees the other, so nothing slips between check and abort.
/// </summary>
internal sealed class ClientTracker<T>
    where T : class
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<T, byte>> _byClient = new(StringComparer.Ordinal);

    public void Add(string client, T item) =>
        _byClient.GetOrAdd(client, static _ => new ConcurrentDictionary<T, byte>(ReferenceEqualityComparer.Instance)).TryAdd(item, 0);

    public void Remove(string client, T item)
    {
        if (_byClient.TryGetValue(client, out var items))
        {
            items.TryRemove(item, out _);
        }
    }

    public int Count(string client) => _byClient.TryGetValue(client, out var items) ? items.Count : 0;

    /// <summary>The first live item that <paramref name="match"/> accepts, or null; a walk over every item, for rare lookups.</summary>
    public T? Find<TArg>(Func<T, TArg, bool> match, TArg argument)
    {
        foreach (var items in _byClient.Values)
        {
            foreach (var item in items.Keys)
            {
                if (match(item, argument))
                {
                    return item;
                }
            }
        }

        return null;
    }

    /// <summary>Every live item with the client it is tracked under.</summary>
    public (string Client, T Item)[] All() =>
        [.. _byClient.SelectMany(pair => pair.Value.Keys.Select(item => (pair.Key, item)))];

    /// <summary>The live items of a client, or of every client for <see cref="SuspensionNames.AllClients"/>.</summary>
    public T[] Snapshot(string scope)
    {
        if (string.Equals(scope, SuspensionNames.AllClients, StringComparison.Ordinal))
        {
            return _byClient.Values.SelectMany(v => v.Keys).ToArray();
        }

        return _byClient.TryGetValue(scope, out var items) ? items.Keys.ToArray() : [];
    }
}
