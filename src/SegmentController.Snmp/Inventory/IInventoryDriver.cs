using SegmentController.Snmp.Transport;

namespace SegmentController.Snmp.Inventory;

/// <summary>Reads a switch's port model through a vendor profile's MIBs (the FDB only when asked: it is the slow part).</summary>
internal interface IInventoryDriver
{
    Task<SwitchInventory> CollectAsync(ISnmpClient client, string switchName, int maxRepetitions, bool includeFdb, CancellationToken cancellationToken);
}
