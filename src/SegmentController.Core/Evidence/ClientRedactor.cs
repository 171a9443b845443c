using System.Collections;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Evidence;

/// <summary>
/// What one client may read of evidence that concerns other clients too (its notice of an incident, its
/// view of an audit, its <c>audit-failed</c> finding): the other clients' ids and names, addresses and
/// VLANs replaced by "another client" / "[another client's address]" / "[another client's VLAN]".
/// </summary>
public sealed partial class ClientRedactor
{
    /// <summary>What replaces another client's id or name.</summary>
    public const string AnotherClient = "another client";

    /// <summary>What replaces another client's address.</summary>
    public const string AnotherAddress = "[another client's address]";

    /// <summary>What replaces another client's VLAN.</summary>
    public const string AnotherVlan = "[another client's VLAN]";

    private readonly Regex? _names;
    private readonly Regex _own;
    private readonly IReadOnlyList<IPNetwork> _foreignSubnets;
    private readonly IReadOnlyList<IPNetwork> _ownSubnets;
    private readonly HashSet<int> _foreignVlans;

    /// <summary>A redactor for <paramref name="client"/>.</summary>
    /// <param name="client">Whom the text is for.</param>
    /// <param name="concerned">Clients the evidence names (besides those of the policy), the client itself among them or not.</param>
    /// <param name="policy">The policy in force: every other client's id, name, subnets and VLANs (null: the ids of <paramref name="concerned"/> only).</param>
    public ClientRedactor(string client, IEnumerable<string> concerned, SitePolicy? policy)
    {
        ArgumentException.ThrowIfNullOrEmpty(client);
        ArgumentNullException.ThrowIfNull(concerned);
        Client = client;
        var ids = concerned.Concat(policy?.Clients.Select(c => c.Id) ?? [])
            .Where(id => id != client).ToHashSet(StringComparer.Ordinal);
        var names = policy?.Clients.Where(c => c.Id != client).Select(c => c.Name).Where(n => n.Length > 2) ?? [];
        var words = ids.Concat(names).Distinct(StringComparer.Ordinal).OrderByDescending(w => w.Length).Select(Regex.Escape).ToArray();
        // People write "Beta's agent" or "BETA TELECOM" as often as the id or name as the policy spells it.
        _names = words.Length == 0 ? null : new Regex($"(?<![A-Za-z0-9._-])(?:{string.Join('|', words)})(?![A-Za-z0-9_-])", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeSpan.FromSeconds(1));
        _own = new Regex($"(?<![A-Za-z0-9._-]){Regex.Escape(client)}(?![A-Za-z0-9_-])", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeSpan.FromSeconds(1));
        var foreign = policy?.Clients.Where(c => c.Id != client).SelectMany(c => c.Segments).ToArray() ?? [];
        var own = policy?.FindClient(client)?.Segments ?? [];
        _foreignSubnets = foreign.SelectMany(s => s.Subnets).ToArray();
        _ownSubnets = own.SelectMany(s => s.Subnets).ToArray();
        _foreignVlans = foreign.SelectMany(s => s.Vlans).Except(own.SelectMany(s => s.Vlans)).ToHashSet();
    }

    /// <summary>Whom the text is for.</summary>
    public string Client { get; }

    /// <summary><paramref name="text"/> with every other client's id, name, address and VLAN replaced.</summary>
    public string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var named = _names?.Replace(text, AnotherClient) ?? text;
        var addressed = Address().Replace(named, m => IPAddress.TryParse(m.Value, out var ip) && IsForeign(ip) ? AnotherAddress : m.Value);
        // Every VLAN of a list ("VLAN 110, 120", "VLAN 110/120" of a stacked tag, "VLANs [110,120]"), not only the first.
        return Vlan().Replace(addressed, m => m.Groups[1].Value + VlanId().Replace(m.Groups[2].Value, id =>
            int.TryParse(id.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var vlan) && _foreignVlans.Contains(vlan) ? AnotherVlan : id.Value));
    }

    /// <summary>The finding as the client's own: only the client named, its summary and evidence redacted.</summary>
    public Finding Redact(Finding finding)
    {
        ArgumentNullException.ThrowIfNull(finding);
        return finding with
        {
            Clients = [Client],
            Summary = Redact(finding.Summary),
            Evidence = finding.Evidence.ToDictionary(p => p.Key, p => RedactValue(p.Key, p.Value), StringComparer.Ordinal),
        };
    }

    /// <summary>Whether <paramref name="text"/> names another client and not this one.</summary>
    public bool ConcernsOnlyOthers(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _names is not null && _names.IsMatch(text) && !_own.IsMatch(text);
    }

    private object? RedactValue(string key, object? value) => value switch
    {
        string s when IPAddress.TryParse(s, out var ip) => IsForeign(ip) ? AnotherAddress : s,
        string s => Redact(s),
        int vlan when key.Contains("vlan", StringComparison.OrdinalIgnoreCase) && _foreignVlans.Contains(vlan) => AnotherVlan,
        long vlan when key.Contains("vlan", StringComparison.OrdinalIgnoreCase) && vlan is > 0 and < 4096 && _foreignVlans.Contains((int)vlan) => AnotherVlan,
        IEnumerable items and not string => items.Cast<object?>().Select(item => RedactValue(key, item)).ToArray(),
        _ => value,
    };

    /// <summary>In another client's subnets and not in this one's.</summary>
    private bool IsForeign(IPAddress address) =>
        _foreignSubnets.Any(s => s.Contains(address)) && !_ownSubnets.Any(s => s.Contains(address));

    /// <summary>IPv4 literals (a port or a full stop may follow) and IPv6 literals; candidates only, each is parsed before use.</summary>
    [GeneratedRegex(@"(?<![0-9])(?<![0-9]\.)\d{1,3}(?:\.\d{1,3}){3}(?![0-9])(?!\.[0-9])|(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])", RegexOptions.CultureInvariant)]
    private static partial Regex Address();

    [GeneratedRegex(@"(\bVLANs? \[?)(\d{1,4}(?:(?: ?[,/→] ?| and )\d{1,4})*)\b", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex Vlan();

    [GeneratedRegex(@"\d{1,4}", RegexOptions.CultureInvariant)]
    private static partial Regex VlanId();
}
