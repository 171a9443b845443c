using System.Text.Json;
using Microsoft.Extensions.Logging;
using SegmentController.Core.Evidence;
using SegmentController.Proxy.Gate;

namespace SegmentController.Proxy.Access;

/// <summary>Writes the gate's refusals as access records every <see cref="GateRefusals.Interval"/>, and once more when the proxy stops.</summary>
internal sealed partial class GateRefusalWriter(GateRefusals refusals, AccessRecords records, TimeProvider time, ILogger<GateRefusalWriter> logger) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;

    public void Start() => _loop ??= Task.Run(RunAsync);

    /// <summary>Writes what has been gathered so far.</summary>
    public async Task FlushAsync()
    {
        foreach (var record in refusals.Drain())
        {
            var payload = JsonSerializer.SerializeToUtf8Bytes(record, AccessJsonContext.Default.GateRefusalRecord);
            try
            {
                await records.WriteUnboundedAsync(record.Client is null ? null : ClientKey.Of(record.Client), payload).ConfigureAwait(false);
            }
            catch (ArgumentException e)
            {
                Log.NotRecorded(logger, record.Client ?? ProxyOutcomes.UnknownClient, record.Connections, e);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        await FlushAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(GateRefusals.Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                await FlushAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Stopping: DisposeAsync writes the last window.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(ProxyEventIds.GateRefusalsNotRecorded, LogLevel.Error, "Gate refusals of {Client} ({Connections} connections) could not be recorded")]
        public static partial void NotRecorded(ILogger logger, string client, long connections, Exception exception);
    }
}
