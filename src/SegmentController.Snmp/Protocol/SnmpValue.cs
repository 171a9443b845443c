using System.Globalization;
using System.Net;
using System.Text;

namespace SegmentController.Snmp.Protocol;

/// <summary>A decoded SNMP value. Numbers are held as 64-bit, octets as a copy, OIDs parsed.</summary>
internal sealed class SnmpValue
{
    private static readonly byte[] NoBytes = [];

    private SnmpValue(SnmpType type, long number, byte[] bytes, Oid? oid)
    {
        Type = type;
        Number = number;
        Bytes = bytes;
        ObjectId = oid;
    }

    public SnmpType Type { get; }

    /// <summary>Integer32 (signed) or the unsigned types (Counter64 reinterpreted: use <see cref="UnsignedNumber"/>).</summary>
    public long Number { get; }

    public ulong UnsignedNumber => unchecked((ulong)Number);

    public byte[] Bytes { get; }

    public Oid? ObjectId { get; }

    /// <summary>True for noSuchObject, noSuchInstance and endOfMibView.</summary>
    public bool IsException => Type is SnmpType.NoSuchObject or SnmpType.NoSuchInstance or SnmpType.EndOfMibView;

    public static SnmpValue Null { get; } = new(SnmpType.Null, 0, NoBytes, null);

    public static SnmpValue NoSuchObject { get; } = new(SnmpType.NoSuchObject, 0, NoBytes, null);

    public static SnmpValue NoSuchInstance { get; } = new(SnmpType.NoSuchInstance, 0, NoBytes, null);

    public static SnmpValue EndOfMibView { get; } = new(SnmpType.EndOfMibView, 0, NoBytes, null);

    public static SnmpValue Integer(int value) => new(SnmpType.Integer32, value, NoBytes, null);

    public static SnmpValue OctetString(byte[] value) => new(SnmpType.OctetString, 0, value ?? throw new ArgumentNullException(nameof(value)), null);

    public static SnmpValue OctetString(string value) => OctetString(Encoding.UTF8.GetBytes(value));

    public static SnmpValue Opaque(byte[] value) => new(SnmpType.Opaque, 0, value ?? throw new ArgumentNullException(nameof(value)), null);

    public static SnmpValue FromOid(Oid value) => new(SnmpType.ObjectIdentifier, 0, NoBytes, value ?? throw new ArgumentNullException(nameof(value)));

    public static SnmpValue IpAddress(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var bytes = address.GetAddressBytes();
        return bytes.Length == 4 ? new(SnmpType.IpAddress, 0, bytes, null) : throw new ArgumentException("IpAddress is IPv4 only", nameof(address));
    }

    public static SnmpValue IpAddressBytes(byte[] bytes) => new(SnmpType.IpAddress, 0, bytes, null);

    public static SnmpValue Unsigned(SnmpType type, ulong value)
    {
        if (type is not (SnmpType.Counter32 or SnmpType.Gauge32 or SnmpType.TimeTicks or SnmpType.Counter64))
        {
            throw new ArgumentException($"{type} is not an unsigned type", nameof(type));
        }

        if (type != SnmpType.Counter64 && value > uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(value), $"{type} holds 32 bits");
        }

        return new(type, unchecked((long)value), NoBytes, null);
    }

    /// <summary>The integer of an Integer32 value, or null for anything else.</summary>
    public int? AsInt32() => Type == SnmpType.Integer32 ? (int)Number : null;

    /// <summary>The value as text: octets as UTF-8 (invalid sequences replaced), numbers in decimal.</summary>
    public string AsText() => Type switch
    {
        SnmpType.OctetString or SnmpType.Opaque => Encoding.UTF8.GetString(Bytes).TrimEnd('\0'),
        SnmpType.Integer32 => Number.ToString(CultureInfo.InvariantCulture),
        SnmpType.Counter32 or SnmpType.Gauge32 or SnmpType.TimeTicks or SnmpType.Counter64 => UnsignedNumber.ToString(CultureInfo.InvariantCulture),
        SnmpType.ObjectIdentifier => ObjectId!.ToString(),
        SnmpType.IpAddress => FormatIp(Bytes),
        _ => "",
    };

    /// <summary>The value as net-snmp prints it with no MIB loaded (<c>snmpbulkwalk -On -m ''</c>).</summary>
    public override string ToString() => Type switch
    {
        SnmpType.Integer32 => "INTEGER: " + Number.ToString(CultureInfo.InvariantCulture),
        SnmpType.OctetString => FormatOctets(Bytes),
        SnmpType.Null => "NULL",
        SnmpType.ObjectIdentifier => "OID: " + ObjectId,
        SnmpType.IpAddress => "IpAddress: " + FormatIp(Bytes),
        SnmpType.Counter32 => "Counter32: " + UnsignedNumber.ToString(CultureInfo.InvariantCulture),
        SnmpType.Gauge32 => "Gauge32: " + UnsignedNumber.ToString(CultureInfo.InvariantCulture),
        SnmpType.TimeTicks => FormatTimeTicks(UnsignedNumber),
        SnmpType.Opaque => "OPAQUE: " + FormatHex(Bytes),
        SnmpType.Counter64 => "Counter64: " + UnsignedNumber.ToString(CultureInfo.InvariantCulture),
        SnmpType.NoSuchObject => "No Such Object available on this agent at this OID",
        SnmpType.NoSuchInstance => "No Such Instance currently exists at this OID",
        SnmpType.EndOfMibView => "No more variables left in this MIB View (It is past the end of the MIB tree)",
        _ => "?",
    };

    private static string FormatIp(byte[] bytes) =>
        bytes.Length == 4 ? new IPAddress(bytes).ToString() : FormatHex(bytes);

    private static string FormatTimeTicks(ulong ticks)
    {
        var centis = ticks % 100;
        var seconds = ticks / 100;
        var days = seconds / 86400;
        var hours = seconds / 3600 % 24;
        var minutes = seconds / 60 % 60;
        var secs = seconds % 60;
        var inv = CultureInfo.InvariantCulture;
        var clock = days == 0
            ? string.Create(inv, $"{hours}:{minutes:00}:{secs:00}.{centis:00}")
            : string.Create(inv, $"{days} {(days == 1 ? "day" : "days")}, {hours}:{minutes:00}:{secs:00}.{centis:00}");
        return string.Create(inv, $"Timeticks: ({ticks}) {clock}");
    }

    private static string FormatOctets(byte[] bytes)
    {
        if (bytes.Length == 0)
        {
            return "\"\"";
        }

        // net-snmp prints text when every octet is printable or white space, hex otherwise.
        var printable = true;
        for (var i = 0; i < bytes.Length; i++)
        {
            var b = bytes[i];
            var isPrint = b is >= 0x20 and < 0x7F;
            var isSpace = b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\v' or (byte)'\f' or (byte)'\r';
            if (!isPrint && !isSpace)
            {
                printable = false;
                break;
            }
        }

        if (!printable)
        {
            return "Hex-STRING: " + FormatHex(bytes);
        }

        var text = new StringBuilder(bytes.Length + 2);
        text.Append('"');
        foreach (var b in bytes)
        {
            if (b is (byte)'"' or (byte)'\\')
            {
                text.Append('\\');
            }

            text.Append((char)b);
        }

        text.Append('"');
        return "STRING: " + text;
    }

    private static string FormatHex(byte[] bytes)
    {
        var text = new StringBuilder(bytes.Length * 3 + bytes.Length / 16 + 1);
        for (var i = 0; i < bytes.Length; i++)
        {
            if (i > 0 && i % 16 == 0)
            {
                text.Append('\n');
            }

            text.Append(bytes[i].ToString("X2", CultureInfo.InvariantCulture)).Append(' ');
        }

        return text.ToString();
    }

    internal static ulong ReadUnsigned(ReadOnlySpan<byte> content, int maxBits)
    {
        // Tolerate leading zero octets (some agents pad), but never more significant bits than the type holds.
        while (content.Length > 1 && content[0] == 0)
        {
            content = content[1..];
        }

        if (content.Length == 0 || content.Length > maxBits / 8)
        {
            throw new FormatException("an unsigned value is empty or too long");
        }

        ulong value = 0;
        foreach (var b in content)
        {
            value = (value << 8) | b;
        }

        return value;
    }

    internal static long ReadSigned(ReadOnlySpan<byte> content)
    {
        if (content.Length is 0 or > 8)
        {
            throw new FormatException("an INTEGER is empty or longer than 8 octets");
        }

        long value = (sbyte)content[0];
        for (var i = 1; i < content.Length; i++)
        {
            value = (value << 8) | content[i];
        }

        return value;
    }
}
