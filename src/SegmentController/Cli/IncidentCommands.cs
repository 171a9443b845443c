using System.CommandLine;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Core.Incidents;
using SegmentController.Core.Policy;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Cli;

/// <summary><c>segctl incident report ID [--store PATH] [--json]</c>: the notice, from the latest snapshot in the chain.</summary>
internal static class IncidentCommands
{
    public static Command Create()
    {
        var command = new Command("incident", "Security incidents recorded in the evidence store.");
        var id = new Argument<string>("id") { Description = "The incident id (INC-…)." };
        var store = new Option<string>("--store") { Description = "The store file (SQLite).", DefaultValueFactory = _ => new StoreSettings().Path };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of Markdown." };
        var report = new Command("report", "Render the incident notice (Markdown, or JSON) with nature, clients, records concerned, notes, consequences, measures, the 8-hour deadline, notifications and timeline. Exit 0 found, 1 no such incident, 2 unreadable store.")
        {
            id,
            store,
            json,
        };
        report.SetAction((parseResult, cancellationToken) => Task.Run(
            () => Report(parseResult.GetValue(id)!, parseResult.GetValue(store)!, parseResult.GetValue(json), parseResult.InvocationConfiguration.Output, parseResult.InvocationConfiguration.Error, TimeProvider.System),
            cancellationToken));
        command.Subcommands.Add(report);
        return command;
    }

    internal static int Report(string id, string store, bool json, TextWriter output, TextWriter error, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(time);
        Incident? incident = null;
        ReadOnlyMemory<byte> raw = default;
        try
        {
            foreach (var record in StoreFile.Read(store, new RecordQuery { Type = RecordTypes.IncidentEvent }))
            {
                if (record.Payload is not { } payload || !Mentions(payload.Span, id))
                {
                    continue;
                }

                var candidate = IncidentJson.Read(payload);
                if (string.Equals(candidate.Id, id, StringComparison.Ordinal))
                {
                    (incident, raw) = (candidate, payload);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or FormatException)
        {
            error.WriteLine($"segctl: store {store} cannot be read: {e.Message}");
            return CliApplication.ExitError;
        }

        if (incident is null)
        {
            error.WriteLine($"segctl: no incident {id} in {store}");
            return CliApplication.ExitViolations;
        }

        if (json)
        {
            using var document = JsonDocument.Parse(raw);
            output.WriteLine(JsonSerializer.Serialize(document.RootElement, IndentedOptions));
        }
        else
        {
            output.Write(IncidentReport.Markdown(incident, time.GetUtcNow()));
        }

        return CliApplication.ExitClean;
    }

    private static readonly JsonSerializerOptions IndentedOptions = new() { WriteIndented = true };

    private static bool Mentions(ReadOnlySpan<byte> payload, string id) =>
        payload.IndexOf(System.Text.Encoding.UTF8.GetBytes(id)) >= 0;
}
