using SegmentController.Snmp.Protocol;
using SegmentController.Snmp.Transport;
using SegmentController.Snmp.Walking;

namespace SegmentController.Snmp.Inventory;

/// <summary>
/// Cisco switches: VLANs from CISCO-VTP-MIB, access VLAN from CISCO-VLAN-MEMBERSHIP-MIB, trunking from
/// vlanTrunkPortTable, and the FDB per VLAN through Cisco's per-VLAN BRIDGE-MIB instances
/// (community <c>…@vlan</c> in v2c, context <c>vlan-N</c> in v3), whose bridge port numbers differ per VLAN.
/// </summary>
internal sealed class CiscoDriver : IInventoryDriver
{
    private const int VtpOperational = 1;
    private const int Trunking = 1;
    private const int FdbStatusLearned = 3;

    private static readonly Oid[] Columns =
    [
        Mib.IfDescr, Mib.IfAdminStatus, Mib.IfOperStatus, Mib.IfName, Mib.IfAlias,
        Mib.VtpVlanState, Mib.VtpVlanName,
        Mib.VlanTrunkPortVlansEnabled, Mib.VlanTrunkPortNativeVlan, Mib.VlanTrunkPortDynamicStatus,
        Mib.VlanTrunkPortVlansEnabled2k, Mib.VlanTrunkPortVlansEnabled3k, Mib.VlanTrunkPortVlansEnabled4k,
        Mib.VmVlan, Mib.VmVoiceVlanId,
    ];

    private static readonly Oid[] FdbColumns = [Mib.Dot1dBasePortIfIndex, Mib.Dot1dTpFdbPort, Mib.Dot1dTpFdbStatus];

    public async Task<SwitchInventory> CollectAsync(ISnmpClient client, string switchName, int maxRepetitions, bool includeFdb, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var walked = await TableWalker.WalkAsync(client, Columns, maxRepetitions, cancellationToken: cancellationToken).ConfigureAwait(false);

        // vtpVlanTable is indexed by (managementDomainIndex, vtpVlanIndex).
        var states = TableData.ByIntIndex(walked, Mib.VtpVlanState, skipLeading: 1, switchName: switchName);
        var vlanNames = TableData.ByIntIndex(walked, Mib.VtpVlanName, skipLeading: 1, switchName: switchName);
        var vlans = states.Keys.Order().Select(v => new VlanInfo(v, vlanNames.GetValueOrDefault(v)?.AsText())).ToArray();
        var existing = states.Keys.ToHashSet();

        var names = TableData.ByIntIndex(walked, Mib.IfName, switchName: switchName);
        var descrs = TableData.ByIntIndex(walked, Mib.IfDescr, switchName: switchName);
        var aliases = TableData.ByIntIndex(walked, Mib.IfAlias, switchName: switchName);
        var admin = TableData.ByIntIndex(walked, Mib.IfAdminStatus, switchName: switchName);
        var oper = TableData.ByIntIndex(walked, Mib.IfOperStatus, switchName: switchName);
        var dynamic = TableData.ByIntIndex(walked, Mib.VlanTrunkPortDynamicStatus, switchName: switchName);
        var native = TableData.ByIntIndex(walked, Mib.VlanTrunkPortNativeVlan, switchName: switchName);
        var vmVlan = TableData.ByIntIndex(walked, Mib.VmVlan, switchName: switchName);
        var voiceVlan = TableData.ByIntIndex(walked, Mib.VmVoiceVlanId, switchName: switchName);
        var enabled = new[] { Mib.VlanTrunkPortVlansEnabled, Mib.VlanTrunkPortVlansEnabled2k, Mib.VlanTrunkPortVlansEnabled3k, Mib.VlanTrunkPortVlansEnabled4k }
            .Select(c => TableData.ByIntIndex(walked, c, switchName: switchName))
            .ToArray();

        var ports = new List<SwitchPort>();
        foreach (var ifIndex in dynamic.Keys.Union(vmVlan.Keys).Order())
        {
            var trunk = TableData.Integer(dynamic.GetValueOrDefault(ifIndex)) == Trunking;
            int? access = trunk ? TableData.Integer(native.GetValueOrDefault(ifIndex)) : TableData.Integer(vmVlan.GetValueOrDefault(ifIndex));
            if (!trunk && access == 0)
            {
                // CISCO-VLAN-MEMBERSHIP-MIB: vmVlan 0 is a dynamic port not assigned to any VLAN yet.
                access = null;
            }

            var tagged = new SortedSet<int>();
            if (trunk)
            {
                for (var block = 0; block < enabled.Length; block++)
                {
                    if (enabled[block].TryGetValue(ifIndex, out var bitmap))
                    {
                        // Each vlanTrunkPortVlansEnabled* bitmap covers 1024 VLANs, the first bit being VLAN block×1024;
                        // octets beyond the 128 the MIB defines would name another block's VLANs and are ignored.
                        foreach (var vlan in TableData.PortList(bitmap.Bytes[..Math.Min(bitmap.Bytes.Length, 128)], firstPort: block * 1024))
                        {
                            if (existing.Contains(vlan) && vlan != access)
                            {
                                tagged.Add(vlan);
                            }
                        }
                    }
                }
            }
            else if (TableData.Integer(voiceVlan.GetValueOrDefault(ifIndex)) is { } voice and >= 1 and <= 4094 && existing.Contains(voice) && voice != access)
            {
                // A voice VLAN (1–4094; 4095 is priority-tagged in the access VLAN, 4096 none): the phone's frames
                // are tagged with it, so the access port carries it too.
                tagged.Add(voice);
            }

            ports.Add(new SwitchPort
            {
                IfIndex = ifIndex,
                Name = names.TryGetValue(ifIndex, out var name) && name.Bytes.Length > 0 ? name.AsText() : descrs.GetValueOrDefault(ifIndex)?.AsText() ?? $"ifIndex {ifIndex}",
                Alias = aliases.GetValueOrDefault(ifIndex)?.AsText() ?? "",
                Admin = Mib.AdminStatusName(TableData.Integer(admin.GetValueOrDefault(ifIndex))),
                Oper = Mib.OperStatusName(TableData.Integer(oper.GetValueOrDefault(ifIndex))),
                Mode = trunk ? PortMode.Trunk : PortMode.Access,
                AccessVlan = access,
                TaggedVlans = tagged.ToArray(),
            });
        }

        var fdb = new List<FdbEntry>();
        foreach (var vlan in !includeFdb ? Enumerable.Empty<int>() : states.Where(s => TableData.Integer(s.Value) == VtpOperational).Select(s => s.Key).Where(v => v is < 1002 or > 1005).Order())
        {
            var perVlan = await TableWalker.WalkAsync(client, FdbColumns, maxRepetitions, SnmpContext.CiscoVlan(vlan), cancellationToken: cancellationToken).ConfigureAwait(false);
            var bridgePorts = InventoryConsistency.BridgePortMap(perVlan, switchName, $" of VLAN {vlan}");
            var statusRows = perVlan[Mib.Dot1dTpFdbStatus].ToDictionary(r => r.Oid.IndexAfter(Mib.Dot1dTpFdbStatus).ToArray(), r => TableData.Integer(r.Value), IndexComparer.Instance);
            foreach (var row in perVlan[Mib.Dot1dTpFdbPort])
            {
                var index = row.Oid.IndexAfter(Mib.Dot1dTpFdbPort);
                if (!TableData.IsMacIndex(index))
                {
                    throw InventoryConsistency.Inconsistent(switchName, $"{row.Oid} (VLAN {vlan}) does not have the index of dot1dTpFdbTable (a MAC address)");
                }

                if (statusRows.TryGetValue(index.ToArray(), out var status) && status is not null && status != FdbStatusLearned)
                {
                    continue;
                }

                var bridgePort = TableData.Integer(row.Value);
                int? ifIndex = bridgePort is { } bp && bridgePorts.TryGetValue(bp, out var mapped) ? mapped : null;
                fdb.Add(new FdbEntry(TableData.Mac(index), vlan, ifIndex));
            }
        }

        return InventoryConsistency.Validated(new SwitchInventory { Switch = switchName, Ports = ports, Vlans = vlans, Fdb = fdb });
    }
}
