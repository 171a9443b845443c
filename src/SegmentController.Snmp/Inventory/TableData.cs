using System.Globalization;
using SegmentController.Snmp.Protocol;

namespace SegmentController.Snmp.Inventory;

/// <summary>Helpers to read walked columns by table index.</summary>
internal static class TableData
{
    /// <summary>
    /// Column values keyed by a single-integer index (ifIndex, bridge port, VLAN), after
    /// <paramref name="skipLeading"/> leading index parts. With <paramref name="switchName"/>, a row whose
    /// index has another shape, is 0 or exceeds 2147483647 is an inconsistent-data error; without it such
    /// rows are skipped.
    /// </summary>
    public static Dictionary<int, SnmpValue> ByIntIndex(IReadOnlyDictionary<Oid, IReadOnlyList<VarBind>> walked, Oid column, int skipLeading = 0, string? switchName = null)
    {
        var result = new Dictionary<int, SnmpValue>();
        if (!walked.TryGetValue(column, out var rows))
        {
            return result;
        }

        foreach (var row in rows)
        {
            var index = row.Oid.IndexAfter(column);
            if (index.Length == skipLeading + 1 && index[skipLeading] is >= 1 and <= int.MaxValue)
            {
                result[(int)index[skipLeading]] = row.Value;
            }
            else if (switchName is not null)
            {
                throw InventoryConsistency.Inconsistent(switchName, $"{row.Oid} does not have the index of {column} (one number from 1 to 2147483647{(skipLeading > 0 ? $" after {skipLeading} leading part(s)" : "")})");
            }
        }

        return result;
    }

    public static int? Integer(SnmpValue? value) => value?.Type switch
    {
        SnmpType.Integer32 => (int)value.Number,
        SnmpType.Gauge32 or SnmpType.Counter32 or SnmpType.TimeTicks when value.UnsignedNumber <= int.MaxValue => (int)value.UnsignedNumber,
        _ => null,
    };

    /// <summary>A PortList (RFC 4363): octet 0's most significant bit is port 1.</summary>
    public static IEnumerable<int> PortList(byte[] octets, int firstPort = 1)
    {
        for (var i = 0; i < octets.Length; i++)
        {
            for (var bit = 0; bit < 8; bit++)
            {
                if ((octets[i] & (0x80 >> bit)) != 0)
                {
                    yield return firstPort + (i * 8) + bit;
                }
            }
        }
    }

    /// <summary>Whether a table index part is a MAC address: six sub-identifiers of 0–255.</summary>
    public static bool IsMacIndex(ReadOnlySpan<uint> index)
    {
        if (index.Length != 6)
        {
            return false;
        }

        foreach (var part in index)
        {
            if (part > 255)
            {
                return false;
            }
        }

        return true;
    }

    public static string Mac(ReadOnlySpan<uint> index) =>
        string.Join(':', index.ToArray().Select(b => ((byte)b).ToString("x2", CultureInfo.InvariantCulture)));
}
