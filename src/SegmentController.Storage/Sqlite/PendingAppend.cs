using System.Runtime.CompilerServices;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Chain;

namespace SegmentController.Storage.Sqlite;

/// <summary>
/// A record waiting for its batch to commit. Who hears of the commit: an awaited append
/// (<see cref="Done"/>), an observer told per batch (<see cref="Observer"/>), or nobody (the writer's own
/// records: checkpoints, rotations, purges; and the rows the writer makes of handed-over entries).
/// </summary>
/// <remarks>
/// An awaited append's payload digest is computed by the caller that queued it, on the caller's thread,
/// so the writer task, which every append goes through, only chains and inserts. A handed-over entry has
/// no digest of its own: the writer joins a batch's entries into rows (<see cref="Coalesced"/>) and
/// digests those. The digest is kept inline: one allocation fewer per record.
/// </remarks>
internal sealed class PendingAppend : PendingOperation
{
    // Set for a handed-over entry kept for reuse (HandOverEntries): its payload is a prefix of this buffer.
    private readonly byte[]? _buffer;

    private PendingAppend(byte[] buffer)
    {
        _buffer = buffer;
        Type = "";
    }

    private PendingAppend(string type, string? clients, ReadOnlyMemory<byte> payload, TaskCompletionSource<long>? done, IAppendObserver? observer)
    {
        Type = type;
        Clients = clients;
        Payload = payload;
        Done = done;
        Observer = observer;
        if (observer is null)
        {
            RecordHasher.PayloadDigest(payload.Span, _payloadSha256);
            Entries = ArrayEntries.Count(payload.Span);
        }
    }

    public string Type { get; private set; }

    public string? Clients { get; private set; }

    public ReadOnlyMemory<byte> Payload { get; private set; }

    /// <summary>The payload's digest (not computed for a handed-over entry, which is never a row itself).</summary>
    public ReadOnlySpan<byte> PayloadSha256 => _payloadSha256;

    /// <summary>The row's <c>entries</c> column: the elements of its payload when that is a JSON array (<see cref="ArrayEntries"/>), else null.</summary>
    public int? Entries { get; }

    /// <summary>A row joining handed-over entries: the writer may keep its payload deflated (<see cref="PayloadEncoding"/>).</summary>
    public bool Deflatable { get; private init; }

    /// <summary>Completed with the record's index once durable (awaited appends only).</summary>
    public TaskCompletionSource<long>? Done { get; }

    /// <summary>Told per batch (handed-over entries only).</summary>
    public IAppendObserver? Observer { get; private set; }

    public static PendingAppend Awaited(string type, string? clients, byte[] payload) =>
        new(type, clients, payload, new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously), null);

    public static PendingAppend Observed(string type, string? clients, byte[] payload, IAppendObserver observer) =>
        new(type, clients, payload, null, observer);

    public static PendingAppend Internal(string type, byte[] payload) => new(type, null, payload, null, null);

    /// <summary>A row joining handed-over entries into one JSON array (<paramref name="payload"/>, in a buffer the writer reuses after the commit).</summary>
    public static PendingAppend Coalesced(string type, string? clients, ReadOnlyMemory<byte> payload) =>
        new(type, clients, payload, null, null) { Deflatable = true };

    /// <summary>True for a handed-over entry whose payload buffer may be filled again once its batch committed.</summary>
    public bool IsReusable => _buffer is not null;

    /// <summary>A handed-over entry with a payload buffer of <paramref name="bytes"/>, to be filled (<see cref="Fill"/>).</summary>
    public static PendingAppend Reusable(int bytes) => new(new byte[bytes]);

    /// <summary>Makes this reusable entry the hand-over of <paramref name="payload"/> (copied: the caller may reuse its memory).</summary>
    public void Fill(string type, string? clients, ReadOnlySpan<byte> payload, IAppendObserver observer)
    {
        var buffer = _buffer ?? throw new InvalidOperationException("not a reusable entry");
        payload.CopyTo(buffer);
        Type = type;
        Clients = clients;
        Payload = buffer.AsMemory(0, payload.Length);
        Observer = observer;
    }

    /// <summary>Lets go of what the last hand-over referred to (its observer, its type and key).</summary>
    public void Clear()
    {
        Type = "";
        Clients = null;
        Payload = default;
        Observer = null;
    }

    public override void Fail(Exception error) => Done?.TrySetException(error);

    private Digest _payloadSha256;

    [InlineArray(RecordHasher.HashSize)]
    private struct Digest
    {
        private byte _first;
    }
}
