using System.Net;
using SegmentController.Core.Policy;

namespace SegmentController.Proxy.Enforcement;

/// <summary>
/// Maps a source address to the one client whose segment holds it (longest prefix wins). Two clients
/// claiming the same most-specific prefix make the address ambiguous, which counts as unknown: the
/// proxy never guesses.
/// </summary>
internal sealed class ClientAddressMap
{
    private readonly Entry[] _entries;

    public ClientAddressMap(SitePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _entries = policy.Clients
            .SelectMany(c => c.Segments.SelectMany(s => s.Subnets.Select(n => new Entry(n, c.Id))))
            .OrderByDescending(e => e.Network.PrefixLength)
            .ToArray();
    }

    /// <summary>The client of this source address, or null when none (or more than one) claims it.</summary>
    public string? Resolve(IPAddress? address)
    {
        if (address is null)
        {
            return null;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        string? found = null;
        var foundLength = -1;
        foreach (var entry in _entries)
        {
            if (entry.Network.PrefixLength < foundLength)
            {
                break;
            }

            if (!entry.Network.Contains(address))
            {
                continue;
            }

            if (found is not null && !string.Equals(found, entry.Client, StringComparison.Ordinal))
            {
                return null;
            }

            found = entry.Client;
            foundLength = entry.Network.PrefixLength;
        }

        return found;
    }

    private readonly record struct Entry(IPNetwork Network, string Client);
}
