using System.Globalization;
using System.Net;
using System.Net.Sockets;
using YamlDotNet.RepresentationModel;

namespace SegmentController.Core.Policy.Loading;

/// <summary>
/// Maps the YAML tree onto the policy records, checking each value where it stands (types, ranges,
/// formats, secrets by reference). Conflicts between entries (overlaps, shared VLANs and ports,
/// undefined switches) are left to the validation rules, which read <see cref="Facts"/>.
/// </summary>
internal sealed partial class PolicyReader
{
    /// <summary>Bounds the memory that range expansion (ports, VLANs) can take from a hostile file.</summary>
    public const int MaxExpandedItems = 200_000;

    public const int MaxProxyAddresses = 256;

    private static readonly string[] RootKeys = ["site", "controller", "infrastructure", "switches", "clients", "rules", "audits", "restore"];
    private static readonly string[] SiteKeys = ["id", "name"];
    private static readonly string[] InfrastructureKeys = ["management_vlans", "subnets", "proxy_addresses", "trunk_ports"];
    private static readonly string[] PortAssignmentKeys = ["switch", "ports"];
    private static readonly string[] RulesKeys = ["critical", "high", "medium", "low", "info", "overrides"];
    private static readonly string[] AuditKeys = ["interval", "suspend_on_failure"];
    private static readonly string[] RestoreKeys = ["approvers", "require_passing_audit"];

    private static readonly Dictionary<string, FindingAction> Actions = new(StringComparer.Ordinal)
    {
        ["suspend"] = FindingAction.Suspend,
        ["incident"] = FindingAction.Incident,
        ["alert"] = FindingAction.Alert,
        ["record"] = FindingAction.Record,
    };

    private readonly YamlValues _values;
    private int _expanded;
    private bool _expansionCapReported;

    public PolicyReader(PolicyDiagnostics diagnostics)
    {
        ArgumentNullException.ThrowIfNull(diagnostics);
        _values = new YamlValues(diagnostics);
    }

    public PolicyFacts Facts { get; } = new();

    private PolicyDiagnostics Diagnostics => _values.Diagnostics;

    /// <summary>The policy as written; null when the top level is unusable. Check the diagnostics either way.</summary>
    public SitePolicy? Read(YamlMappingNode root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var map = YamlMap.Open(root, "the policy", RootKeys, Diagnostics);
        if (map is null)
        {
            return null;
        }

        var site = ReadSite(map);
        var controller = _values.Section(map, "controller", "controller", ControllerKeys) is { } c ? ReadController(c) : new ControllerSettings();
        var infrastructure = _values.Section(map, "infrastructure", "infrastructure", InfrastructureKeys) is { } i ? ReadInfrastructure(i) : new InfrastructureSettings();
        var switches = ReadList(map, "switches", required: false, ReadSwitch);
        var clients = ReadList(map, "clients", required: true, ReadClient);
        var rules = _values.Section(map, "rules", "rules", RulesKeys) is { } r ? ReadRules(r) : RuleSet.Default;
        var audits = _values.Section(map, "audits", "audits", AuditKeys) is { } a ? ReadAudits(a) : new AuditSettings();
        var restore = _values.Section(map, "restore", "restore", RestoreKeys) is { } s ? ReadRestore(s) : new RestoreSettings();
        return new SitePolicy
        {
            Site = site,
            Controller = controller,
            Infrastructure = infrastructure,
            Switches = switches,
            Clients = clients,
            Rules = rules,
            Audits = audits,
            Restore = restore,
        };
    }

    private SiteInfo ReadSite(YamlMap root)
    {
        var map = _values.Section(root, "site", "site", SiteKeys, required: true);
        if (map is null)
        {
            return new SiteInfo { Id = "", Name = "" };
        }

        return new SiteInfo
        {
            Id = _values.Identifier(map, "id", "site id") ?? "",
            Name = _values.Text(map, "name", required: true) ?? "",
        };
    }

    private InfrastructureSettings ReadInfrastructure(YamlMap map)
    {
        var vlans = ReadVlans(map, "management_vlans", client: null);
        var subnets = ReadSubnets(map, "subnets", client: null);
        var proxyAddresses = new List<IPAddress>();
        var items = _values.ScalarItems(map, "proxy_addresses");
        if (items.Count > MaxProxyAddresses)
        {
            Diagnostics.Add(map["proxy_addresses"]!, $"more than {MaxProxyAddresses} proxy addresses; a site has a handful");
            items = [];
        }

        foreach (var item in items)
        {
            if (NetworkText.TryParseAddress(item.Value!, out var address))
            {
                proxyAddresses.Add(address);
                Facts.ProxyAddresses.Add(new Claim<IPAddress>(null, address, Position.Of(item.Start)));
            }
            else
            {
                Diagnostics.Add(item, NetworkText.HasLeadingZeroOctet(item.Value!)
                    ? $"proxy address '{YamlMap.Printable(item.Value)}' {NetworkText.LeadingZeroProblem}"
                    : $"proxy address '{YamlMap.PrintableWithoutUserInfo(item.Value)}' is not an IPv4 or IPv6 address");
            }
        }

        return new InfrastructureSettings
        {
            ManagementVlans = vlans,
            Subnets = subnets,
            ProxyAddresses = proxyAddresses,
            TrunkPorts = ReadPortAssignments(map, "trunk_ports", "trunk port list", claimFor: null, Facts.Ports),
        };
    }

    private RuleSet ReadRules(YamlMap map)
    {
        var bySeverity = new Dictionary<Findings.Severity, FindingAction>(RuleSet.Default.BySeverity);
        foreach (var (key, severity) in new (string, Findings.Severity)[]
        {
            ("critical", Findings.Severity.Critical),
            ("high", Findings.Severity.High),
            ("medium", Findings.Severity.Medium),
            ("low", Findings.Severity.Low),
            ("info", Findings.Severity.Info),
        })
        {
            if (_values.Choice(map, key, Actions) is { } action)
            {
                bySeverity[severity] = action;
            }
        }

        var byRule = new Dictionary<string, FindingAction>(StringComparer.Ordinal);
        if (map["overrides"] is { } overridesNode)
        {
            var ruleIds = Findings.RuleCatalog.All.Keys.ToArray();
            if (overridesNode is not YamlMappingNode overrides)
            {
                Diagnostics.Add(overridesNode, $"'overrides' in rules must map rule ids to actions (e.g. weak-tls: suspend), found {YamlMap.Describe(overridesNode)}");
            }
            else
            {
                foreach (var (keyNode, valueNode) in overrides.Children)
                {
                    var rule = (keyNode as YamlScalarNode)?.Value ?? "";
                    if (!Findings.RuleCatalog.All.ContainsKey(rule))
                    {
                        var suggestion = KeySuggester.Suggest(rule, ruleIds);
                        Diagnostics.Add(keyNode, $"unknown rule '{YamlMap.Printable(rule)}' in rules overrides"
                            + (suggestion is null ? "; see policies/README.md for the rule ids" : $" (did you mean '{suggestion}'?)"));
                        continue;
                    }

                    if (valueNode is YamlScalarNode { Value: { } text } && Actions.TryGetValue(text, out var action))
                    {
                        byRule[rule] = action;
                    }
                    else
                    {
                        Diagnostics.Add(valueNode, $"the action for rule '{rule}' must be one of: {string.Join(", ", Actions.Keys)}");
                    }
                }
            }
        }

        return new RuleSet { BySeverity = bySeverity, ByRule = byRule };
    }

    private AuditSettings ReadAudits(YamlMap map) => new()
    {
        Interval = _values.Duration(map, "interval", TimeSpan.FromMinutes(1)),
        SuspendOnFailure = _values.Bool(map, "suspend_on_failure") ?? true,
    };

    private RestoreSettings ReadRestore(YamlMap map) => new()
    {
        Approvers = _values.Int(map, "approvers", 1, 2) ?? 2,
        RequirePassingAudit = _values.Bool(map, "require_passing_audit") ?? false,
    };

    /// <summary>Reads a list of mappings, one entry at a time; a broken entry does not hide the others.</summary>
    private List<T> ReadList<T>(YamlMap map, string key, bool required, Func<YamlNode, T?> read)
        where T : class
    {
        var result = new List<T>();
        var node = map[key];
        if (node is null)
        {
            if (required)
            {
                _values.Missing(map, key);
            }

            return result;
        }

        if (node is not YamlSequenceNode sequence)
        {
            Diagnostics.Add(node, $"'{key}' in {map.Section} must be a list of entries (each starting with '- '), found {YamlMap.Describe(node)}");
            return result;
        }

        if (required && sequence.Children.Count == 0)
        {
            Diagnostics.Add(sequence, $"'{key}' in {map.Section} must list at least one entry");
        }

        foreach (var item in sequence.Children)
        {
            if (read(item) is { } value)
            {
                result.Add(value);
            }
        }

        return result;
    }

    private List<int> ReadVlans(YamlMap map, string key, string? client)
    {
        var vlans = new List<int>();
        foreach (var item in _values.ScalarItems(map, key))
        {
            var text = item.Value!;
            var dash = text.Length > 1 ? text.IndexOf('-', 1) : -1;
            var firstText = dash > 0 ? text[..dash] : text;
            var lastText = dash > 0 ? text[(dash + 1)..] : text;
            if (!int.TryParse(firstText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var first)
                || !int.TryParse(lastText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var last))
            {
                Diagnostics.Add(item, $"'{YamlMap.Printable(text)}' is not a VLAN id; VLAN ids are whole numbers 1-4094 (ranges as 100-110)");
                continue;
            }

            var bad = first is < 1 or > 4094 ? first : last is < 1 or > 4094 ? last : (int?)null;
            if (bad is not null)
            {
                Diagnostics.Add(item, $"VLAN {bad} is outside 1-4094");
                continue;
            }

            if (last < first)
            {
                Diagnostics.Add(item, $"VLAN range '{text}' runs backwards; write {last}-{first}");
                continue;
            }

            if (!Spend(item, last - first + 1))
            {
                continue;
            }

            for (var vlan = first; vlan <= last; vlan++)
            {
                vlans.Add(vlan);
                Facts.Vlans.Add(new Claim<int>(client, vlan, Position.Of(item.Start)));
            }
        }

        return vlans;
    }

    private List<IPNetwork> ReadSubnets(YamlMap map, string key, string? client)
    {
        var subnets = new List<IPNetwork>();
        foreach (var item in _values.ScalarItems(map, key))
        {
            if (NetworkText.TryParseSubnet(item.Value!, out var network, out var error))
            {
                subnets.Add(network);
                Facts.Subnets.Add(new Claim<IPNetwork>(client, network, Position.Of(item.Start)));
            }
            else
            {
                Diagnostics.Add(item, error!);
            }
        }

        return subnets;
    }

    /// <summary>Reads <c>[{switch, ports: [...]}]</c>, expanding ranges; records each port in <paramref name="claims"/> for the cross-checks.</summary>
    private List<PortAssignment> ReadPortAssignments(YamlMap map, string key, string section, string? claimFor, List<Claim<SwitchPort>> claims)
    {
        return ReadList(map, key, required: false, node =>
        {
            var entry = YamlMap.Open(node, section, PortAssignmentKeys, Diagnostics);
            if (entry is null)
            {
                return null;
            }

            var switchNode = _values.Scalar(entry, "switch", required: true);
            var switchName = switchNode?.Value;
            if (switchNode is not null && switchName is not null)
            {
                Facts.SwitchReferences.Add(new Claim<string>(claimFor, switchName, Position.Of(switchNode.Start)));
            }

            var ports = new List<string>();
            foreach (var item in _values.ScalarItems(entry, "ports", required: true))
            {
                if (!PortRangeExpander.TryExpand(item.Value!, out var expanded, out var error))
                {
                    Diagnostics.Add(item, error!);
                    continue;
                }

                if (!Spend(item, expanded.Count))
                {
                    continue;
                }

                foreach (var port in expanded)
                {
                    ports.Add(port);
                    if (switchName is not null)
                    {
                        claims.Add(new Claim<SwitchPort>(claimFor, new SwitchPort(switchName, port), Position.Of(item.Start)));
                    }
                }
            }

            return new PortAssignment { Switch = switchName ?? "", Ports = ports };
        });
    }

    private bool Spend(YamlNode at, int count)
    {
        _expanded += count;
        if (_expanded <= MaxExpandedItems)
        {
            return true;
        }

        if (!_expansionCapReported)
        {
            _expansionCapReported = true;
            Diagnostics.Add(at, $"the policy lists more than {MaxExpandedItems} ports and VLANs after expanding ranges; a site is far smaller");
        }

        return false;
    }

    /// <summary>An <c>address:port</c> endpoint (IPv6 in brackets).</summary>
    private List<string> ReadEndpoints(YamlMap map, string key, IReadOnlyList<string> fallback)
    {
        if (map[key] is null)
        {
            return [.. fallback];
        }

        var endpoints = new List<string>();
        foreach (var item in _values.ScalarItems(map, key, required: true))
        {
            var text = item.Value!;
            var colon = text.LastIndexOf(':');
            var host = colon > 0 ? text[..colon] : "";
            if (host.StartsWith('[') && host.EndsWith(']'))
            {
                host = host[1..^1];
            }
            else if (host.Contains(':', StringComparison.Ordinal))
            {
                host = "";
            }

            if (colon <= 0 || !NetworkText.TryParseAddress(host, out _)
                || !int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                Diagnostics.Add(item, colon > 0 && NetworkText.HasLeadingZeroOctet(host)
                    ? $"'{YamlMap.Printable(text)}' in '{key}' is not an address:port endpoint: its address {NetworkText.LeadingZeroProblem}"
                    : $"'{YamlMap.PrintableWithoutUserInfo(text)}' in '{key}' is not an address:port endpoint; write e.g. 0.0.0.0:8443, 10.0.0.5:8443 or [::]:8443");
                continue;
            }

            endpoints.Add(text);
        }

        return endpoints;
    }

    private static bool IsHostName(string text) =>
        text.Length <= 253 && Uri.CheckHostName(text) == UriHostNameType.Dns;

    private static bool IsAddressOrHostName(string text) =>
        NetworkText.TryParseAddress(text, out _) || (IsHostName(text) && !text.All(c => char.IsAsciiDigit(c) || c == '.'));

    private static bool IsIPv4(IPAddress address) => address.AddressFamily == AddressFamily.InterNetwork;
}
