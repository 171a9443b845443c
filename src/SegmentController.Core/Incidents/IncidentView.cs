using System.Collections;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Incidents;

/// <summary>
/// One client's view of an incident — what its notice carries. An incident may concern several clients
/// (a flow from one client's VLAN into another's); each is told about its own part and nothing of the
/// others: not their ids or names, not their findings, not their addresses or VLANs, not the measures
/// taken against them, not their notification attempts or record counts. What another client's part was
/// is replaced by "another client" / "[another client's address]".
/// </summary>
public static partial class IncidentView
{
    /// <summary>What replaces another client's id or name.</summary>
    public const string AnotherClient = "another client";

    /// <summary>What replaces another client's address.</summary>
    public const string AnotherAddress = "[another client's address]";

    /// <summary>What replaces another client's VLAN.</summary>
    public const string AnotherVlan = "[another client's VLAN]";

    /// <summary><paramref name="incident"/> as <paramref name="client"/> may see it.</summary>
    public static Incident For(Incident incident, string client, SitePolicy? policy)
    {
        ArgumentNullException.ThrowIfNull(incident);
        ArgumentException.ThrowIfNullOrEmpty(client);
        var others = new Others(incident, client, policy);
        return incident with
        {
            Nature = others.Redact(incident.Nature),
            Clients = [client],
            Notices = incident.Notices.Where(n => n.Client == client).ToArray(),
            ApproximateRecordsConcerned = incident.RecordsConcernedByClient.TryGetValue(client, out var own) ? own : null,
            RecordsConcernedByClient = incident.RecordsConcernedByClient.Where(p => p.Key == client).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
            Findings = incident.Findings.Where(f => f.Clients.Contains(client, StringComparer.Ordinal)).Select(f => others.Redact(f)).ToArray(),
            Notifications = incident.Notifications.Where(n => n.Client == client).ToArray(),
            InvestigationNotes = others.Redact(incident.InvestigationNotes),
            MeasuresTaken = others.Redact(incident.MeasuresTaken),
            Timeline = others.Redact(incident.Timeline.Where(e => e.Kind != "notification" || e.Text.StartsWith(client + ":", StringComparison.Ordinal)).ToArray()),
        };
    }

    /// <summary>
    /// <paramref name="text"/> (a suspension's reason, say) as <paramref name="client"/> may read it: the
    /// other clients' ids and names, addresses and VLANs replaced as in its view of an incident.
    /// </summary>
    public static string Redact(string text, string client, SitePolicy? policy)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentException.ThrowIfNullOrEmpty(client);
        return new Others([], client, policy).Redact(text);
    }

    /// <summary>Everything that identifies the clients other than the one the view is for.</summary>
    private sealed class Others
    {
        private readonly string _client;
        private readonly Regex? _names;
        private readonly IReadOnlyList<IPNetwork> _foreignSubnets;
        private readonly IReadOnlyList<IPNetwork> _ownSubnets;
        private readonly HashSet<int> _foreignVlans;

        public Others(Incident incident, string client, SitePolicy? policy)
            : this(incident.Clients.Concat(incident.Findings.SelectMany(f => f.Clients)), client, policy)
        {
        }

        public Others(IEnumerable<string> concerned, string client, SitePolicy? policy)
        {
            _client = client;
            var ids = concerned.Concat(policy?.Clients.Select(c => c.Id) ?? [])
                .Where(id => id != client).ToHashSet(StringComparer.Ordinal);
            var names = policy?.Clients.Where(c => c.Id != client).Select(c => c.Name).Where(n => n.Length > 2) ?? [];
            var words = ids.Concat(names).Distinct(StringComparer.Ordinal).OrderByDescending(w => w.Length).Select(Regex.Escape).ToArray();
            // People write "Beta's agent" or "BETA TELECOM" as often as the id or name as the policy spells it.
            _names = words.Length == 0 ? null : new Regex($"(?<![A-Za-z0-9._-])(?:{string.Join('|', words)})(?![A-Za-z0-9_-])", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeSpan.FromSeconds(1));
            var foreign = policy?.Clients.Where(c => c.Id != client).SelectMany(c => c.Segments).ToArray() ?? [];
            var own = policy?.FindClient(client)?.Segments ?? [];
            _foreignSubnets = foreign.SelectMany(s => s.Subnets).ToArray();
            _ownSubnets = own.SelectMany(s => s.Subnets).ToArray();
            _foreignVlans = foreign.SelectMany(s => s.Vlans).Except(own.SelectMany(s => s.Vlans)).ToHashSet();
        }

        /// <summary>Entries that concern only other clients are left out; the rest are redacted.</summary>
        public TimelineEntry[] Redact(IReadOnlyList<TimelineEntry> entries) =>
            entries.Where(e => !ConcernsOnlyOthers(e.Text)).Select(e => e with { Text = Redact(e.Text) }).ToArray();

        public Finding Redact(Finding finding) => finding with
        {
            Clients = [_client],
            Summary = Redact(finding.Summary),
            Evidence = finding.Evidence.ToDictionary(p => p.Key, p => RedactValue(p.Key, p.Value), StringComparer.Ordinal),
        };

        public string Redact(string text)
        {
            var named = _names?.Replace(text, AnotherClient) ?? text;
            var addressed = Address().Replace(named, m => IPAddress.TryParse(m.Value, out var ip) && IsForeign(ip) ? AnotherAddress : m.Value);
            // Every VLAN of a list ("VLAN 110, 120", "VLAN 110/120" of a stacked tag, "VLANs [110,120]"), not only the first.
            return Vlan().Replace(addressed, m => m.Groups[1].Value + VlanId().Replace(m.Groups[2].Value, id =>
                int.TryParse(id.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var vlan) && _foreignVlans.Contains(vlan) ? AnotherVlan : id.Value));
        }

        private bool ConcernsOnlyOthers(string text) =>
            _names is not null && _names.IsMatch(text)
            && !Regex.IsMatch(text, $"(?<![A-Za-z0-9._-]){Regex.Escape(_client)}(?![A-Za-z0-9_-])", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeSpan.FromSeconds(1));

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
    }

    /// <summary>IPv4 literals (a port or a full stop may follow) and IPv6 literals; candidates only, each is parsed before use.</summary>
    [GeneratedRegex(@"(?<![0-9])(?<![0-9]\.)\d{1,3}(?:\.\d{1,3}){3}(?![0-9])(?!\.[0-9])|(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])", RegexOptions.CultureInvariant)]
    private static partial Regex Address();

    [GeneratedRegex(@"(\bVLANs? \[?)(\d{1,4}(?:(?: ?[,/→] ?| and )\d{1,4})*)\b", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex Vlan();

    [GeneratedRegex(@"\d{1,4}", RegexOptions.CultureInvariant)]
    private static partial Regex VlanId();
}
