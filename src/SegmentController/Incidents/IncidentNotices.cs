using SegmentController.Core.Incidents;

namespace SegmentController.Incidents;

/// <summary>
/// Sends incident notices in the background, for as long as they take (a receiver that is down is tried
/// again until the client's deadline), so that neither the incident service's queue nor an operator's
/// request waits on a webhook. Stops with the controller; notices not yet given resume at the next start
/// (<see cref="IncidentManager.PendingNotices"/>).
/// </summary>
internal sealed partial class IncidentNotices : IDisposable
{
    private readonly IncidentManager _incidents;
    private readonly ILogger<IncidentNotices> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private readonly HashSet<Task> _running = [];

    public IncidentNotices(IncidentManager incidents, ILogger<IncidentNotices> logger)
    {
        ArgumentNullException.ThrowIfNull(incidents);
        ArgumentNullException.ThrowIfNull(logger);
        _incidents = incidents;
        _logger = logger;
    }

    /// <summary>Starts (or joins) the notice of every client of the incident still waiting for one.</summary>
    public void Start(string id)
    {
        var task = Task.Run(
            async () =>
            {
                try
                {
                    await _incidents.NotifyAsync(id, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
                {
                }
                catch (Exception e)
                {
                    Log.NoticeFailed(_logger, id, e.Message);
                }
            },
            CancellationToken.None);
        lock (_lock)
        {
            _running.Add(task);
        }

        _ = task.ContinueWith(
            t =>
            {
                lock (_lock)
                {
                    _running.Remove(t);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Stops retrying and waits for attempts in flight to be recorded.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        Task[] running;
        lock (_lock)
        {
            running = [.. _running];
        }

        await Task.WhenAll(running).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose() => _stopping.Dispose();

    private static partial class Log
    {
        [LoggerMessage(EventIds.IncidentNoticeFailed, LogLevel.Error, "Notice of incident {Id} could not be completed: {Reason}")]
        public static partial void NoticeFailed(ILogger logger, string id, string reason);
    }
}
