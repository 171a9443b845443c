using System.Text;

namespace SegmentController.Storage.Sqlite;

/// <summary>
/// Turns the UTF-8 bytes of a column into a string without allocating one per row: record types and
/// client keys repeat across millions of records. Bounded (a hostile store of all-distinct values just
/// stops being cached).
/// </summary>
internal sealed class Utf8StringCache
{
    private const int MaxEntries = 4096;

    private readonly Dictionary<int, List<(byte[] Bytes, string Text)>> _entries = [];
    private int _count;

    public string Get(ReadOnlySpan<byte> utf8)
    {
        var hash = new HashCode();
        hash.AddBytes(utf8);
        var key = hash.ToHashCode();
        if (_entries.TryGetValue(key, out var bucket))
        {
            foreach (var (bytes, text) in bucket)
            {
                if (utf8.SequenceEqual(bytes))
                {
                    return text;
                }
            }
        }

        var decoded = Encoding.UTF8.GetString(utf8);
        if (_count < MaxEntries)
        {
            if (bucket is null)
            {
                bucket = [];
                _entries.Add(key, bucket);
            }

            bucket.Add((utf8.ToArray(), decoded));
            _count++;
        }

        return decoded;
    }
}
