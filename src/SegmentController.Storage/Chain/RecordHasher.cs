using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace SegmentController.Storage.Chain;

/// <summary>
/// The canonical encoding and hashes of the chain. A record's hash is
/// SHA-256("segctl-link-v1" ‖ content ‖ previous hash) where content is
/// SHA-256("segctl-record-v1" ‖ index ‖ time ‖ type ‖ clients ‖ SHA-256(payload)). Splitting content from
/// the link lets an export prove the chain across records it does not disclose, and lets a purge drop a
/// payload while the chain still verifies.
/// </summary>
internal static class RecordHasher
{
    public const int HashSize = 32;

    private const int MaxContentBytes = 16 + 8 + 8 + 1 + 64 + 1 + 2 + 2048 + HashSize;

    private static ReadOnlySpan<byte> RecordTag => "segctl-record-v1"u8;

    private static ReadOnlySpan<byte> LinkTag => "segctl-link-v1"u8;

    private static ReadOnlySpan<byte> StatementTag => "segctl-head-v1"u8;

    private static ReadOnlySpan<byte> TipTag => "segctl-tip-v1"u8;

    private static ReadOnlySpan<byte> EndorsementTag => "segctl-key-v1"u8;

    /// <summary>SHA-256 of a payload.</summary>
    public static void PayloadDigest(ReadOnlySpan<byte> payload, Span<byte> destination) =>
        Sha256.Hash(payload, destination);

    /// <summary>The content digest of a record (everything but the link to its predecessor).</summary>
    public static void ContentDigest(long index, long timeTicks, string type, string? clients, ReadOnlySpan<byte> payloadSha256, Span<byte> destination)
    {
        Span<byte> buffer = stackalloc byte[MaxContentBytes];
        var n = 0;
        RecordTag.CopyTo(buffer);
        n += RecordTag.Length;
        BinaryPrimitives.WriteInt64BigEndian(buffer[n..], index);
        n += 8;
        BinaryPrimitives.WriteInt64BigEndian(buffer[n..], timeTicks);
        n += 8;
        var typeLength = Encoding.UTF8.GetBytes(type, buffer[(n + 1)..(n + 1 + 64)]);
        buffer[n] = (byte)typeLength;
        n += 1 + typeLength;
        if (clients is null)
        {
            buffer[n++] = 0;
        }
        else
        {
            buffer[n++] = 1;
            var clientsLength = Encoding.UTF8.GetBytes(clients, buffer[(n + 2)..(n + 2 + 2048)]);
            BinaryPrimitives.WriteUInt16BigEndian(buffer[n..], (ushort)clientsLength);
            n += 2 + clientsLength;
        }

        payloadSha256.CopyTo(buffer[n..]);
        n += HashSize;
        Sha256.Hash(buffer[..n], destination);
    }

    /// <summary>Whether a type and client key fit the encoding (callers validate the spelling).</summary>
    public static bool Fits(string type, string? clients) =>
        Encoding.UTF8.GetByteCount(type) <= 64 && (clients is null || Encoding.UTF8.GetByteCount(clients) <= 2048);

    /// <summary>The chain hash from a content digest and the previous hash.</summary>
    public static void Link(ReadOnlySpan<byte> content, ReadOnlySpan<byte> previous, Span<byte> destination)
    {
        Span<byte> buffer = stackalloc byte[14 + HashSize + HashSize];
        LinkTag.CopyTo(buffer);
        content.CopyTo(buffer[14..]);
        previous.CopyTo(buffer[(14 + HashSize)..]);
        Sha256.Hash(buffer, destination);
    }

    /// <summary>
    /// The statement a checkpoint signs: "the chain through index has this hash". Versions before the
    /// <see cref="TipStatement"/> signed the head with it too.
    /// </summary>
    public static byte[] HeadStatement(long index, ReadOnlySpan<byte> hash) => Statement(StatementTag, index, hash);

    /// <summary>
    /// The statement the head signs: "the chain ends at index, with this hash". Apart from a checkpoint's, so
    /// that a checkpoint's signature (over the record before it) cannot be moved into the head of a chain cut
    /// just before that checkpoint.
    /// </summary>
    public static byte[] TipStatement(long index, ReadOnlySpan<byte> hash) => Statement(TipTag, index, hash);

    private static byte[] Statement(ReadOnlySpan<byte> tag, long index, ReadOnlySpan<byte> hash)
    {
        var buffer = new byte[tag.Length + 8 + HashSize];
        tag.CopyTo(buffer);
        BinaryPrimitives.WriteInt64BigEndian(buffer.AsSpan(tag.Length), index);
        hash.CopyTo(buffer.AsSpan(tag.Length + 8));
        return buffer;
    }

    /// <summary>The statement a previous key signs to endorse its successor.</summary>
    public static byte[] EndorsementStatement(ReadOnlySpan<byte> successorSpki)
    {
        var buffer = new byte[EndorsementTag.Length + successorSpki.Length];
        EndorsementTag.CopyTo(buffer);
        successorSpki.CopyTo(buffer.AsSpan(EndorsementTag.Length));
        return buffer;
    }
}
