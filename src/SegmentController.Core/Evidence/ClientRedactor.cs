using System.Collections;
using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Text.RegularExpressions;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Evidence;

/// <summary>
/// What one client may read of evidence that concerns other clients too (its notice of an incident, its
/// view of an audit, of a finding or of a request, its <c>audit-failed</c> finding): the other clients' ids
/// and names, addresses, upstream host names, VLANs, switch ports and MACs replaced by "another client" /
/// "[another client's address]" / "[another client's host]" / "[another client's VLAN]" / "[another
/// client's port]" / "[another client's MAC]" / "[a MAC not listed for this client]".
/// </summary>
/// <remarks>
/// A port name is another client's when the policy gives it to another client on the switch the text or
/// evidence names beside it ("sw1 port Gi1/0/3", "sw1:Gi1/0/3", "port Gi1/0/3 on sw1", or the finding's
/// <c>switch</c>); a name with no switch beside it is replaced when it is another client's port on some
/// switch and none of this client's (a name made of digits alone only after "port" or "trunk"). A host name
/// is another client's when it is, or holds as whole labels ("api.crm.globex.example", a wildcard's
/// domain), a host name of another client's upstreams (its <c>hosts</c>, its destinations) and none of this
/// client's. Where the evidence concerns others too (or the caller does not say), a MAC is kept only when
/// this client's segments list it: a MAC another client lists is "[another client's MAC]", any other (a
/// non-IP flow's stations, a MAC learned on a switch) "[a MAC not listed for this client]" — whose it is
/// cannot be told. Evidence of this client alone keeps the MACs no other client lists.
/// </remarks>
public sealed partial class ClientRedactor
{
    /// <summary>What replaces another client's id or name.</summary>
    public const string AnotherClient = "another client";

    /// <summary>What replaces another client's address.</summary>
    public const string AnotherAddress = "[another client's address]";

    /// <summary>What replaces another client's VLAN.</summary>
    public const string AnotherVlan = "[another client's VLAN]";

    /// <summary>What replaces another client's switch port (its name, and its ifIndex in evidence).</summary>
    public const string AnotherPort = "[another client's port]";

    /// <summary>What replaces another client's MAC.</summary>
    public const string AnotherMac = "[another client's MAC]";

    /// <summary>What replaces, in evidence that concerns others too, a MAC no client lists (whose it is cannot be told).</summary>
    public const string UnlistedMac = "[a MAC not listed for this client]";

    /// <summary>What replaces another client's host name (of its upstreams).</summary>
    public const string AnotherHost = "[another client's host]";

    /// <summary>What replaces the subject and fingerprint of another client's certificate (one an agent presented as its own).</summary>
    public const string AnotherCertificate = "[another client's certificate]";

    private readonly Regex? _names;
    private readonly Regex _own;
    private readonly IReadOnlyList<IPNetwork> _foreignSubnets;
    private readonly IReadOnlyList<IPNetwork> _ownSubnets;
    private readonly HashSet<int> _foreignVlans;
    private readonly HashSet<string> _foreignPorts;
    private readonly HashSet<string> _ownPorts;
    private readonly HashSet<string> _foreignPortNames;
    private readonly HashSet<string> _ownPortNames;
    private readonly Regex? _ports;
    private readonly Regex? _switchBefore;
    private readonly Regex? _switchAfter;
    private readonly HashSet<string> _foreignMacs;
    private readonly HashSet<string> _ownMacs;
    private readonly bool _sharedEvidence;
    private readonly string[] _foreignHosts;
    private readonly string[] _ownHosts;
    private readonly SitePolicy? _policy;

    /// <summary>A redactor for <paramref name="client"/>.</summary>
    /// <param name="client">Whom the text is for.</param>
    /// <param name="concerned">Clients the evidence names (besides those of the policy), the client itself among them or not.</param>
    /// <param name="policy">The policy in force: every other client's id, name, subnets, VLANs, switch ports and MACs (null: the ids of <paramref name="concerned"/> only).</param>
    public ClientRedactor(string client, IEnumerable<string> concerned, SitePolicy? policy)
        : this(client, concerned, policy, null)
    {
    }

    /// <summary>A redactor for <paramref name="client"/> that replaces what is of <paramref name="only"/> alone (every other client when null).</summary>
    private ClientRedactor(string client, IEnumerable<string> concerned, SitePolicy? policy, IReadOnlySet<string>? only)
    {
        ArgumentException.ThrowIfNullOrEmpty(client);
        ArgumentNullException.ThrowIfNull(concerned);
        Client = client;
        _policy = policy;
        var named = concerned.ToArray();
        // Narrowed to some clients, a MAC no client lists is nobody's: it names none of them.
        _sharedEvidence = only is null && (named.Length == 0 || named.Any(id => id != client));
        bool IsOther(string id) => id != client && (only is null || only.Contains(id));
        Others = named.Concat(policy?.Clients.Select(c => c.Id) ?? [])
            .Where(IsOther).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var names = policy?.Clients.Where(c => IsOther(c.Id)).Select(c => c.Name).Where(n => n.Length > 2) ?? [];
        var words = Others.Concat(names).Distinct(StringComparer.Ordinal).OrderByDescending(w => w.Length).Select(Regex.Escape).ToArray();
        // People write "Beta's agent" or "BETA TELECOM" as often as the id or name as the policy spells it.
        _names = words.Length == 0 ? null : new Regex($"(?<![A-Za-z0-9._-])(?:{string.Join('|', words)})(?![A-Za-z0-9_-])", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeSpan.FromSeconds(1));
        _own = new Regex($"(?<![A-Za-z0-9._-]){Regex.Escape(client)}(?![A-Za-z0-9_-])", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeSpan.FromSeconds(1));
        var foreign = policy?.Clients.Where(c => IsOther(c.Id)).SelectMany(c => c.Segments).ToArray() ?? [];
        var own = policy?.FindClient(client)?.Segments ?? [];
        _foreignSubnets = foreign.SelectMany(s => s.Subnets).ToArray();
        _ownSubnets = own.SelectMany(s => s.Subnets).ToArray();
        _foreignVlans = foreign.SelectMany(s => s.Vlans).Except(own.SelectMany(s => s.Vlans)).ToHashSet();
        _foreignPorts = foreign.SelectMany(s => s.Ports).SelectMany(a => a.Ports.Select(p => PortKey(a.Switch, p))).ToHashSet(StringComparer.OrdinalIgnoreCase);
        _ownPorts = own.SelectMany(s => s.Ports).SelectMany(a => a.Ports.Select(p => PortKey(a.Switch, p))).ToHashSet(StringComparer.OrdinalIgnoreCase);
        _foreignPorts.ExceptWith(_ownPorts);
        _foreignPortNames = foreign.SelectMany(s => s.Ports).SelectMany(a => a.Ports).ToHashSet(StringComparer.OrdinalIgnoreCase);
        _ownPortNames = own.SelectMany(s => s.Ports).SelectMany(a => a.Ports).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var portWords = _foreignPortNames.OrderByDescending(n => n.Length).Select(Regex.Escape).ToArray();
        if (portWords.Length > 0)
        {
            // Port names carry '/', '.' and '-' ("Gi1/0/3", "ge-0/0/4", "swp1.10"); a full stop may end the sentence,
            // a colon may join the switch's name to it ("sw1:Gi1/0/3") or end it ("sw1:Gi1/0/3: down").
            _ports = new Regex($"(?<![A-Za-z0-9/._-])(?:{string.Join('|', portWords)})(?![A-Za-z0-9/_-])(?!\\.[A-Za-z0-9])", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeSpan.FromSeconds(1));
            var switches = (policy?.Switches.Select(w => w.Name) ?? []).Concat(foreign.Concat(own).SelectMany(s => s.Ports).Select(a => a.Switch))
                .Distinct(StringComparer.OrdinalIgnoreCase).OrderByDescending(n => n.Length).Select(Regex.Escape).ToArray();
            var switchNames = string.Join('|', switches);
            _switchBefore = new Regex($"(?<![A-Za-z0-9._-])(?<switch>{switchNames})(?::| port | trunk | ports? [^;]*?(?:, | and ))$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeSpan.FromSeconds(1));
            _switchAfter = new Regex($"^ on (?:switch )?(?<switch>{switchNames})(?![A-Za-z0-9_-])", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeSpan.FromSeconds(1));
        }

        _foreignMacs = foreign.SelectMany(s => s.Macs).Select(m => m.ToString()).ToHashSet(StringComparer.Ordinal);
        _ownMacs = own.SelectMany(s => s.Macs).Select(m => m.ToString()).ToHashSet(StringComparer.Ordinal);
        _foreignMacs.ExceptWith(_ownMacs);
        _ownHosts = HostNames(policy?.FindClient(client));
        _foreignHosts = (policy?.Clients.Where(c => IsOther(c.Id)).SelectMany(HostNames) ?? [])
            .Except(_ownHosts, StringComparer.OrdinalIgnoreCase).ToArray();
    }

    /// <summary>Whom the text is for.</summary>
    public string Client { get; }

    /// <summary>The other clients whose ids, names, addresses, hosts, VLANs, ports and MACs this redactor replaces, sorted.</summary>
    public IReadOnlyList<string> Others { get; }

    /// <summary>
    /// A redactor for the same client that replaces only what is of <paramref name="others"/> (none: it
    /// changes nothing): with it, what in a text or a record is of which other client can be told.
    /// </summary>
    public ClientRedactor Only(IEnumerable<string> others)
    {
        ArgumentNullException.ThrowIfNull(others);
        var set = others.Where(Others.Contains).ToHashSet(StringComparer.Ordinal);
        return new ClientRedactor(Client, [Client, .. set], _policy, set);
    }

    /// <summary><paramref name="text"/> with every other client's id, name, address, VLAN, switch port and listed MAC replaced.</summary>
    public string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // Ports first: whose a port is depends on the switch named beside it, as the text spells it.
        var ported = _ports?.Replace(text, m => IsForeignPortIn(text, m) ? AnotherPort : m.Value) ?? text;
        var unmac = _foreignMacs.Count == 0 && !_sharedEvidence ? ported : Mac().Replace(ported, m => MacFor(NormalMac(m.Value)) ?? m.Value);
        // Host names before names: a client's id is often a label of its host names ("crm.globex.example").
        var unhosted = _foreignHosts.Length == 0 ? unmac : HostName().Replace(unmac, m => IsForeignHost(m.Value) ? AnotherHost : m.Value);
        var named = _names?.Replace(unhosted, AnotherClient) ?? unhosted;
        var addressed = Address().Replace(named, m => IPAddress.TryParse(m.Value, out var ip) && IsForeign(ip) ? AnotherAddress : m.Value);
        // Every VLAN of a list ("VLAN 110, 120", "VLAN 110/120" of a stacked tag, "VLANs [110,120]"), not only the first.
        return Vlan().Replace(addressed, m => m.Groups[1].Value + VlanId().Replace(m.Groups[2].Value, id =>
            int.TryParse(id.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var vlan) && _foreignVlans.Contains(vlan) ? AnotherVlan : id.Value));
    }

    /// <summary>
    /// The finding as the client's own: only the client named, its summary and evidence redacted; its
    /// <c>port</c> (and <c>if_index</c>) judged on its <c>switch</c>, its <c>mac</c> on its VLANs too.
    /// </summary>
    public Finding Redact(Finding finding)
    {
        ArgumentNullException.ThrowIfNull(finding);
        var evidence = finding.Evidence;
        var switchName = evidence.TryGetValue("switch", out var named) ? named as string : null;
        var foreignPort = evidence.TryGetValue("port", out var port) && port is string portName && IsForeignPort(switchName, portName);
        var foreignVlans = evidence.Any(p => p.Key.Contains("vlan", StringComparison.OrdinalIgnoreCase) && HasForeignVlan(p.Value));

        // A certificate in a finding's evidence is the target client's (an agent presented it as its own): its
        // subject need name no client to be that client's, so it is replaced whole, in the summary too.
        var foreignCertificate = evidence.TryGetValue("target_client", out var target) && target is string owner && !string.Equals(owner, Client, StringComparison.Ordinal);
        var summary = foreignCertificate && evidence.TryGetValue("certificate_subject", out var subject) && subject is string { Length: > 0 } subjectText
            ? finding.Summary.Replace(subjectText, AnotherCertificate, StringComparison.Ordinal)
            : finding.Summary;
        return finding with
        {
            Clients = [Client],
            Summary = Redact(summary),
            Evidence = evidence.ToDictionary(p => p.Key, p => p.Key switch
            {
                "certificate_subject" or "certificate_sha256" when foreignCertificate && p.Value is not null => AnotherCertificate,
                "port" when port is string => foreignPort ? AnotherPort : p.Value,
                "if_index" when foreignPort => AnotherPort,
                "mac" when p.Value is string mac && NormalMac(mac) is { } normal => foreignVlans && !_ownMacs.Contains(normal) ? AnotherMac : MacFor(normal) ?? mac,
                _ => RedactValue(p.Key, p.Value),
            }, StringComparer.Ordinal),
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
        // A MAC first: IPAddress.TryParse takes "0200.0000.1001" (a switch's spelling of a MAC) for an IPv4 address.
        string s when NormalMac(s) is { } mac => MacFor(mac) ?? s,
        string s when IPAddress.TryParse(s, out var ip) => IsForeign(ip) ? AnotherAddress : s,
        string s => Redact(s),
        int vlan when key.Contains("vlan", StringComparison.OrdinalIgnoreCase) && _foreignVlans.Contains(vlan) => AnotherVlan,
        long vlan when key.Contains("vlan", StringComparison.OrdinalIgnoreCase) && vlan is > 0 and < 4096 && _foreignVlans.Contains((int)vlan) => AnotherVlan,
        IEnumerable items and not string => items.Cast<object?>().Select(item => RedactValue(key, item)).ToArray(),
        _ => value,
    };

    private bool HasForeignVlan(object? value) => value switch
    {
        int vlan => _foreignVlans.Contains(vlan),
        long vlan => vlan is > 0 and < 4096 && _foreignVlans.Contains((int)vlan),
        IEnumerable items and not string => items.Cast<object?>().Any(HasForeignVlan),
        _ => false,
    };

    /// <summary>Another client's port on <paramref name="switchName"/> (on some switch, and none of this client's, when null).</summary>
    private bool IsForeignPort(string? switchName, string port) => switchName is null
        ? _foreignPortNames.Contains(port) && !_ownPortNames.Contains(port)
        : _foreignPorts.Contains(PortKey(switchName, port));

    /// <summary>Whether the port name <paramref name="match"/> found in <paramref name="text"/> is another client's there.</summary>
    private bool IsForeignPortIn(string text, Match match)
    {
        var before = _switchBefore!.Match(text[..match.Index]);
        if (before.Success)
        {
            return IsForeignPort(before.Groups["switch"].Value, match.Value);
        }

        var after = _switchAfter!.Match(text[(match.Index + match.Length)..]);
        if (after.Success)
        {
            return IsForeignPort(after.Groups["switch"].Value, match.Value);
        }

        // A bare number is a port only where the text says so.
        return IsForeignPort(null, match.Value)
            && (!match.Value.All(char.IsAsciiDigit) || PortWord().IsMatch(text[..match.Index]));
    }

    private static string PortKey(string switchName, string port) => switchName + "\0" + port;

    /// <summary>What replaces the MAC <paramref name="normal"/> (canonical spelling), or null when it stays.</summary>
    private string? MacFor(string? normal) =>
        normal is null || _ownMacs.Contains(normal) ? null
        : _foreignMacs.Contains(normal) ? AnotherMac
        : _sharedEvidence ? UnlistedMac
        : null;

    /// <summary>
    /// Whether <paramref name="name"/> is, or holds as whole labels, another client's host name — the most
    /// specific host name it holds being another client's rather than this client's.
    /// </summary>
    private bool IsForeignHost(string name)
    {
        var labels = "." + name + ".";
        return Longest(_foreignHosts, labels) > Longest(_ownHosts, labels);

        static int Longest(string[] hosts, string labels)
        {
            var longest = 0;
            foreach (var host in hosts)
            {
                if (host.Length > longest && labels.Contains("." + host + ".", StringComparison.OrdinalIgnoreCase))
                {
                    longest = host.Length;
                }
            }

            return longest;
        }
    }

    /// <summary>A client's upstream host names (a wildcard's domain for <c>*.domain</c>) and its destinations' names; none for no client.</summary>
    private static string[] HostNames(ClientDefinition? client) => client is null ? [] : client.Upstreams
        .SelectMany(u => u.Hosts.Select(h => h.StartsWith("*.", StringComparison.Ordinal) ? h[2..] : h)
            .Concat(u.Destinations.Where(d => d.HostNameType == UriHostNameType.Dns).Select(d => d.IdnHost)))
        .Select(h => h.TrimEnd('.').ToLowerInvariant())
        .Where(h => h.Contains('.', StringComparison.Ordinal))
        .Distinct(StringComparer.Ordinal)
        .ToArray();

    /// <summary>A MAC in its canonical spelling (upper-case hex, no separators), or null when the text is none.</summary>
    private static string? NormalMac(string text) =>
        text.Length is 14 or 17 && Mac().IsMatch(text) && PhysicalAddress.TryParse(text.Replace(':', '-').ToUpperInvariant(), out var mac) ? mac.ToString() : null;

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

    /// <summary>MACs as switches and captures spell them: 02:00:00:00:10:01, 02-00-…, 0200.0000.1001.</summary>
    [GeneratedRegex(@"(?<![0-9A-Fa-f:.-])(?:[0-9A-Fa-f]{2}(?:([:-])[0-9A-Fa-f]{2})(?:\1[0-9A-Fa-f]{2}){4}|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4})(?![0-9A-Fa-f:-])(?!\.[0-9A-Fa-f])", RegexOptions.CultureInvariant)]
    private static partial Regex Mac();

    /// <summary>Dotted names (host names, and anything spelled like one: each is judged before it is replaced); a full stop may end the sentence.</summary>
    [GeneratedRegex(@"(?<![A-Za-z0-9._-])[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+(?![A-Za-z0-9_-])(?!\.[A-Za-z0-9])", RegexOptions.CultureInvariant)]
    private static partial Regex HostName();

    [GeneratedRegex(@"\b(?:ports?|trunk) $", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex PortWord();
}
