using System.Collections.Frozen;

namespace SegmentController.Core.Findings;

/// <summary>Every rule the controller knows, with its fixed severity and source.</summary>
public static class RuleCatalog
{
    /// <summary>All rules, by id.</summary>
    public static FrozenDictionary<string, RuleDescriptor> All { get; } = new RuleDescriptor[]
    {
        new(RuleIds.CrossClientFlow, Severity.Critical, FindingSource.Capture, "source in one client's subnets (or on its VLAN), destination in another's: bare, tunnelled, in an IPv6 form of an IPv4 address, or an ARP exchange"),
        new(RuleIds.VlanSubnetMismatch, Severity.Critical, FindingSource.Capture, "a client's VLAN carries another client's source address"),
        new(RuleIds.VlanHopping, Severity.Critical, FindingSource.Capture, "stacked 802.1Q/802.1ad tags where the site runs no QinQ"),
        new(RuleIds.ProxyBypass, Severity.High, FindingSource.Capture, "a client segment talks to its upstream addresses without the proxy"),
        new(RuleIds.CleartextToClient, Severity.High, FindingSource.Capture, "non-TLS payload to or from a client upstream"),
        new(RuleIds.WeakTls, Severity.High, FindingSource.Capture, "TLS below 1.2 negotiated"),
        new(RuleIds.UnknownVlan, Severity.Medium, FindingSource.Capture, "a VLAN the policy does not name"),
        new(RuleIds.UnknownMac, Severity.Medium, FindingSource.Capture, "a station MAC not listed for its segment"),
        new(RuleIds.ArpSpoofing, Severity.High, FindingSource.Capture, "an address claimed by more than one MAC, or a gratuitous claim of another's address"),
        new(RuleIds.CaptureDegraded, Severity.High, FindingSource.Capture, "capture loss above threshold, silence, or more flows or ARP claims than are tracked"),
        new(RuleIds.PortVlanMismatch, Severity.Critical, FindingSource.Snmp, "a client's port is an access member of a VLAN that is not the client's"),
        new(RuleIds.PortSharedByClients, Severity.Critical, FindingSource.Snmp, "one port carries VLANs of more than one client"),
        new(RuleIds.UnassignedPortInClientVlan, Severity.High, FindingSource.Snmp, "a port the policy gives to no client is a member of a client's VLAN"),
        new(RuleIds.TrunkCarriesForeignVlan, Severity.High, FindingSource.Snmp, "a trunk carries a VLAN the policy does not expect on it"),
        new(RuleIds.ForeignMac, Severity.High, FindingSource.Snmp, "a MAC in a client's VLAN learned on a port that is neither the client's nor a trunk"),
        new(RuleIds.SwitchUnreachable, Severity.High, FindingSource.Snmp, "a switch did not answer, or rejected the credentials"),
        new(RuleIds.InsecureSnmp, Severity.Medium, FindingSource.Snmp, "SNMPv2c, or v3 with MD5/DES or without privacy"),
        new(RuleIds.InventoryDrift, Severity.Info, FindingSource.Snmp, "the switch's configuration changed since the last poll"),
        new(RuleIds.CrossClientRequest, Severity.Critical, FindingSource.Proxy, "a request from one client's segment for another client's upstream"),
        new(RuleIds.UnknownSource, Severity.High, FindingSource.Proxy, "a request from an address in no client's segment"),
        new(RuleIds.WeakUpstreamTls, Severity.High, FindingSource.Proxy, "an upstream that offers only TLS 1.1 or less"),
        new(RuleIds.AuditFailed, Severity.Critical, FindingSource.Audit, "an audit found the site out of compliance"),
        new(RuleIds.LogIntegrityFailure, Severity.Critical, FindingSource.Store, "the tamper-evident store failed verification or cannot be written"),
    }.ToFrozenDictionary(r => r.Id, StringComparer.Ordinal);

    /// <summary>The descriptor of a known rule.</summary>
    /// <exception cref="KeyNotFoundException">The id is not a rule.</exception>
    public static RuleDescriptor Get(string id) => All[id];
}
