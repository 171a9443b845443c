namespace SegmentController.Proxy.Tests.Infrastructure;

/// <summary>One TCP connection an <see cref="UpstreamServer"/> accepted.</summary>
internal sealed class UpstreamConnection(string id)
{
    public string Id { get; } = id;

    /// <summary>Completes once the connection ended: the peer closed (FIN) or reset (RST) it, or the server stopped.</summary>
    public TaskCompletionSource Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsClosed => Closed.Task.IsCompleted;
}
