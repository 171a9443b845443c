using System.Globalization;
using System.Text;

namespace SegmentController.Snmp.Protocol;

/// <summary>An SNMP object identifier: sub-identifiers of 32 bits, compared lexicographically as agents order them.</summary>
internal sealed class Oid : IEquatable<Oid>, IComparable<Oid>
{
    // BER caps one OID at 128 sub-identifiers (RFC 2578 §3.5); more is hostile.
    public const int MaxLength = 128;

    private readonly uint[] _arcs;
    private int _hash;

    public Oid(params uint[] arcs)
    {
        ArgumentNullException.ThrowIfNull(arcs);
        if (arcs.Length > MaxLength)
        {
            throw new FormatException($"an OID has at most {MaxLength} sub-identifiers");
        }

        _arcs = arcs;
    }

    public int Length => _arcs.Length;

    public uint this[int index] => _arcs[index];

    public ReadOnlySpan<uint> Arcs => _arcs;

    public static Oid Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        if (trimmed.StartsWith('.'))
        {
            trimmed = trimmed[1..];
        }

        if (trimmed.Length == 0)
        {
            throw new FormatException("an OID is empty");
        }

        var parts = trimmed.Split('.');
        var arcs = new uint[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!uint.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out arcs[i]))
            {
                throw new FormatException($"'{text}' is not a numeric OID (sub-identifier '{parts[i]}')");
            }
        }

        // BER encodes the first two arcs as one number (X.690 8.19): an OID it cannot encode is refused
        // here, with the text as given, rather than when a request is built.
        if (arcs.Length < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39))
        {
            throw new FormatException($"'{text}' is not an OID: it needs at least two sub-identifiers, the first 0, 1 or 2 and, after 0 or 1, the second 0 to 39 (e.g. 1.3.6.1)");
        }

        return new Oid(arcs);
    }

    public Oid Append(params uint[] suffix)
    {
        ArgumentNullException.ThrowIfNull(suffix);
        var arcs = new uint[_arcs.Length + suffix.Length];
        _arcs.CopyTo(arcs, 0);
        suffix.CopyTo(arcs, _arcs.Length);
        return new Oid(arcs);
    }

    public bool StartsWith(Oid prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return prefix._arcs.Length <= _arcs.Length && _arcs.AsSpan(0, prefix._arcs.Length).SequenceEqual(prefix._arcs);
    }

    /// <summary>The sub-identifiers after <paramref name="prefix"/> (the table index of a column value).</summary>
    public ReadOnlySpan<uint> IndexAfter(Oid prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return _arcs.AsSpan(prefix._arcs.Length);
    }

    public int CompareTo(Oid? other)
    {
        if (other is null)
        {
            return 1;
        }

        return _arcs.AsSpan().SequenceCompareTo(other._arcs);
    }

    public bool Equals(Oid? other) => other is not null && _arcs.AsSpan().SequenceEqual(other._arcs);

    public override bool Equals(object? obj) => obj is Oid other && Equals(other);

    public override int GetHashCode()
    {
        if (_hash == 0)
        {
            var hash = new HashCode();
            foreach (var arc in _arcs)
            {
                hash.Add(arc);
            }

            _hash = hash.ToHashCode() | 1;
        }

        return _hash;
    }

    /// <summary>Dotted form with a leading dot, as net-snmp prints with <c>-On</c>.</summary>
    public override string ToString()
    {
        var builder = new StringBuilder(_arcs.Length * 4);
        foreach (var arc in _arcs)
        {
            builder.Append('.').Append(arc.ToString(CultureInfo.InvariantCulture));
        }

        return builder.ToString();
    }

    /// <summary>Dotted form without the leading dot (the form the ASN.1 writer takes).</summary>
    public string ToDotted() => ToString()[1..];

    public static bool operator ==(Oid? left, Oid? right) => left is null ? right is null : left.Equals(right);

    public static bool operator !=(Oid? left, Oid? right) => !(left == right);

    public static bool operator <(Oid? left, Oid? right) => Compare(left, right) < 0;

    public static bool operator <=(Oid? left, Oid? right) => Compare(left, right) <= 0;

    public static bool operator >(Oid? left, Oid? right) => Compare(left, right) > 0;

    public static bool operator >=(Oid? left, Oid? right) => Compare(left, right) >= 0;

    private static int Compare(Oid? left, Oid? right) => left is null ? (right is null ? 0 : -1) : left.CompareTo(right);
}
