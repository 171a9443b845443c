using Microsoft.AspNetCore.Http;

namespace SegmentController.Proxy.Tests.Infrastructure;

/// <summary>
/// Holds each request whose path starts with <see cref="Path"/> between its route's match and the proxy's decision
/// (<see cref="ProxyHarness.StartAsync"/>'s <c>afterRouting</c>) until <see cref="Release"/>.
/// </summary>
internal sealed class HeldAfterRouting
{
    public const string Path = "/held";

    private readonly TaskCompletionSource _routed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The hook to give the harness.</summary>
    public async Task Hook(HttpContext context)
    {
        if (context.Request.Path.StartsWithSegments(Path, StringComparison.Ordinal))
        {
            _routed.TrySetResult();
            await _release.Task;
        }
    }

    /// <summary>Waits until a held request has been routed.</summary>
    public Task Routed() => _routed.Task.WaitAsync(TimeSpan.FromMinutes(1));

    public void Release() => _release.TrySetResult();
}
