namespace SegmentController.Storage.Sqlite;

/// <summary>A checkpoint, purge or key rotation, run by the writer between batches.</summary>
internal sealed class PendingControl(Func<object> run) : PendingOperation
{
    public Func<object> Run { get; } = run;

    public TaskCompletionSource<object> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override void Fail(Exception error) => Done.TrySetException(error);
}
