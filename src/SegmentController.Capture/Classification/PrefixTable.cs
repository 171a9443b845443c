using System.Net;
using System.Net.Sockets;
using SegmentController.Capture.Decoding;

namespace SegmentController.Capture.Classification;

/// <summary>
/// Longest-prefix match for IPv4 and IPv6: one hash table per prefix length in use, probed from the
/// longest length down. A site has a handful of distinct lengths, so a lookup is a few hash probes and
/// allocates nothing. Immutable once built.
/// </summary>
internal sealed class PrefixTable
{
    private readonly (int Length, Dictionary<uint, int> Map)[] _v4;
    private readonly (int Length, Dictionary<UInt128, int> Map)[] _v6;

    private PrefixTable((int, Dictionary<uint, int>)[] v4, (int, Dictionary<UInt128, int>)[] v6)
    {
        _v4 = v4;
        _v6 = v6;
    }

    /// <summary>The value of the longest prefix containing <paramref name="address"/>, or <paramref name="notFound"/>.</summary>
    public int Lookup(IpKey address, int notFound)
    {
        if (address.IsV4)
        {
            var v4 = address.V4;
            foreach (var (length, map) in _v4)
            {
                var masked = length == 0 ? 0u : v4 & (uint.MaxValue << (32 - length));
                if (map.TryGetValue(masked, out var value))
                {
                    return value;
                }
            }

            return notFound;
        }

        var v6 = address.V6;
        foreach (var (length, map) in _v6)
        {
            var masked = length == 0 ? UInt128.Zero : v6 & (UInt128.MaxValue << (128 - length));
            if (map.TryGetValue(masked, out var value))
            {
                return value;
            }
        }

        return notFound;
    }

    /// <summary>Collects prefixes; the first value given for a prefix wins and a conflict is reported.</summary>
    internal sealed class Builder
    {
        private readonly SortedDictionary<int, Dictionary<uint, int>> _v4 = new(Comparer<int>.Create((a, b) => b.CompareTo(a)));
        private readonly SortedDictionary<int, Dictionary<UInt128, int>> _v6 = new(Comparer<int>.Create((a, b) => b.CompareTo(a)));

        /// <summary>Adds a prefix; returns the value already held for it when that differs.</summary>
        public int? Add(IPNetwork network, int value)
        {
            var key = IpKey.From(network.BaseAddress);
            var length = network.PrefixLength;
            if (network.BaseAddress.AddressFamily == AddressFamily.InterNetwork)
            {
                var map = GetOrAdd(_v4, length);
                var masked = length == 0 ? 0u : key.V4 & (uint.MaxValue << (32 - length));
                return map.TryAdd(masked, value) || map[masked] == value ? null : map[masked];
            }
            else
            {
                var map = GetOrAdd(_v6, length);
                var masked = length == 0 ? UInt128.Zero : key.V6 & (UInt128.MaxValue << (128 - length));
                return map.TryAdd(masked, value) || map[masked] == value ? null : map[masked];
            }
        }

        public PrefixTable Build() =>
            new(_v4.Select(p => (p.Key, p.Value)).ToArray(), _v6.Select(p => (p.Key, p.Value)).ToArray());

        private static Dictionary<TKey, int> GetOrAdd<TKey>(SortedDictionary<int, Dictionary<TKey, int>> tables, int length)
            where TKey : notnull
        {
            if (!tables.TryGetValue(length, out var map))
            {
                map = [];
                tables.Add(length, map);
            }

            return map;
        }
    }
}
