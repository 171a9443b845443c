using SegmentController.Core.Policy;

namespace SegmentController.Snmp.Inventory;

/// <summary>The driver for a policy's vendor profile.</summary>
internal static class InventoryDrivers
{
    public static IInventoryDriver For(SwitchProfile profile) => profile switch
    {
        SwitchProfile.QBridge => new QBridgeDriver(),
        SwitchProfile.Cisco => new CiscoDriver(),
        _ => throw new ArgumentOutOfRangeException(nameof(profile)),
    };

    public static SwitchProfile ParseProfile(string name) => name?.ToUpperInvariant() switch
    {
        "QBRIDGE" or "Q-BRIDGE" => SwitchProfile.QBridge,
        "CISCO" => SwitchProfile.Cisco,
        _ => throw new FormatException($"unknown switch profile '{name}' (use qbridge or cisco)"),
    };
}
