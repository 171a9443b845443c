using System.Runtime.CompilerServices;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Chain;

namespace SegmentController.Storage.Sqlite;

/// <summary>
/// A record waiting for its batch to commit. Its payload digest is computed by the caller that queued
/// it, on the caller's thread: the writer task, which every append goes through, only chains and inserts.
/// Who hears of the commit: an awaited append (<see cref="Done"/>), an observer told per batch
/// (<see cref="Observer"/>), or nobody (the writer's own records: checkpoints, rotations, purges).
/// </summary>
/// <remarks>The digest is kept inline: one allocation fewer per record.</remarks>
internal sealed class PendingAppend : PendingOperation
{
    private PendingAppend(string type, string? clients, byte[] payload, TaskCompletionSource<long>? done, IAppendObserver? observer)
    {
        Type = type;
        Clients = clients;
        Payload = payload;
        Done = done;
        Observer = observer;
        RecordHasher.PayloadDigest(payload, _payloadSha256);
    }

    public string Type { get; }

    public string? Clients { get; }

    public byte[] Payload { get; }

    public ReadOnlySpan<byte> PayloadSha256 => _payloadSha256;

    /// <summary>Completed with the record's index once durable (awaited appends only).</summary>
    public TaskCompletionSource<long>? Done { get; }

    /// <summary>Told per batch (handed-over records only).</summary>
    public IAppendObserver? Observer { get; }

    public static PendingAppend Awaited(string type, string? clients, byte[] payload) =>
        new(type, clients, payload, new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously), null);

    public static PendingAppend Observed(string type, string? clients, byte[] payload, IAppendObserver observer) =>
        new(type, clients, payload, null, observer);

    public static PendingAppend Internal(string type, byte[] payload) => new(type, null, payload, null, null);

    public override void Fail(Exception error) => Done?.TrySetException(error);

    private Digest _payloadSha256;

    [InlineArray(RecordHasher.HashSize)]
    private struct Digest
    {
        private byte _first;
    }
}
