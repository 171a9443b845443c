namespace SegmentController.Core.Tests.Suspension;

/// <summary>
/// A clock that moves only when told to. Its timers (and so <see cref="Task.Delay(TimeSpan, TimeProvider, CancellationToken)"/>
/// on it) fire when <see cref="Advance"/> reaches their due time, never on their own.
/// </summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<ManualTimer> _timers = [];
    private readonly AsyncLocal<TaskCompletionSource?> _watched = new();
    private DateTimeOffset _now = new(2026, 11, 1, 8, 0, 0, TimeSpan.Zero);
    private long _timestamp;

    public override DateTimeOffset GetUtcNow()
    {
        _watched.Value?.TrySetResult();
        lock (_lock)
        {
            return _now;
        }
    }

    public override long GetTimestamp() => Interlocked.Read(ref _timestamp);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <summary>
    /// Runs <paramref name="work"/> on the thread pool, watched: <c>NowRead</c> completes the first time the work
    /// (or anything it awaits or starts) reads the time of day, <c>Work</c> when the work ends.
    /// </summary>
    public (Task<T> Work, Task NowRead) RunWatchingNow<T>(Func<Task<T>> work)
    {
        var read = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var task = Task.Run(() =>
        {
            _watched.Value = read;
            return work();
        });
        return (task, read.Task);
    }

    /// <summary>Timers waiting to fire (created, not disposed, with a due time).</summary>
    public int PendingTimers
    {
        get
        {
            lock (_lock)
            {
                return _timers.Count(t => t.Due is not null);
            }
        }
    }

    /// <summary>The timers waiting to fire, to tell one from another.</summary>
    public IReadOnlyList<ITimer> Pending()
    {
        lock (_lock)
        {
            return [.. _timers.Where(t => t.Due is not null)];
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new ManualTimer(this, callback, state);
        lock (_lock)
        {
            _timers.Add(timer);
        }

        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Moves the clock on, firing (in due order) every timer due by then.</summary>
    public void Advance(TimeSpan by)
    {
        DateTimeOffset until;
        lock (_lock)
        {
            until = _now + by;
        }

        while (true)
        {
            ManualTimer? next;
            lock (_lock)
            {
                next = _timers.Where(t => t.Due <= until).MinBy(t => t.Due);
                var to = next?.Due ?? until;
                Interlocked.Add(ref _timestamp, (to - _now).Ticks);
                _now = to;
                if (next is null)
                {
                    return;
                }

                next.Due = next.Period is { } period ? _now + period : null;
            }

            next.Fire();
        }
    }

    /// <summary>
    /// Waits (in real time, up to <paramref name="timeout"/>) for a timer to be set, then moves the clock to
    /// the first one's due time and fires it. Returns how far the clock moved.
    /// </summary>
    public async Task<TimeSpan> FireNextTimerAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            TimeSpan? wait;
            lock (_lock)
            {
                wait = _timers.Where(t => t.Due is not null).Min(t => t.Due) - _now;
            }

            if (wait is { } by)
            {
                Advance(by);
                return by;
            }

            Assert.True(DateTime.UtcNow < deadline, $"no timer was set within {timeout}");
            await Task.Delay(10);
        }
    }

    private sealed class ManualTimer(ManualTimeProvider clock, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset? Due { get; set; }

        public TimeSpan? Period { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._lock)
            {
                if (!clock._timers.Contains(this))
                {
                    return false;
                }

                Due = dueTime == Timeout.InfiniteTimeSpan ? null : clock._now + dueTime;
                Period = period == Timeout.InfiniteTimeSpan || period == TimeSpan.Zero ? null : period;
                return true;
            }
        }

        public void Fire() => callback(state);

        public void Dispose()
        {
            lock (clock._lock)
            {
                clock._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
