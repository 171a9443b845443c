using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using SegmentController.Capture.Decoding;
using SegmentController.Core.Policy;

namespace SegmentController.Capture.Classification;

/// <summary>
/// The site policy flattened for per-frame lookups: VLAN → segment, longest-prefix match of addresses
/// → segment or infrastructure, client upstream addresses and proxy addresses. Immutable: a policy
/// reload builds a new index and swaps the reference, so capture never stops.
/// </summary>
internal sealed class PolicyIndex
{
    private readonly int[] _vlanOwner;
    private readonly PrefixTable _subnets;
    private readonly Dictionary<IpKey, int[]> _upstreamClients;
    private readonly HashSet<IpKey> _proxies;
    private readonly bool _clientsHaveIpv4;
    private readonly bool _upstreamsHaveIpv4;

    private PolicyIndex(
        SitePolicy policy,
        string[] clientIds,
        SegmentInfo[] segments,
        int[] vlanOwner,
        PrefixTable subnets,
        Dictionary<IpKey, int[]> upstreamClients,
        HashSet<IpKey> proxies,
        IReadOnlyList<string> warnings)
    {
        Policy = policy;
        ClientIds = clientIds;
        Segments = segments;
        _vlanOwner = vlanOwner;
        _subnets = subnets;
        _upstreamClients = upstreamClients;
        _proxies = proxies;
        _upstreamsHaveIpv4 = upstreamClients.Keys.Any(a => a.IsV4);
        _clientsHaveIpv4 = segments.Length > 0 && policy.Clients.Any(c => c.Segments.Any(s => s.Subnets.Any(n => n.BaseAddress.AddressFamily == AddressFamily.InterNetwork)));
        Warnings = warnings;
        Capture = policy.Controller.Capture;
        SegmentTagOuter = Capture.SegmentTag == SegmentTag.Outer;
    }

    public SitePolicy Policy { get; }

    public CaptureSettings Capture { get; }

    /// <summary>
    /// True when the outermost tag of a stacked frame names the segment that sent it (<c>segment_tag: outer</c>):
    /// the switch pushed it, and the tags inside are the host's own.
    /// </summary>
    public bool SegmentTagOuter { get; }

    public IReadOnlyList<string> ClientIds { get; }

    public IReadOnlyList<SegmentInfo> Segments { get; }

    /// <summary>Problems met while building (conflicting prefixes, unresolvable upstream hosts).</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>The segment carried on <paramref name="vlan"/>, <see cref="Owners.Infrastructure"/> or <see cref="Owners.Unknown"/>.</summary>
    public int VlanOwner(int vlan) => (uint)vlan < (uint)_vlanOwner.Length ? _vlanOwner[vlan] : Owners.Unknown;

    /// <summary>
    /// The VLAN that names the segment <paramref name="frame"/> was sent from (<c>segment_tag</c>): its innermost
    /// tag, or on a site whose hosts choose the inner tags its outermost; 0 when untagged.
    /// </summary>
    public int SegmentVlan(in DecodedFrame frame) => SegmentTagOuter ? frame.OuterVlan : frame.InnerVlan;

    /// <summary>
    /// The segment whose subnet holds <paramref name="address"/> (longest prefix), or a special owner. An
    /// IPv6 address no subnet of the policy holds but that embeds an IPv4 address of a client segment
    /// (<see cref="EmbeddedIpv4"/>: IPv4-compatible, NAT64, 6to4, ISATAP, Teredo) is that segment's: the
    /// mechanism delivers it to that IPv4 host. The policy's own IPv6 subnets win over what an address
    /// embeds, and an embedded address no client segment holds leaves the address unknown.
    /// </summary>
    public int AddressOwner(IpKey address)
    {
        var owner = _subnets.Lookup(address, Owners.Unknown);
        return owner != Owners.Unknown || !_clientsHaveIpv4 || address.IsV4 ? owner : EmbeddedOwner(address);
    }

    /// <summary>The owner of <paramref name="address"/> by the policy's subnets alone, embedded forms not read.</summary>
    public int DirectAddressOwner(IpKey address) => _subnets.Lookup(address, Owners.Unknown);

    /// <summary>The client index of a segment owner, or -1 when the owner is not a client segment.</summary>
    public int ClientOf(int owner) => owner >= 0 ? Segments[owner].ClientIndex : -1;

    /// <summary>
    /// The clients (indexes, ascending) whose upstreams live at <paramref name="address"/>; empty when
    /// none. Several clients may share an upstream address (a hosted service).
    /// An IPv6 address no subnet of the policy holds but that embeds an upstream's IPv4 address (NAT64, 6to4,
    /// Teredo, IPv4-compatible: <see cref="EmbeddedIpv4"/>) reaches that upstream as well, and is its clients'.
    /// </summary>
    public ReadOnlySpan<int> UpstreamClients(IpKey address)
    {
        if (_upstreamClients.TryGetValue(address, out var clients))
        {
            return clients;
        }

        return address.IsV4 || !_upstreamsHaveIpv4 ? ReadOnlySpan<int>.Empty : EmbeddedUpstreamClients(address);
    }

    public bool IsProxy(IpKey address) => _proxies.Contains(address);

    /// <summary>
    /// Builds the index. Upstream destinations that are IP literals are used as they are; host names
    /// are resolved now, each within <paramref name="resolveTimeout"/>, and a failure becomes a warning.
    /// </summary>
    public static async Task<PolicyIndex> BuildAsync(
        SitePolicy policy,
        Func<string, CancellationToken, Task<IPAddress[]>>? resolve,
        TimeSpan resolveTimeout,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policy);
        resolve ??= Dns.GetHostAddressesAsync;
        var warnings = new List<string>();
        var clientIds = policy.Clients.Select(c => c.Id).ToArray();
        var segments = new List<SegmentInfo>();
        var vlanOwner = new int[4096];
        Array.Fill(vlanOwner, Owners.Unknown);
        var subnets = new PrefixTable.Builder();

        foreach (var vlan in policy.Infrastructure.ManagementVlans)
        {
            if (vlan is > 0 and < 4096)
            {
                vlanOwner[vlan] = Owners.Infrastructure;
            }
        }

        foreach (var network in policy.Infrastructure.Subnets)
        {
            subnets.Add(network, Owners.Infrastructure);
        }

        for (var clientIndex = 0; clientIndex < policy.Clients.Count; clientIndex++)
        {
            var client = policy.Clients[clientIndex];
            foreach (var segment in client.Segments)
            {
                var segmentIndex = segments.Count;
                HashSet<ulong>? macs = segment.Macs.Count == 0 ? null : segment.Macs.Select(ToUInt64).ToHashSet();
                segments.Add(new SegmentInfo(clientIndex, segment.Name, macs));
                foreach (var vlan in segment.Vlans)
                {
                    if (vlan is <= 0 or >= 4096)
                    {
                        continue;
                    }

                    if (vlanOwner[vlan] != Owners.Unknown && vlanOwner[vlan] != segmentIndex)
                    {
                        warnings.Add($"VLAN {vlan} of {client.Id}/{segment.Name} is already assigned; the first assignment is used");
                        continue;
                    }

                    vlanOwner[vlan] = segmentIndex;
                }

                foreach (var network in segment.Subnets)
                {
                    if (subnets.Add(network, segmentIndex) is not null)
                    {
                        warnings.Add($"subnet {network} of {client.Id}/{segment.Name} is already assigned; the first assignment is used");
                    }
                }
            }
        }

        var upstreamSets = new Dictionary<IpKey, SortedSet<int>>();
        for (var clientIndex = 0; clientIndex < policy.Clients.Count; clientIndex++)
        {
            foreach (var upstream in policy.Clients[clientIndex].Upstreams)
            {
                foreach (var destination in upstream.Destinations)
                {
                    foreach (var address in await ResolveAsync(destination, resolve, resolveTimeout, warnings, cancellationToken).ConfigureAwait(false))
                    {
                        var key = IpKey.From(address);
                        if (!upstreamSets.TryGetValue(key, out var owners))
                        {
                            upstreamSets.Add(key, owners = []);
                        }

                        owners.Add(clientIndex);
                    }
                }
            }
        }

        var upstreams = upstreamSets.ToDictionary(p => p.Key, p => p.Value.ToArray());

        var proxies = policy.Infrastructure.ProxyAddresses.Select(IpKey.From).ToHashSet();
        return new PolicyIndex(policy, clientIds, segments.ToArray(), vlanOwner, subnets.Build(), upstreams, proxies, warnings);
    }

    private int EmbeddedOwner(IpKey address)
    {
        Span<uint> readings = stackalloc uint[EmbeddedIpv4.MaxReadings];
        var count = SiteReadings(address, readings);
        for (var i = 0; i < count; i++)
        {
            var owner = _subnets.Lookup(IpKey.FromV4(readings[i]), Owners.Unknown);
            if (owner >= 0)
            {
                return owner;
            }
        }

        return Owners.Unknown;
    }

    private int[] EmbeddedUpstreamClients(IpKey address)
    {
        if (_subnets.Lookup(address, Owners.Unknown) != Owners.Unknown)
        {
            // The policy's own IPv6 plan wins over what an address embeds, as for address owners.
            return [];
        }

        Span<uint> readings = stackalloc uint[EmbeddedIpv4.MaxReadings];
        var count = SiteReadings(address, readings);
        for (var i = 0; i < count; i++)
        {
            if (_upstreamClients.TryGetValue(IpKey.FromV4(readings[i]), out var clients))
            {
                return clients;
            }
        }

        return [];
    }

    /// <summary>The IPv4 addresses <paramref name="address"/> embeds that name hosts of this site's IPv4 plan.</summary>
    private int SiteReadings(IpKey address, Span<uint> readings)
    {
        var count = EmbeddedIpv4.Read(address, readings);
        if (count == EmbeddedIpv4.MaxReadings && _subnets.Lookup(IpKey.FromV4(readings[1]), Owners.Unknown) == Owners.Unknown)
        {
            // An ISATAP id under a 6to4 prefix is in the IPv4 plan of the router's site: of this site only
            // when the policy holds the router (a client segment's or the site's infrastructure).
            return 0;
        }

        return count;
    }

    /// <summary>48-bit MAC as a number, the form the decoder produces.</summary>
    public static ulong ToUInt64(PhysicalAddress mac)
    {
        ArgumentNullException.ThrowIfNull(mac);
        var bytes = mac.GetAddressBytes();
        ulong value = 0;
        foreach (var b in bytes.AsSpan(0, Math.Min(6, bytes.Length)))
        {
            value = (value << 8) | b;
        }

        return value;
    }

    private static async Task<IPAddress[]> ResolveAsync(
        Uri destination,
        Func<string, CancellationToken, Task<IPAddress[]>> resolve,
        TimeSpan timeout,
        List<string> warnings,
        CancellationToken cancellationToken)
    {
        var host = destination.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 ? destination.DnsSafeHost : destination.IdnHost;
        if (IPAddress.TryParse(host, out var literal))
        {
            return [literal];
        }

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            var addresses = await resolve(host, timeoutSource.Token).WaitAsync(timeoutSource.Token).ConfigureAwait(false);
            return addresses.Where(a => a.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6).ToArray();
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            warnings.Add($"upstream host {host} did not resolve within {timeout.TotalSeconds:0.#} s; capture cannot see traffic to it");
        }
        catch (SocketException e)
        {
            warnings.Add($"upstream host {host} did not resolve ({e.SocketErrorCode}); capture cannot see traffic to it");
        }

        return [];
    }
}
