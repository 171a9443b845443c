using System.Globalization;
using System.IO.Compression;
using Microsoft.Data.Sqlite;

namespace SegmentController.Storage.Sqlite;

/// <summary>
/// How a row keeps its payload (the <c>encoding</c> column, schema 4): null, as written; <see cref="Deflate"/>,
/// compressed with raw DEFLATE (RFC 1951). The chain covers the payload as written, never its stored form:
/// <c>payload_sha256</c> is the digest of the inflated bytes, reads and exports return them, and verification
/// inflates each such row before it digests it. A stored form edited to inflate to anything else fails that
/// digest; one that does not inflate, inflates past <see cref="MaxInflatedBytes"/>, or names an encoding this
/// version does not know is reported as such, for that row.
/// </summary>
/// <remarks>
/// The writer deflates the rows that join handed-over entries (the proxy's access records) of at least
/// <see cref="MinBytes"/>: a JSON array of records of one client that share their field names and most of their
/// values, which deflates to about a tenth — a tenth of the bytes through the WAL, the checkpoints and the disk,
/// and of the disk a store holds for its retention. Every other record is kept as written.
/// </remarks>
internal static class PayloadEncoding
{
    /// <summary>The <c>encoding</c> column's value for a deflated payload.</summary>
    public const string Deflate = "deflate";

    /// <summary>Rows shorter than this are kept as written: a record or two deflates to little less.</summary>
    public const int MinBytes = 1024;

    /// <summary>
    /// The largest payload a reader inflates (16 MiB): the writer keeps larger rows as written, so a deflated row
    /// that inflates past it has been edited, and its reader stops there instead of filling memory.
    /// </summary>
    public const int MaxInflatedBytes = 16 << 20;

    /// <summary>
    /// The encoding an <c>encoding</c> column's UTF-8 bytes name: <see cref="Deflate"/> without allocating, anything else
    /// from at most its first 64 bytes (enough to name it; an edited column may hold megabytes).
    /// </summary>
    public static string Name(ReadOnlySpan<byte> utf8) =>
        utf8.SequenceEqual("deflate"u8) ? Deflate : System.Text.Encoding.UTF8.GetString(utf8[..Math.Min(utf8.Length, 64)]);

    /// <summary>The payload as written, from its stored form.</summary>
    /// <exception cref="InvalidOperationException">It cannot be read back (the message names the record and why).</exception>
    public static byte[] Decode(long index, byte[] stored, string? encoding) =>
        TryDecode(stored, encoding, out var payload, out var problem)
            ? payload
            : throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"record {index}'s stored payload cannot be read: {problem}; run 'segctl log verify'"));

    /// <summary>The payload as written of the current row (its stored form and encoding in the columns given), or null when it has none or it cannot be read back.</summary>
    public static byte[]? Read(SqliteDataReader reader, int payload, int encoding)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return reader.GetValue(payload) is byte[] stored && TryDecode(stored, reader.IsDBNull(encoding) ? null : reader.GetString(encoding), out var decoded, out _)
            ? decoded
            : null;
    }

    private static bool TryDecode(byte[] stored, string? encoding, out byte[] payload, out string? problem)
    {
        if (encoding is null)
        {
            (payload, problem) = (stored, null);
            return true;
        }

        var buffer = Array.Empty<byte>();
        var inflated = TryInflate(stored, encoding, ref buffer, 0, out var length, out problem);
        payload = inflated ? buffer.AsSpan(0, length).ToArray() : [];
        return inflated;
    }

    /// <summary>
    /// Inflates <paramref name="stored"/> (kept as <paramref name="encoding"/>) into <paramref name="buffer"/> from
    /// <paramref name="offset"/>, growing it as needed; false, with the reason, when it cannot.
    /// </summary>
    public static unsafe bool TryInflate(ReadOnlySpan<byte> stored, string encoding, ref byte[] buffer, int offset, out int length, out string? problem)
    {
        length = 0;
        if (encoding != Deflate)
        {
            problem = $"payload kept in an encoding this version does not know ('{Printable(encoding)}')";
            return false;
        }

        // One byte past the limit is read, to tell a payload of exactly the limit from a longer one.
        const int Limit = MaxInflatedBytes + 1;
        try
        {
            // Read where it lies (SQLite's row, or the caller's array): no copy of the stored form. An empty one
            // (an edited row) has no address to read from, and inflates to nothing.
            byte none = 0;
            fixed (byte* start = stored)
            {
                using var input = new UnmanagedMemoryStream(stored.IsEmpty ? &none : start, stored.Length);
                using var inflate = new DeflateStream(input, CompressionMode.Decompress);
                while (length < Limit)
                {
                    if (offset + length == buffer.Length)
                    {
                        // At least doubled, as a shared buffer (verification's batch) grows for a copied column, so
                        // that a batch of deflated rows does not copy what it already holds row after row.
                        var wanted = offset + Math.Min(Math.Max(length * 2, (4 * stored.Length) + 4096), Limit);
                        Array.Resize(ref buffer, Math.Min(Math.Max(buffer.Length * 2, wanted), offset + Limit));
                    }

                    var read = inflate.Read(buffer, offset + length, Math.Min(buffer.Length - offset, Limit) - length);
                    if (read == 0)
                    {
                        break;
                    }

                    length += read;
                }
            }

            if (length > MaxInflatedBytes)
            {
                problem = string.Create(CultureInfo.InvariantCulture, $"deflated payload inflates past {MaxInflatedBytes} bytes");
                return false;
            }
        }
        catch (InvalidDataException)
        {
            problem = "deflated payload does not inflate (not DEFLATE data)";
            return false;
        }

        problem = null;
        return true;
    }

    private static string Printable(string value) =>
        value.Length <= 40 && value.All(c => c is >= ' ' and <= '~') ? value : "an unprintable value";
}
