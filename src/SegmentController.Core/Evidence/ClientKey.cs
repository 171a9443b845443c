namespace SegmentController.Core.Evidence;

/// <summary>
/// The canonical spelling of the clients a record concerns: ids sorted ordinally and joined with ','.
/// It is hashed into the record and decides retention, so every writer must spell it the same way.
/// </summary>
public static class ClientKey
{
    /// <summary>Longest accepted key.</summary>
    public const int MaxLength = 1024;

    /// <summary>The key for these clients, or null when the list is empty (a site-wide record).</summary>
    /// <exception cref="ArgumentException">An id is empty or contains characters outside [A-Za-z0-9._-].</exception>
    public static string? Of(IEnumerable<string> clients)
    {
        ArgumentNullException.ThrowIfNull(clients);
        var ids = clients.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (ids.Length == 0)
        {
            return null;
        }

        foreach (var id in ids)
        {
            if (!IsValidId(id))
            {
                throw new ArgumentException($"client id '{id}' is not usable in the store", nameof(clients));
            }
        }

        var key = string.Join(',', ids);
        return key.Length > MaxLength ? throw new ArgumentException("too many clients for one record", nameof(clients)) : key;
    }

    /// <summary>The key for one client: its id (what <see cref="Of(IEnumerable{string})"/> gives for one, without sorting).</summary>
    /// <exception cref="ArgumentException">The id is empty or contains characters outside [A-Za-z0-9._-].</exception>
    public static string Of(string client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return IsValidId(client) ? client : throw new ArgumentException($"client id '{client}' is not usable in the store", nameof(client));
    }

    /// <summary>Splits a key back into ids (none for null).</summary>
    public static IReadOnlyList<string> Split(string? key) =>
        string.IsNullOrEmpty(key) ? [] : key.Split(',');

    /// <summary>Whether <paramref name="key"/> is already canonical (what the store accepts verbatim).</summary>
    public static bool IsCanonical(string? key)
    {
        if (key is null)
        {
            return true;
        }

        if (key.Length is 0 or > MaxLength)
        {
            return false;
        }

        // Checked in place (every append checks its key): ids valid, sorted, distinct.
        ReadOnlySpan<char> rest = key;
        ReadOnlySpan<char> previous = default;
        while (true)
        {
            var comma = rest.IndexOf(',');
            var id = comma < 0 ? rest : rest[..comma];
            if (!IsValidId(id) || (!previous.IsEmpty && previous.SequenceCompareTo(id) >= 0))
            {
                return false;
            }

            if (comma < 0)
            {
                return true;
            }

            previous = id;
            rest = rest[(comma + 1)..];
        }
    }

    /// <summary>Whether <paramref name="id"/> can name a client in the store: 1 to 64 of [A-Za-z0-9._-].</summary>
    public static bool IsValid(string id) => id is not null && IsValidId(id);

    private static bool IsValidId(ReadOnlySpan<char> id)
    {
        if (id.Length is 0 or > 64)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
