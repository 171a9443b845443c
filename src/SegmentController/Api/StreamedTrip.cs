using System.Text.Json;
using SegmentController.Core.Suspension;

namespace SegmentController.Api;

/// <summary>
/// The answer to a suspend asked for with <c>Accept: application/x-ndjson</c>: one JSON object per line,
/// <c>{"acknowledged": ANSWER}</c> as soon as the trip is durable and the proxy's local stages ran, a
/// <c>{"stage": {…}}</c> line per enforcement stage as it completes (switch ports and webhooks follow the
/// acknowledgement), <c>{"progress": "…"}</c> about every second while stages are still running, and
/// last <c>{"result": ANSWER}</c> with every stage. ANSWER is the buffered answer's object
/// (<c>created</c>, <c>suspension</c>, <c>stages_complete</c>, <c>record_index</c>). The trip does not depend
/// on the connection: an operator who goes away stops the stream, not the enforcement.
/// </summary>
internal sealed class StreamedTrip(TripResult trip, long? recordIndex, TripProgress progress, TimeProvider time) : IResult
{
    /// <summary>How long the answer waits for the remaining stages before it ends with what it has.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(2);

    private static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(1);

    /// <summary>The answer object of a suspend (buffered, or the acknowledged and result lines of a stream).</summary>
    public static void WriteAnswer(Utf8JsonWriter w, bool created, SuspensionRecord record, long? recordIndex)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(record);
        w.WriteStartObject();
        w.WriteBoolean("created", created);
        w.WritePropertyName("suspension");
        ApiJson.WriteSuspension(w, record);
        w.WriteBoolean("stages_complete", IsComplete(record));
        w.WritePropertyName("record_index");
        if (recordIndex is { } index)
        {
            w.WriteNumberValue(index);
        }
        else
        {
            w.WriteNullValue();
        }

        w.WriteEndObject();
    }

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var response = httpContext.Response;
        var aborted = httpContext.RequestAborted;
        response.StatusCode = trip.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK;
        response.ContentType = AuditEndpoints.NdjsonMediaType;
        using var watcher = progress.Watch(trip.Record.Id);
        try
        {
            await WriteLineAsync(response, w => Property(w, "acknowledged", a => WriteAnswer(a, trip.Created, trip.Record, recordIndex)), aborted);
            var sent = new HashSet<SuspensionStage>();
            foreach (var stage in trip.Record.Stages)
            {
                await SendStageAsync(response, stage, sent, aborted);
            }

            var final = trip.Record;
            if (trip.Created)
            {
                final = await FollowAsync(response, watcher, sent, aborted);
            }

            await WriteLineAsync(response, w => Property(w, "result", a => WriteAnswer(a, trip.Created, final, recordIndex)), aborted);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The operator went away; the trip goes on and is recorded all the same.
        }
    }

    /// <summary>Streams stages as the engine completes them until the trip's completion (or <see cref="MaxWait"/>).</summary>
    private async Task<SuspensionRecord> FollowAsync(HttpResponse response, TripProgress.Watcher watcher, HashSet<SuspensionStage> sent, CancellationToken aborted)
    {
        var started = time.GetTimestamp();
        var completion = trip.Completion;
        var stages = new List<StageTiming>(trip.Record.Stages);
        Task<bool>? waiting = null;
        while (!completion.IsCompleted && time.GetElapsedTime(started) < MaxWait)
        {
            waiting ??= watcher.Stages.WaitToReadAsync(aborted).AsTask();
            var tick = Task.Delay(HeartbeatInterval, time, aborted);
            await Task.WhenAny(waiting, completion, tick);
            aborted.ThrowIfCancellationRequested();
            if (waiting.IsCompleted)
            {
                waiting = null;
                while (watcher.Stages.TryRead(out var stage))
                {
                    stages.Add(stage);
                    await SendStageAsync(response, stage, sent, aborted);
                }
            }
            else if (tick.IsCompleted && !completion.IsCompleted)
            {
                var elapsed = time.GetElapsedTime(started);
                await WriteLineAsync(response, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("progress", string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{string.Join(", ", Remaining(sent))}: running for {elapsed.TotalSeconds:0} s"));
                    w.WriteEndObject();
                }, aborted);
            }
        }

        if (completion.IsCompletedSuccessfully)
        {
            var final = completion.Result;
            foreach (var stage in final.Stages)
            {
                await SendStageAsync(response, stage, sent, aborted);
            }

            return final;
        }

        // Still running (a switch or a webhook slow to answer), or the controller stopping: the answer
        // says which stages are known; GET /status shows the rest when they complete.
        return trip.Record with { Stages = stages };
    }

    private static IEnumerable<string> Remaining(HashSet<SuspensionStage> sent) =>
        new[] { SuspensionStage.SwitchPorts, SuspensionStage.Webhooks }.Where(s => !sent.Contains(s)).Select(SuspensionNames.Of);

    private static bool IsComplete(SuspensionRecord record) =>
        record.Stages.Any(s => s.Stage == SuspensionStage.Webhooks);

    private static async Task SendStageAsync(HttpResponse response, StageTiming stage, HashSet<SuspensionStage> sent, CancellationToken aborted)
    {
        if (!sent.Add(stage.Stage))
        {
            return;
        }

        await WriteLineAsync(response, w =>
        {
            w.WriteStartObject();
            w.WritePropertyName("stage");
            ApiJson.WriteStage(w, stage);
            w.WriteEndObject();
        }, aborted);
    }

    private static void Property(Utf8JsonWriter w, string name, Action<Utf8JsonWriter> value)
    {
        w.WriteStartObject();
        w.WritePropertyName(name);
        value(w);
        w.WriteEndObject();
    }

    private static async Task WriteLineAsync(HttpResponse response, Action<Utf8JsonWriter> write, CancellationToken aborted)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        buffer.WriteByte((byte)'\n');
        await response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), aborted);
        await response.Body.FlushAsync(aborted);
    }
}
