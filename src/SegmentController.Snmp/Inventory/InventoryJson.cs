using System.Text.Json;

namespace SegmentController.Snmp.Inventory;

/// <summary>The stable JSON form of an inventory (the shape issue 3 fixes for <c>segctl snmp inventory --json</c>).</summary>
internal static class InventoryJson
{
    public static void Write(Utf8JsonWriter writer, SwitchInventory inventory)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(inventory);
        writer.WriteStartObject();
        writer.WriteString("switch", inventory.Switch);
        writer.WriteStartArray("ports");
        foreach (var port in inventory.Ports)
        {
            writer.WriteStartObject();
            writer.WriteNumber("if_index", port.IfIndex);
            writer.WriteString("name", port.Name);
            writer.WriteString("alias", port.Alias);
            writer.WriteString("admin", port.Admin);
            writer.WriteString("oper", port.Oper);
            writer.WriteString("mode", port.Mode == PortMode.Trunk ? "trunk" : "access");
            if (port.AccessVlan is { } access)
            {
                writer.WriteNumber("access_vlan", access);
            }
            else
            {
                writer.WriteNull("access_vlan");
            }

            writer.WriteStartArray("tagged_vlans");
            foreach (var vlan in port.TaggedVlans)
            {
                writer.WriteNumberValue(vlan);
            }

            writer.WriteEndArray();
            writer.WriteStartArray("untagged_vlans");
            foreach (var vlan in port.UntaggedVlans)
            {
                writer.WriteNumberValue(vlan);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteStartArray("vlans");
        foreach (var vlan in inventory.Vlans)
        {
            writer.WriteStartObject();
            writer.WriteNumber("id", vlan.Id);
            if (vlan.Name is null)
            {
                writer.WriteNull("name");
            }
            else
            {
                writer.WriteString("name", vlan.Name);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteStartArray("fdb");
        foreach (var entry in inventory.Fdb)
        {
            writer.WriteStartObject();
            writer.WriteString("mac", entry.Mac);
            writer.WriteNumber("vlan", entry.Vlan);
            if (entry.IfIndex is { } ifIndex)
            {
                writer.WriteNumber("if_index", ifIndex);
            }
            else
            {
                writer.WriteNull("if_index");
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}
