namespace SegmentController.Core.Findings;

/// <summary>The stable rule identifiers used in JSON output, metrics and the store.</summary>
public static class RuleIds
{
    public const string CrossClientFlow = "cross-client-flow";
    public const string VlanSubnetMismatch = "vlan-subnet-mismatch";
    public const string VlanHopping = "vlan-hopping";
    public const string ProxyBypass = "proxy-bypass";
    public const string CleartextToClient = "cleartext-to-client";
    public const string WeakTls = "weak-tls";
    public const string UnknownVlan = "unknown-vlan";
    public const string UnknownMac = "unknown-mac";
    public const string ArpSpoofing = "arp-spoofing";
    public const string CaptureDegraded = "capture-degraded";

    public const string PortVlanMismatch = "port-vlan-mismatch";
    public const string PortSharedByClients = "port-shared-by-clients";
    public const string UnassignedPortInClientVlan = "unassigned-port-in-client-vlan";
    public const string TrunkCarriesForeignVlan = "trunk-carries-foreign-vlan";
    public const string ForeignMac = "foreign-mac";
    public const string SwitchUnreachable = "switch-unreachable";
    public const string InsecureSnmp = "insecure-snmp";
    public const string InventoryDrift = "inventory-drift";

    public const string CrossClientRequest = "cross-client-request";
    public const string UnknownSource = "unknown-source";
    public const string WeakUpstreamTls = "weak-upstream-tls";

    public const string AuditFailed = "audit-failed";
    public const string LogIntegrityFailure = "log-integrity-failure";
}
