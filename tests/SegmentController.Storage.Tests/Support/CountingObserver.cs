using SegmentController.Core.Evidence;

namespace SegmentController.Storage.Tests.Support;

/// <summary>An append observer that keeps every report it hears, in order, and lets a test wait for totals.</summary>
public sealed class CountingObserver : IAppendObserver
{
    private readonly Lock _gate = new();
    private readonly List<int> _committed = [];
    private readonly List<int> _failed = [];
    private readonly List<int> _retrying = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The count of each <see cref="IAppendObserver.Committed"/> report, in order.</summary>
    public IReadOnlyList<int> CommittedReports
    {
        get
        {
            lock (_gate)
            {
                return [.. _committed];
            }
        }
    }

    /// <summary>The count of each <see cref="IAppendObserver.Failed"/> report, in order.</summary>
    public IReadOnlyList<int> FailedReports
    {
        get
        {
            lock (_gate)
            {
                return [.. _failed];
            }
        }
    }

    /// <summary>The count of each <see cref="IAppendObserver.Retrying"/> report, in order.</summary>
    public IReadOnlyList<int> RetryingReports
    {
        get
        {
            lock (_gate)
            {
                return [.. _retrying];
            }
        }
    }

    public void Committed(int count) => Add(_committed, count);

    public void Retrying(int count, StoreUnavailableException reason) => Add(_retrying, count);

    public void Failed(int count, StoreUnavailableException reason) => Add(_failed, count);

    /// <summary>
    /// Waits until the reports add up to <paramref name="committed"/> committed and <paramref name="failed"/>
    /// failed records, and at least <paramref name="retryingReports"/> retrying reports came.
    /// </summary>
    public async Task WaitForAsync(int committed, int failed = 0, int retryingReports = 0)
    {
        // A guard against a hang only, far beyond any window a test sets: the behaviour is what is asserted.
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_committed.Sum() >= committed && _failed.Sum() >= failed && _retrying.Count >= retryingReports)
                {
                    return;
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(guard.Token);
        }
    }

    private void Add(List<int> reports, int count)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            reports.Add(count);
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }
}
