namespace SegmentController.Storage.Sqlite;

/// <summary>An append waiting for its batch to commit.</summary>
internal sealed class PendingAppend(string type, string? clients, byte[] payload) : PendingOperation
{
    public string Type { get; } = type;

    public string? Clients { get; } = clients;

    public byte[] Payload { get; } = payload;

    public TaskCompletionSource<long> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override void Fail(Exception error) => Done.TrySetException(error);
}
