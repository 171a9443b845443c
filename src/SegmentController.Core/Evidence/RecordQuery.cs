namespace SegmentController.Core.Evidence;

/// <summary>Which records to read or export; every bound is optional and inclusive.</summary>
public sealed record RecordQuery
{
    /// <summary>Records sequenced at or after this time.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Records sequenced at or before this time.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Records that concern this client (alone or with others).</summary>
    public string? Client { get; init; }

    /// <summary>Records of this type.</summary>
    public string? Type { get; init; }

    /// <summary>
    /// Newest first: the matching records in reverse chain order, so that a reader after the latest few can
    /// stop without the older ones being read. Reads only: an export always runs in chain order.
    /// </summary>
    public bool NewestFirst { get; init; }

    /// <summary>Whether a record matches (time, client and type).</summary>
    public bool Matches(StoredRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return (From is null || record.Time >= From)
            && (To is null || record.Time <= To)
            && (Type is null || string.Equals(record.Type, Type, StringComparison.Ordinal))
            && (Client is null || ClientKey.Split(record.Clients).Contains(Client, StringComparer.Ordinal));
    }
}
