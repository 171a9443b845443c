using System.CommandLine;
using System.Globalization;

namespace SegmentController.Cli;

/// <summary>
/// Progress of a long operator command on standard error: an elapsed-time line while the controller
/// works (rewritten in place on a terminal, a line every few seconds otherwise), lines for steps as they
/// complete, and the total time at the end. Shown when standard error is a terminal or with
/// <c>--progress</c>; standard output (the result, or <c>--json</c>) never carries any of it.
/// </summary>
internal sealed class CliProgress : IAsyncDisposable
{
    private const string ClearLine = "\r\u001b[K";

    private readonly TextWriter _error;
    private readonly string _label;
    private readonly bool _interactive;
    private readonly TimeSpan _interval;
    private readonly TimeProvider _time;
    private readonly long _started;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _ticker;
    private string _status;
    private bool _tickShown;

    private CliProgress(TextWriter error, string label, string status, bool enabled, bool interactive, TimeSpan interval, TimeProvider time)
    {
        _error = error;
        _label = label;
        _status = status;
        Enabled = enabled;
        _interactive = interactive;
        _interval = interval;
        _time = time;
        _started = time.GetTimestamp();
        _ticker = enabled ? TickAsync() : Task.CompletedTask;
    }

    /// <summary>True when progress is shown.</summary>
    public bool Enabled { get; }

    /// <summary>Time since the operation started.</summary>
    public TimeSpan Elapsed => _time.GetElapsedTime(_started);

    /// <summary>The <c>--progress</c> option of long operator commands.</summary>
    public static Option<bool> CreateOption() => new("--progress")
    {
        Description = "Show progress on standard error even when it is not a terminal (on a terminal it is shown anyway). Standard output keeps only the result.",
    };

    /// <summary>Starts showing progress of <paramref name="label"/> (e.g. "suspend alpha") if wanted.</summary>
    public static CliProgress Start(bool requested, TextWriter error, string label, string status)
    {
        ArgumentNullException.ThrowIfNull(error);
        var terminal = ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected;
        return Start(error, label, status, requested || terminal, terminal, terminal ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(5), TimeProvider.System);
    }

    /// <summary>Starts with every choice explicit (tests).</summary>
    internal static CliProgress Start(TextWriter error, string label, string status, bool enabled, bool interactive, TimeSpan interval, TimeProvider time) =>
        new(error, label, status, enabled, interactive, interval, time);

    /// <summary>What the controller is doing now, shown with the elapsed time.</summary>
    public void Status(string status)
    {
        lock (_lock)
        {
            _status = status;
        }
    }

    /// <summary>A step that completed: its own line.</summary>
    public void Line(string text)
    {
        if (!Enabled)
        {
            return;
        }

        lock (_lock)
        {
            ClearTick();
            _error.WriteLine($"{_label}: {text}");
            _error.Flush();
        }
    }

    /// <summary>Takes the elapsed-time line off a terminal before something is written to standard output.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            ClearTick();
        }
    }

    /// <summary>Ends the progress with the total time: "LABEL: SUMMARY in N s".</summary>
    public async Task DoneAsync(string summary)
    {
        await StopAsync();
        if (!Enabled)
        {
            return;
        }

        lock (_lock)
        {
            ClearTick();
            _error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{_label}: {summary} in {Elapsed.TotalSeconds:0.000} s"));
            _error.Flush();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        lock (_lock)
        {
            ClearTick();
        }

        _stop.Dispose();
    }

    private async Task StopAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }

        await _ticker;
    }

    private async Task TickAsync()
    {
        try
        {
            while (true)
            {
                await Task.Delay(_interval, _time, _stop.Token);
                lock (_lock)
                {
                    if (_stop.IsCancellationRequested)
                    {
                        return;
                    }

                    var line = string.Create(CultureInfo.InvariantCulture, $"{_label}: {_status}… {Elapsed.TotalSeconds:0} s");
                    if (_interactive)
                    {
                        _error.Write(ClearLine + line);
                        _tickShown = true;
                    }
                    else
                    {
                        _error.WriteLine(line);
                    }

                    _error.Flush();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Done.
        }
    }

    private void ClearTick()
    {
        if (_tickShown && _interactive)
        {
            _error.Write(ClearLine);
            _tickShown = false;
        }
    }
}
