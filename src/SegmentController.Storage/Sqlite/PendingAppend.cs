using System.Runtime.CompilerServices;
using SegmentController.Storage.Chain;

namespace SegmentController.Storage.Sqlite;

/// <summary>
/// A record waiting for its batch to commit. Its payload digest and client key bytes are computed by the
/// caller that queued it, on the caller's thread: the writer task, which every append goes through, only
/// chains and inserts.
/// </summary>
/// <remarks>The digest is kept inline: one allocation fewer per record.</remarks>
internal sealed class PendingAppend : PendingOperation
{
    public PendingAppend(string type, string? clients, byte[] payload)
    {
        Type = type;
        Clients = clients;
        Payload = payload;
        RecordHasher.PayloadDigest(payload, _payloadSha256);
    }

    public string Type { get; }

    public string? Clients { get; }

    public byte[] Payload { get; }

    public ReadOnlySpan<byte> PayloadSha256 => _payloadSha256;

    public TaskCompletionSource<long> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override void Fail(Exception error) => Done.TrySetException(error);

    private Digest _payloadSha256;

    [InlineArray(RecordHasher.HashSize)]
    private struct Digest
    {
        private byte _first;
    }
}
