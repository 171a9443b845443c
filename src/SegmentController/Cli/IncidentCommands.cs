using System.CommandLine;
using System.Net;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Core.Incidents;
using SegmentController.Core.Policy;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Cli;

/// <summary>
/// <c>segctl incident report ID [--store PATH] [--json]</c>: the notice, from the latest snapshot in the chain;
/// and over the operator API, <c>segctl incident open --client ID… --nature TEXT [--reason TEXT]</c>,
/// <c>segctl incident note ID --text TEXT</c>, <c>segctl incident consequences ID --text TEXT</c> and
/// <c>segctl incident close ID --reason TEXT</c>. Exit 0 done, 2 error (unknown incident included).
/// </summary>
internal static class IncidentCommands
{
    public static Command Create()
    {
        var command = new Command("incident", "Security incidents recorded in the evidence store.");
        var id = new Argument<string>("id") { Description = "The incident id (INC-…)." };
        var store = new Option<string>("--store") { Description = "The store file (SQLite).", DefaultValueFactory = _ => new StoreSettings().Path };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of Markdown." };
        var report = new Command("report", "Render the incident notice (Markdown, or JSON) with nature, clients, records concerned, notes, consequences, measures, the 8-hour deadline per client, notifications and timeline. Exit 0 found, 2 no such incident or unreadable store.")
        {
            id,
            store,
            json,
        };
        report.SetAction((parseResult, cancellationToken) => Task.Run(
            () => Report(parseResult.GetValue(id)!, parseResult.GetValue(store)!, parseResult.GetValue(json), parseResult.InvocationConfiguration.Output, parseResult.InvocationConfiguration.Error, TimeProvider.System),
            cancellationToken));
        command.Subcommands.Add(report);
        command.Subcommands.Add(CreateOpen());
        command.Subcommands.Add(CreateChange("note", "Add an investigation note (your name is recorded with it). Needs any role but viewer.", "--text", "The note.", HttpMethod.Post, "notes", "note"));
        command.Subcommands.Add(CreateChange("consequences", "Set the likely consequences as assessed (recorded with your name). Needs the operator or admin role.", "--text", "The likely consequences.", HttpMethod.Put, "consequences", "consequences"));
        command.Subcommands.Add(CreateChange("close", "Close an incident, saying why (notices still owed keep being sent). Needs the operator or admin role.", "--reason", "Why it is closed.", HttpMethod.Post, "close", "reason"));
        command.Subcommands.Add(CreateNotice());
        return command;
    }

    private static Command CreateOpen()
    {
        var options = new OperatorCommands.ConnectionOptions();
        var clients = new Option<string[]>("--client") { Description = "A client concerned (repeatable).", Required = true, AllowMultipleArgumentsPerToken = true };
        var nature = new Option<string>("--nature") { Description = "What happened, in one sentence.", Required = true };
        var reason = new Option<string?>("--reason") { Description = "Why you open it (recorded with your name)." };
        var command = new Command("open", "Open an incident on your word: each client's 8-hour notice clock starts now and its contacts are notified at once. Needs the operator or admin role. Prints the incident id and deadline. Exit 0 opened, 2 error.")
        {
            clients,
            nature,
            reason,
        };
        options.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => OperatorCommands.RunAsync(parseResult, options, async (api, output) =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            var ids = parseResult.GetValue(clients) ?? [];
            if (ids.Length == 0 || ids.Any(c => !IsClientId(c)))
            {
                await error.WriteLineAsync("segctl: --client must name client ids");
                return CliApplication.ExitError;
            }

            var body = Json(w =>
            {
                w.WriteString("nature", parseResult.GetValue(nature));
                w.WriteStartArray("clients");
                foreach (var client in ids)
                {
                    w.WriteStringValue(client);
                }

                w.WriteEndArray();
                if (parseResult.GetValue(reason) is { } why)
                {
                    w.WriteString("reason", why);
                }
            });
            var (status, answer) = await api.SendJsonAsync(HttpMethod.Post, "api/v1/incidents", body, cancellationToken);
            return status == HttpStatusCode.Created
                ? await PrintAsync(answer, parseResult.GetValue(options.Json), output)
                : OperatorCommands.Failed(status, answer, error);
        }));
        return command;
    }

    private static Command CreateNotice()
    {
        var options = new OperatorCommands.ConnectionOptions();
        var id = new Argument<string>("id") { Description = "The incident id (INC-…)." };
        var client = new Option<string>("--client") { Description = "The client that was given notice.", Required = true };
        var how = new Option<string>("--reason") { Description = "How and to whom (e.g. \"phoned the SOC duty officer, J. Doe\").", Required = true };
        var command = new Command("notice", "Record that a client was given notice by other means (no webhook reached it): its 8-hour clock stops and webhook retries for it end. Needs the operator or admin role. Exit 0 done, 2 error.")
        {
            id,
            client,
            how,
        };
        options.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => OperatorCommands.RunAsync(parseResult, options, async (api, output) =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            var incident = parseResult.GetValue(id)!;
            var target = parseResult.GetValue(client)!;
            if (!IsIncidentId(incident) || !IsClientId(target))
            {
                await error.WriteLineAsync("segctl: give an incident id and a client id");
                return CliApplication.ExitError;
            }

            var body = Json(w =>
            {
                w.WriteString("client", target);
                w.WriteString("reason", parseResult.GetValue(how));
            });
            var (status, answer) = await api.SendJsonAsync(HttpMethod.Post, $"api/v1/incidents/{incident}/notice", body, cancellationToken);
            return status == HttpStatusCode.OK
                ? await PrintAsync(answer, parseResult.GetValue(options.Json), output)
                : OperatorCommands.Failed(status, answer, error);
        }));
        return command;
    }

    private static Command CreateChange(string name, string description, string textOption, string textDescription, HttpMethod method, string path, string field)
    {
        var options = new OperatorCommands.ConnectionOptions();
        var id = new Argument<string>("id") { Description = "The incident id (INC-…)." };
        var text = new Option<string>(textOption) { Description = textDescription, Required = true };
        var command = new Command(name, description + " Exit 0 done, 2 error (unknown incident included).")
        {
            id,
            text,
        };
        options.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => OperatorCommands.RunAsync(parseResult, options, async (api, output) =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            var incident = parseResult.GetValue(id)!;
            if (!IsIncidentId(incident))
            {
                await error.WriteLineAsync($"segctl: '{incident}' is not an incident id");
                return CliApplication.ExitError;
            }

            var body = Json(w => w.WriteString(field, parseResult.GetValue(text)));
            var (status, answer) = await api.SendJsonAsync(method, $"api/v1/incidents/{incident}/{path}", body, cancellationToken);
            return status is HttpStatusCode.OK or HttpStatusCode.Created
                ? await PrintAsync(answer, parseResult.GetValue(options.Json), output)
                : OperatorCommands.Failed(status, answer, error);
        }));
        return command;
    }

    /// <summary>The incident as the API answered: JSON, or its id, status, clients and each client's deadline.</summary>
    private static async Task<int> PrintAsync(string body, bool json, TextWriter output)
    {
        if (json)
        {
            await output.WriteLineAsync(body);
            return CliApplication.ExitClean;
        }

        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        await output.WriteLineAsync($"incident {root.GetProperty("id").GetString()} ({root.GetProperty("status").GetString()}): {root.GetProperty("nature").GetString()}");
        foreach (var notice in root.GetProperty("notices").EnumerateArray())
        {
            var given = notice.GetProperty("given_at");
            await output.WriteLineAsync($"  {notice.GetProperty("client").GetString()}: notice due by {notice.GetProperty("due_at").GetString()}, {(given.ValueKind == JsonValueKind.String ? "given " + given.GetString() : "not yet given")}");
        }

        if (root.GetProperty("likely_consequences").GetString() is { Length: > 0 } consequences)
        {
            await output.WriteLineAsync($"  likely consequences: {consequences}");
        }

        return CliApplication.ExitClean;
    }

    private static string Json(Action<Utf8JsonWriter> fields)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            fields(writer);
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static bool IsClientId(string id) =>
        id.Length is > 0 and <= 64 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    private static bool IsIncidentId(string id) =>
        id.Length is > 0 and <= 64 && id.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');

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
            return CliApplication.ExitError;
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
