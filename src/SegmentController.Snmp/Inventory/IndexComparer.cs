namespace SegmentController.Snmp.Inventory;

/// <summary>Compares table indexes (sub-identifier arrays) by value.</summary>
internal sealed class IndexComparer : IEqualityComparer<uint[]>
{
    public static IndexComparer Instance { get; } = new();

    public bool Equals(uint[]? x, uint[]? y) => x is null ? y is null : y is not null && x.AsSpan().SequenceEqual(y);

    public int GetHashCode(uint[] obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var hash = new HashCode();
        foreach (var arc in obj)
        {
            hash.Add(arc);
        }

        return hash.ToHashCode();
    }
}
