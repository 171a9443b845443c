using SegmentController.Snmp.Protocol;
using SegmentController.Snmp.Transport;
using SegmentController.Snmp.Walking;

namespace SegmentController.Snmp.Inventory;

/// <summary>
/// Standard switches: IF-MIB, BRIDGE-MIB and Q-BRIDGE-MIB. Port bitmaps are indexed by bridge port,
/// which is mapped to ifIndex through dot1dBasePortIfIndex; FDB ids map to VLANs through
/// dot1qVlanFdbId; VLANs are the union of the static and the current table (GVRP/MVRP VLANs exist
/// only in the latter), and the current table wins for membership because it is what forwards.
/// Bitmap bits for bridge ports that do not exist are ignored; inconsistent tables are refused
/// (<see cref="InventoryConsistency"/>).
/// </summary>
internal sealed class QBridgeDriver : IInventoryDriver
{
    private const int FdbStatusLearned = 3;

    private static readonly Oid[] InterfaceColumns = [Mib.IfDescr, Mib.IfAdminStatus, Mib.IfOperStatus, Mib.IfName, Mib.IfAlias];

    private static readonly Oid[] BridgeColumns =
    [
        Mib.Dot1dBasePortIfIndex, Mib.Dot1qPvid,
        Mib.Dot1qVlanStaticName, Mib.Dot1qVlanStaticEgressPorts, Mib.Dot1qVlanStaticUntaggedPorts,
        Mib.Dot1qVlanFdbId, Mib.Dot1qVlanCurrentEgressPorts, Mib.Dot1qVlanCurrentUntaggedPorts,
    ];

    private static readonly Oid[] FdbColumns = [Mib.Dot1qTpFdbPort, Mib.Dot1qTpFdbStatus];

    public async Task<SwitchInventory> CollectAsync(ISnmpClient client, string switchName, int maxRepetitions, bool includeFdb, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var interfaces = await TableWalker.WalkAsync(client, InterfaceColumns, maxRepetitions, cancellationToken: cancellationToken).ConfigureAwait(false);
        var bridge = await TableWalker.WalkAsync(client, BridgeColumns, maxRepetitions, cancellationToken: cancellationToken).ConfigureAwait(false);
        var fdbWalk = includeFdb
            ? await TableWalker.WalkAsync(client, FdbColumns, maxRepetitions, cancellationToken: cancellationToken).ConfigureAwait(false)
            : new Dictionary<Oid, IReadOnlyList<VarBind>>();

        var bridgePortIfIndex = InventoryConsistency.BridgePortMap(bridge, switchName);
        var pvid = TableData.ByIntIndex(bridge, Mib.Dot1qPvid, switchName: switchName);

        var staticNames = TableData.ByIntIndex(bridge, Mib.Dot1qVlanStaticName, switchName: switchName);
        var staticEgress = TableData.ByIntIndex(bridge, Mib.Dot1qVlanStaticEgressPorts, switchName: switchName);
        var staticUntagged = TableData.ByIntIndex(bridge, Mib.Dot1qVlanStaticUntaggedPorts, switchName: switchName);
        // dot1qVlanCurrentTable is indexed by (dot1qVlanTimeMark, dot1qVlanIndex).
        var currentEgress = TableData.ByIntIndex(bridge, Mib.Dot1qVlanCurrentEgressPorts, skipLeading: 1, switchName: switchName);
        var currentUntagged = TableData.ByIntIndex(bridge, Mib.Dot1qVlanCurrentUntaggedPorts, skipLeading: 1, switchName: switchName);
        var fdbIds = TableData.ByIntIndex(bridge, Mib.Dot1qVlanFdbId, skipLeading: 1, switchName: switchName);

        var vlanIds = staticEgress.Keys.Concat(staticNames.Keys).Concat(currentEgress.Keys).Distinct().Order().ToArray();
        var vlans = vlanIds.Select(v => new VlanInfo(v, staticNames.TryGetValue(v, out var n) ? n.AsText() : null)).ToArray();

        var tagged = new Dictionary<int, SortedSet<int>>();
        var untaggedOf = new Dictionary<int, SortedSet<int>>();
        foreach (var vlan in vlanIds)
        {
            var egress = currentEgress.TryGetValue(vlan, out var ce) ? ce : staticEgress.GetValueOrDefault(vlan);
            var untagged = currentEgress.ContainsKey(vlan) ? currentUntagged.GetValueOrDefault(vlan) : staticUntagged.GetValueOrDefault(vlan);
            var untaggedPorts = untagged is null ? [] : TableData.PortList(untagged.Bytes).Where(bridgePortIfIndex.ContainsKey).ToHashSet();
            foreach (var port in egress is null ? [] : TableData.PortList(egress.Bytes))
            {
                if (!bridgePortIfIndex.ContainsKey(port))
                {
                    continue;
                }

                var target = untaggedPorts.Contains(port) ? untaggedOf : tagged;
                if (!target.TryGetValue(port, out var set))
                {
                    target[port] = set = [];
                }

                set.Add(vlan);
            }
        }

        var names = TableData.ByIntIndex(interfaces, Mib.IfName, switchName: switchName);
        var descrs = TableData.ByIntIndex(interfaces, Mib.IfDescr, switchName: switchName);
        var aliases = TableData.ByIntIndex(interfaces, Mib.IfAlias, switchName: switchName);
        var admin = TableData.ByIntIndex(interfaces, Mib.IfAdminStatus, switchName: switchName);
        var oper = TableData.ByIntIndex(interfaces, Mib.IfOperStatus, switchName: switchName);
        var ports = new List<SwitchPort>();
        foreach (var (bridgePort, ifIndex) in bridgePortIfIndex.OrderBy(p => p.Value))
        {
            var taggedVlans = tagged.TryGetValue(bridgePort, out var t) ? t.ToArray() : [];
            int? access = TableData.Integer(pvid.GetValueOrDefault(bridgePort));
            if (access is null && untaggedOf.TryGetValue(bridgePort, out var u) && u.Count > 0)
            {
                access = u.Min;
            }

            // Untagged egress in VLANs besides the PVID (a hybrid port): the port carries them too, and a port that
            // carries several VLANs is judged as a trunk is. Dropped, another client's VLAN there would go unreported.
            var otherUntagged = untaggedOf.TryGetValue(bridgePort, out var egressUntagged)
                ? egressUntagged.Where(v => v != access).ToArray()
                : [];
            ports.Add(new SwitchPort
            {
                IfIndex = ifIndex,
                Name = names.TryGetValue(ifIndex, out var name) && name.Bytes.Length > 0 ? name.AsText() : descrs.GetValueOrDefault(ifIndex)?.AsText() ?? $"ifIndex {ifIndex}",
                Alias = aliases.GetValueOrDefault(ifIndex)?.AsText() ?? "",
                Admin = Mib.AdminStatusName(TableData.Integer(admin.GetValueOrDefault(ifIndex))),
                Oper = Mib.OperStatusName(TableData.Integer(oper.GetValueOrDefault(ifIndex))),
                Mode = taggedVlans.Length > 0 || otherUntagged.Length > 0 ? PortMode.Trunk : PortMode.Access,
                AccessVlan = access,
                TaggedVlans = taggedVlans,
                UntaggedVlans = otherUntagged,
            });
        }

        // Several VLANs may share one FDB (shared VLAN learning); the lowest VLAN id names it.
        var vlanOfFdb = new Dictionary<int, int>();
        foreach (var (vlan, fdbId) in fdbIds)
        {
            if (TableData.Integer(fdbId) is { } id && (!vlanOfFdb.TryGetValue(id, out var existing) || vlan < existing))
            {
                vlanOfFdb[id] = vlan;
            }
        }

        var fdb = new List<FdbEntry>();
        if (fdbWalk.TryGetValue(Mib.Dot1qTpFdbPort, out var fdbRows))
        {
            var statusRows = fdbWalk[Mib.Dot1qTpFdbStatus].ToDictionary(r => r.Oid.IndexAfter(Mib.Dot1qTpFdbStatus).ToArray(), r => TableData.Integer(r.Value), IndexComparer.Instance);
            foreach (var row in fdbRows)
            {
                // dot1qTpFdbTable is indexed by (dot1qFdbId, dot1qTpFdbAddress as six sub-identifiers).
                var index = row.Oid.IndexAfter(Mib.Dot1qTpFdbPort);
                if (index.Length != 7 || index[0] is < 1 or > int.MaxValue || !TableData.IsMacIndex(index[1..]))
                {
                    throw InventoryConsistency.Inconsistent(switchName, $"{row.Oid} does not have the index of dot1qTpFdbTable (an FDB id and a MAC address)");
                }

                if (statusRows.TryGetValue(index.ToArray(), out var status) && status is not null && status != FdbStatusLearned)
                {
                    continue;
                }

                var fdbId = (int)index[0];
                var vlan = vlanOfFdb.TryGetValue(fdbId, out var mapped) ? mapped : fdbId;
                var bridgePort = TableData.Integer(row.Value);
                int? ifIndex = bridgePort is { } bp && bridgePortIfIndex.TryGetValue(bp, out var i) ? i : null;
                fdb.Add(new FdbEntry(TableData.Mac(index[1..]), vlan, ifIndex));
            }
        }

        return InventoryConsistency.Validated(new SwitchInventory { Switch = switchName, Ports = ports, Vlans = vlans, Fdb = fdb });
    }
}
