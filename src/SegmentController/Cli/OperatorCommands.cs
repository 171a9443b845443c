using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace SegmentController.Cli;

/// <summary>
/// The operator commands over the operator API: <c>segctl status</c>, <c>segctl suspend CLIENT|--all</c>,
/// <c>segctl restore CLIENT|--all</c>, <c>segctl approve RESTORE_ID</c>, <c>segctl incidents</c>. Exit 0 done (status: nothing
/// suspended; incidents: none open and no notice owed), 1 status with a client suspended or incidents open, or incidents open or
/// owing a notice, 2 error (bad input, unreachable, 401/403, refused).
/// </summary>
internal static class OperatorCommands
{
    /// <summary>Environment variable for <c>--url</c>.</summary>
    public const string UrlVariable = "SEGCTL_URL";

    /// <summary>Environment variable for <c>--api-key</c> (preferred: a flag shows in the process list).</summary>
    public const string KeyVariable = "SEGCTL_API_KEY";

    /// <summary>Environment variable for <c>--ca-file</c>: a site whose management listener serves TLS names its CA once.</summary>
    public const string CaFileVariable = "SEGCTL_CA_FILE";

    public static Command CreateStatus()
    {
        var options = new ConnectionOptions();
        var command = new Command("status", "Show every client's state, suspension, recent findings, last audit and open incidents from the controller, and switch ports shut again or still being tried. Exit 0 none suspended, 1 any client suspended, with an open incident or owed an incident notice, 2 error.");
        options.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, options, async (client, output) =>
        {
            var (status, body) = await client.SendAsync(HttpMethod.Get, "api/v1/status", null, cancellationToken);
            if (status != HttpStatusCode.OK)
            {
                return Failed(status, body, parseResult.InvocationConfiguration.Error);
            }

            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            // Attention needed: a client cut off, an incident open, or a notice owed by an incident open or
            // closed (where the controller runs incidents).
            var suspended = root.GetProperty("clients").EnumerateArray().Any(c =>
                c.GetProperty("state").GetString() == "suspended"
                || (c.TryGetProperty("open_incidents", out var open) && open.GetArrayLength() > 0)
                || (c.TryGetProperty("notices_owed", out var owed) && owed.GetArrayLength() > 0));
            if (parseResult.GetValue(options.Json))
            {
                await output.WriteLineAsync(body);
            }
            else
            {
                WriteStatusTable(root, output);
            }

            return suspended ? CliApplication.ExitViolations : CliApplication.ExitClean;
        }));
        return command;
    }

    public static Command CreateSuspend()
    {
        var options = new ConnectionOptions();
        var client = new Argument<string?>("client") { Description = "The client id.", Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<bool>("--all") { Description = "Suspend every client of the site." };
        var reason = ReasonOption();
        var progressOption = CliProgress.CreateOption();
        var command = new Command("suspend", "Suspend a client (or --all): its agents are refused and, where the policy says so, its switch ports shut. Prints each enforcement stage with its time as it completes. Needs the operator role.")
        {
            client, all, reason, progressOption,
        };
        options.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, options, async (api, output) =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            if (Scope(parseResult.GetValue(client), parseResult.GetValue(all), "suspend", "suspend-all", error) is not { } path)
            {
                return CliApplication.ExitError;
            }

            var json = parseResult.GetValue(options.Json);
            await using var progress = CliProgress.Start(parseResult.GetValue(progressOption), error, $"suspend {parseResult.GetValue(client) ?? "--all"}", "waiting for the controller to make the trip durable");
            string? result = null;
            var (status, answer) = await api.SendStreamingAsync(HttpMethod.Post, path, OperatorApiClient.ReasonBody(parseResult.GetValue(reason)!), async line =>
            {
                using var document = JsonDocument.Parse(line);
                var root = document.RootElement;
                if (root.TryGetProperty("acknowledged", out var acknowledged))
                {
                    progress.Status("switch ports and webhooks");
                    if (json)
                    {
                        progress.Line(Acknowledgement(acknowledged));
                    }
                    else
                    {
                        progress.Clear();
                        await output.WriteLineAsync(Acknowledgement(acknowledged));
                    }
                }
                else if (root.TryGetProperty("stage", out var stage))
                {
                    // The table is the result on stdout; with --json, stdout keeps only the final JSON.
                    if (json)
                    {
                        progress.Line(StageLine(stage).Trim());
                    }
                    else
                    {
                        progress.Clear();
                        await output.WriteLineAsync(StageLine(stage));
                    }
                }
                else if (root.TryGetProperty("progress", out var running))
                {
                    progress.Status(running.GetString() ?? "working");
                }
                else if (root.TryGetProperty("result", out var found))
                {
                    result = found.GetRawText();
                }
            }, SuspendIdleTimeout, cancellationToken);

            if (answer is not null)
            {
                // Not streamed: an error, or a controller that answers in one piece.
                if (status is not (HttpStatusCode.Created or HttpStatusCode.OK))
                {
                    await progress.DoneAsync($"failed (HTTP {(int)status})");
                    return Failed(status, answer, error);
                }

                await progress.DoneAsync("acknowledged");
                await WriteSuspendAnswerAsync(answer, json, output);
                return CliApplication.ExitClean;
            }

            if (result is null)
            {
                await progress.DoneAsync("the answer ended early");
                await error.WriteLineAsync("segctl: the controller ended the answer without a result; 'segctl status' shows whether the suspension is in force");
                return CliApplication.ExitError;
            }

            using var final = JsonDocument.Parse(result);
            var complete = final.RootElement.TryGetProperty("stages_complete", out var c) && c.GetBoolean();
            await progress.DoneAsync(complete ? "every stage done" : "acknowledged; some stages still running");
            if (json)
            {
                await output.WriteLineAsync(result);
            }
            else if (!complete)
            {
                await output.WriteLineAsync("  (the remaining stages are still running; 'segctl status --json' shows them when done)");
            }

            return CliApplication.ExitClean;
        }, SuspendTimeout));
        return command;
    }

    /// <summary>"alpha suspended by alice (suspension S…)" or "alpha was already suspended (…)".</summary>
    private static string Acknowledgement(JsonElement answer)
    {
        var suspension = answer.GetProperty("suspension");
        var scope = Label(suspension.GetProperty("scope").GetString());
        return answer.GetProperty("created").GetBoolean()
            ? $"{scope} suspended by {suspension.GetProperty("actor").GetString()} (suspension {suspension.GetProperty("id").GetString()})"
            : $"{scope} was already suspended (suspension {suspension.GetProperty("id").GetString()})";
    }

    private static string StageLine(JsonElement stage) =>
        string.Create(CultureInfo.InvariantCulture, $"  {stage.GetProperty("stage").GetString(),-14} {stage.GetProperty("seconds").GetDouble() * 1000,9:0.000} ms  {(stage.GetProperty("succeeded").GetBoolean() ? "ok" : "FAILED")}{(stage.TryGetProperty("detail", out var detail) ? " " + detail.GetString() : "")}");

    private static async Task WriteSuspendAnswerAsync(string body, bool json, TextWriter output)
    {
        if (json)
        {
            await output.WriteLineAsync(body);
            return;
        }

        using var document = JsonDocument.Parse(body);
        await output.WriteLineAsync(Acknowledgement(document.RootElement));
        foreach (var stage in document.RootElement.GetProperty("suspension").GetProperty("stages").EnumerateArray())
        {
            await output.WriteLineAsync(StageLine(stage));
        }
    }

    public static Command CreateRestore()
    {
        var options = new ConnectionOptions();
        var client = new Argument<string?>("client") { Description = "The client id: lifts the client's own suspension (a client held only by the site-wide suspension is refused: use --all).", Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<bool>("--all") { Description = "Lift the site-wide suspension (every client)." };
        var reason = ReasonOption();
        var progressOption = CliProgress.CreateOption();
        var command = new Command("restore", "Ask for a suspension to be lifted; prints the restore id a second, different approver passes to 'segctl approve'. Needs the operator or approver role.")
        {
            client, all, reason, progressOption,
        };
        options.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, options, async (api, output) =>
        {
            if (Scope(parseResult.GetValue(client), parseResult.GetValue(all), "restore", "restore-all", parseResult.InvocationConfiguration.Error) is not { } path)
            {
                return CliApplication.ExitError;
            }

            await using var progress = CliProgress.Start(parseResult.GetValue(progressOption), parseResult.InvocationConfiguration.Error, $"restore {parseResult.GetValue(client) ?? "--all"}", RestoreWork);
            var (status, body) = await api.SendAsync(HttpMethod.Post, path, parseResult.GetValue(reason), cancellationToken);
            await progress.DoneAsync(RestoreSummary(status, body));
            return await RestoreAnswerAsync(status, body, parseResult.GetValue(options.Json), output, parseResult.InvocationConfiguration.Error);
        }));
        return command;
    }

    public static Command CreateApprove()
    {
        var options = new ConnectionOptions();
        var id = new Argument<string>("restore-id") { Description = "The restore id printed by 'segctl restore'." };
        var reason = ReasonOption();
        var progressOption = CliProgress.CreateOption();
        var command = new Command("approve", "Approve a pending restore; the approver must be a different person from those who agreed already. Needs the approver role.")
        {
            id, reason, progressOption,
        };
        options.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, options, async (api, output) =>
        {
            var restoreId = parseResult.GetValue(id)!;
            if (restoreId.Length is 0 or > 128 || !restoreId.All(char.IsAsciiLetterOrDigit))
            {
                await parseResult.InvocationConfiguration.Error.WriteLineAsync($"segctl: '{restoreId}' is not a restore id");
                return CliApplication.ExitError;
            }

            await using var progress = CliProgress.Start(parseResult.GetValue(progressOption), parseResult.InvocationConfiguration.Error, $"approve {restoreId}", RestoreWork);
            var (status, body) = await api.SendAsync(HttpMethod.Post, $"api/v1/restores/{restoreId}/approve", parseResult.GetValue(reason), cancellationToken);
            await progress.DoneAsync(RestoreSummary(status, body));
            return await RestoreAnswerAsync(status, body, parseResult.GetValue(options.Json), output, parseResult.InvocationConfiguration.Error);
        }));
        return command;
    }

    public static Command CreateIncidents()
    {
        var options = new ConnectionOptions();
        var all = new Option<bool>("--all") { Description = "Closed incidents too." };
        var command = new Command("incidents", "List the controller's security incidents that are open or owe a client its notice (closed ones included), with each 8-hour notice deadline and the clients still owed theirs. Exit 0 none open and no notice owed, 1 any open or any notice owed, 2 error. Full notice: segctl incident report ID.")
        {
            all,
        };
        options.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, options, async (api, output) =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            // A notice owed is a breach of the 8-hour rule whatever the incident's state: the open ones, and
            // the closed ones still owing a client its notice. A controller that knows no notice filter
            // answers every incident; the selection below keeps what is asked for either way.
            string[] paths = parseResult.GetValue(all) ? ["api/v1/incidents"] : ["api/v1/incidents?status=open", "api/v1/incidents?notice=owed"];
            var selected = new List<JsonElement>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var documents = new List<JsonDocument>();
            try
            {
                foreach (var path in paths)
                {
                    var (status, body) = await api.SendAsync(HttpMethod.Get, path, null, cancellationToken);
                    if (status != HttpStatusCode.OK)
                    {
                        return Failed(status, body, error);
                    }

                    var document = JsonDocument.Parse(body);
                    documents.Add(document);
                    foreach (var incident in document.RootElement.GetProperty("incidents").EnumerateArray())
                    {
                        if ((parseResult.GetValue(all) || IsOpen(incident) || NoticesOwed(incident).Length > 0)
                            && seen.Add(incident.GetProperty("id").GetString()!))
                        {
                            selected.Add(incident);
                        }
                    }
                }

                selected.Sort((a, b) => a.GetProperty("detected_at").GetDateTimeOffset().CompareTo(b.GetProperty("detected_at").GetDateTimeOffset()));
                if (parseResult.GetValue(options.Json))
                {
                    await output.WriteLineAsync(IncidentsJson(selected));
                }
                else
                {
                    var now = TimeProvider.System.GetUtcNow();
                    var rows = new List<string[]> { IncidentsHeader };
                    rows.AddRange(selected.Select(i => new[]
                    {
                        i.GetProperty("id").GetString()!,
                        i.GetProperty("status").GetString()!,
                        string.Join(",", i.GetProperty("clients").EnumerateArray().Select(c => c.GetString())),
                        Iso(i.GetProperty("detected_at").GetDateTimeOffset()),
                        Iso(i.GetProperty("notice_due_at").GetDateTimeOffset()),
                        Owed(i, now),
                        Shorten(i.GetProperty("nature").GetString()!),
                    }));
                    WriteTable(rows, output);
                }

                return selected.Any(i => IsOpen(i) || NoticesOwed(i).Length > 0) ? CliApplication.ExitViolations : CliApplication.ExitClean;
            }
            finally
            {
                documents.ForEach(d => d.Dispose());
            }
        }));
        return command;
    }

    private static bool IsOpen(JsonElement incident) => incident.GetProperty("status").GetString() == "open";

    /// <summary>The notices of an incident not yet given (each a client owed its notice).</summary>
    private static JsonElement[] NoticesOwed(JsonElement incident) =>
        incident.GetProperty("notices").EnumerateArray().Where(n => n.GetProperty("given_at").ValueKind != JsonValueKind.String).ToArray();

    /// <summary>"-" none owed; otherwise each client owed its notice: "beta OVERDUE since …" or "beta due …".</summary>
    private static string Owed(JsonElement incident, DateTimeOffset now)
    {
        var owed = NoticesOwed(incident).Select(n =>
        {
            var due = n.GetProperty("due_at").GetDateTimeOffset();
            return $"{n.GetProperty("client").GetString()} {(due <= now ? "OVERDUE since" : "due")} {Iso(due)}";
        }).ToArray();
        return owed.Length == 0 ? "-" : string.Join(", ", owed);
    }

    /// <summary>The API's answer, of the incidents selected: <c>{"incidents": [Incident]}</c>.</summary>
    private static string IncidentsJson(List<JsonElement> incidents)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("incidents");
            foreach (var incident in incidents)
            {
                incident.WriteTo(writer);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private const string RestoreWork = "waiting for the controller (recording, lifting, switch ports, webhooks)";

    /// <summary>How long a suspend waits without a line from the controller (it sends one every second).</summary>
    private static readonly TimeSpan SuspendIdleTimeout = TimeSpan.FromSeconds(60);

    /// <summary>How long a suspend waits for the controller's answer to begin.</summary>
    private static readonly TimeSpan SuspendTimeout = TimeSpan.FromMinutes(5);

    /// <summary>The last progress line of a restore or approval: its outcome.</summary>
    private static string RestoreSummary(HttpStatusCode status, string body)
    {
        if (status is HttpStatusCode.OK or HttpStatusCode.Accepted)
        {
            try
            {
                using var document = JsonDocument.Parse(body);
                return document.RootElement.GetProperty("status").GetString() ?? "answered";
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                return "answered";
            }
        }

        return $"failed (HTTP {(int)status})";
    }

    private static async Task<int> RestoreAnswerAsync(HttpStatusCode status, string body, bool json, TextWriter output, TextWriter error)
    {
        if (status is not (HttpStatusCode.OK or HttpStatusCode.Accepted))
        {
            return Failed(status, body, error);
        }

        if (json)
        {
            await output.WriteLineAsync(body);
            return CliApplication.ExitClean;
        }

        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        var id = root.GetProperty("restore_id").GetString();
        var scope = Label(root.GetProperty("scope").GetString());
        var approvers = string.Join(", ", root.GetProperty("approvers").EnumerateArray().Select(a => a.GetString()));
        if (root.GetProperty("status").GetString() == "restored")
        {
            await output.WriteLineAsync($"{scope} restored (restore {id}; agreed by {approvers})");
        }
        else
        {
            await output.WriteLineAsync($"restore {id} of {scope}: pending approval ({root.GetProperty("message").GetString()}; agreed so far: {approvers})");
            await output.WriteLineAsync($"another approver runs: segctl approve {id} --reason \"…\"");
        }

        return CliApplication.ExitClean;
    }

    private static void WriteStatusTable(JsonElement root, TextWriter output)
    {
        output.WriteLine($"site {root.GetProperty("site").GetString()}{(root.GetProperty("all_suspended").GetBoolean() ? " — ALL CLIENTS SUSPENDED" : "")}");
        var rows = new List<string[]> { StatusHeader };
        var site = root.GetProperty("site_suspension");
        foreach (var client in root.GetProperty("clients").EnumerateArray())
        {
            var suspension = client.GetProperty("suspension");
            if (suspension.ValueKind == JsonValueKind.Null && site.ValueKind != JsonValueKind.Null)
            {
                suspension = site;
            }

            var has = suspension.ValueKind == JsonValueKind.Object;
            rows.Add(
            [
                client.GetProperty("id").GetString()!,
                client.GetProperty("state").GetString()! + PendingNote(client),
                has ? suspension.GetProperty("tripped_at").GetDateTimeOffset().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) : "-",
                has ? suspension.GetProperty("trigger").GetString()! : "-",
                has ? suspension.GetProperty("actor").GetString()! : "-",
                has ? Shorten(suspension.GetProperty("reason").GetString()!) : "-",
                client.GetProperty("recent_findings").GetArrayLength().ToString(CultureInfo.InvariantCulture),
                LastAudit(client),
                OpenIncidents(client),
            ]);
        }

        WriteTable(rows, output);
        foreach (var client in root.GetProperty("clients").EnumerateArray())
        {
            WritePortNotes(client, output);
        }
    }

    /// <summary>
    /// Under the table, per client: switch ports still NOT shut and being tried again, and when its ports
    /// were last shut again (at a start, a reload or a retry), whether they all read back down.
    /// </summary>
    private static void WritePortNotes(JsonElement client, TextWriter output)
    {
        var id = client.GetProperty("id").GetString()!;
        if (client.TryGetProperty("ports_pending_retry", out var pending) && pending.GetArrayLength() > 0)
        {
            output.WriteLine(Printable($"{id}: switch ports NOT shut, being tried again: {string.Join(", ", pending.EnumerateArray().Select(p => p.GetString()))}"));
        }

        if (client.TryGetProperty("ports_owed_bring_up", out var owed) && owed.ValueKind == JsonValueKind.Array && owed.GetArrayLength() > 0)
        {
            output.WriteLine(Printable($"{id}: switch ports NOT brought up after the restore, being tried again: {string.Join(", ", owed.EnumerateArray().Select(p => p.GetString()))}"));
        }

        if (client.TryGetProperty("last_reassertion", out var last) && last.ValueKind == JsonValueKind.Object)
        {
            var at = last.GetProperty("at").GetDateTimeOffset().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            var ports = string.Join(", ", last.GetProperty("ports").EnumerateArray().Select(p => p.GetString()));
            var outcome = last.GetProperty("verified").GetBoolean() ? "read back down" : "NOT all read back down";
            output.WriteLine(Printable($"{id}: switch ports shut again {at} ({last.GetProperty("cause").GetString()}): {(ports.Length == 0 ? "none" : ports)}, {outcome}"));
        }
    }

    /// <summary>"pass 2026-03-01T09:00:00Z" (the outcome and when it finished); "-" never audited; "n/a" where the controller runs no audits.</summary>
    private static string LastAudit(JsonElement client)
    {
        if (!client.TryGetProperty("last_audit", out var audit))
        {
            return "n/a";
        }

        return audit.ValueKind == JsonValueKind.Object
            ? $"{audit.GetProperty("outcome").GetString()} {audit.GetProperty("finished_at").GetDateTimeOffset().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}"
            : "-";
    }

    /// <summary>
    /// "-" none open; "INC-…" one; "INC-… +2" several (the oldest first); "n/a" where the controller runs no
    /// incidents; followed by " (closed, notice owed: N)" when N closed incidents still owe the client its notice.
    /// </summary>
    private static string OpenIncidents(JsonElement client)
    {
        if (!client.TryGetProperty("open_incidents", out var open))
        {
            return "n/a";
        }

        var ids = open.EnumerateArray().Select(i => i.GetString()!).ToArray();
        var shown = ids.Length switch
        {
            0 => "-",
            1 => ids[0],
            _ => string.Create(CultureInfo.InvariantCulture, $"{ids[0]} +{ids.Length - 1}"),
        };

        // Notices owed by closed incidents too: the client is owed them whatever the incident's state (an open
        // one's is `segctl incidents`' to show; here it is already named as open).
        var owed = client.TryGetProperty("notices_owed", out var notices)
            ? notices.EnumerateArray().Count(n => !ids.Contains(n.GetProperty("incident").GetString(), StringComparer.Ordinal))
            : 0;
        return owed == 0 ? shown : string.Create(CultureInfo.InvariantCulture, $"{shown} (closed, notice owed: {owed})");
    }

    /// <summary>" (restore 1/2 approved)" when a restore waits for approvers; otherwise nothing.</summary>
    private static string PendingNote(JsonElement client) =>
        client.TryGetProperty("pending_restore", out var pending) && pending.ValueKind == JsonValueKind.Object
            ? string.Create(CultureInfo.InvariantCulture, $" (restore {pending.GetProperty("approvers").GetArrayLength()}/{pending.GetProperty("approvers_needed").GetInt32()} approved)")
            : "";

    internal static void WriteTable(List<string[]> rows, TextWriter output)
    {
        // Cells carry other people's text (reasons, natures, summaries): shown, never obeyed by the terminal.
        rows = rows.Select(r => r.Select(Printable).ToArray()).ToList();
        var widths = Enumerable.Range(0, rows[0].Length).Select(i => rows.Max(r => r[i].Length)).ToArray();
        foreach (var row in rows)
        {
            output.WriteLine(string.Join("  ", row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
        }
    }

    private static readonly string[] IncidentsHeader = ["ID", "STATUS", "CLIENTS", "DETECTED", "NOTICE DUE", "NOTICE OWED", "NATURE"];

    private static readonly string[] StatusHeader = ["CLIENT", "STATE", "SINCE", "TRIGGER", "BY", "REASON", "FINDINGS", "LAST AUDIT", "OPEN INCIDENTS"];

    /// <summary>The text with what a terminal would act on written out instead (<see cref="Logging.PrintableText"/>).</summary>
    internal static string Printable(string text) => Logging.PrintableText.Escape(text);

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..39] + "…";

    private static string Label(string? scope) => scope == "*" ? "every client" : scope ?? "?";

    private static string? Scope(string? client, bool all, string clientAction, string allPath, TextWriter error)
    {
        if (all == (client is not null))
        {
            error.WriteLine("segctl: name one CLIENT or give --all");
            return null;
        }

        if (client is not null && (client.Length is 0 or > 64 || !client.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')))
        {
            error.WriteLine($"segctl: '{client}' is not a client id");
            return null;
        }

        return all ? $"api/v1/{allPath}" : $"api/v1/clients/{client}/{clientAction}";
    }

    internal static int Failed(HttpStatusCode status, string body, TextWriter error)
    {
        var message = $"HTTP {(int)status}";
        try
        {
            using var problem = JsonDocument.Parse(body);
            if (problem.RootElement.ValueKind == JsonValueKind.Object)
            {
                var title = problem.RootElement.TryGetProperty("title", out var t) ? t.GetString() : null;
                var detail = problem.RootElement.TryGetProperty("detail", out var d) ? d.GetString() : null;
                if (title is not null || detail is not null)
                {
                    message = detail is null ? $"{message} {title}" : $"{message} {title}: {detail}";
                }
            }
        }
        catch (JsonException)
        {
            // Not problem details (a proxy in between?): the status alone says enough.
        }

        error.WriteLine($"segctl: {message}");
        return CliApplication.ExitError;
    }

    private static Option<string> ReasonOption() => new("--reason") { Description = "Why (recorded with your name in the evidence store).", Required = true };

    internal static async Task<int> RunAsync(ParseResult parseResult, ConnectionOptions options, Func<OperatorApiClient, TextWriter, Task<int>> action, TimeSpan? timeout = null)
    {
        var error = parseResult.InvocationConfiguration.Error;
        try
        {
            using var client = OperatorApiClient.Create(
                parseResult.GetValue(options.Url) ?? Environment.GetEnvironmentVariable(UrlVariable),
                parseResult.GetValue(options.ApiKey) ?? Environment.GetEnvironmentVariable(KeyVariable),
                parseResult.GetValue(options.CaFile) ?? NonEmpty(Environment.GetEnvironmentVariable(CaFileVariable)),
                timeout ?? TimeSpan.FromSeconds(60),
                parseResult.GetValue(options.ClientCertificate),
                parseResult.GetValue(options.ClientKey));
            try
            {
                return await action(client, parseResult.InvocationConfiguration.Output);
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                // Something answers there, but not segctl's operator API (a wrong port, a proxy's page):
                // say so, rather than echo a parser's complaint.
                await error.WriteLineAsync($"segctl: {client.BaseAddress} did not answer as segctl's operator API does ({e.Message})");
                return CliApplication.ExitError;
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or JsonException or KeyNotFoundException)
        {
            await error.WriteLineAsync($"segctl: {e.Message}");
            return CliApplication.ExitError;
        }
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    internal sealed class ConnectionOptions
    {
        public Option<string?> Url { get; } = new("--url") { Description = $"The operator API (env {UrlVariable}; default {OperatorApiClient.DefaultUrl})." };

        public Option<string?> ApiKey { get; } = new("--api-key") { Description = $"The API key (env {KeyVariable}, preferred: a flag shows in the process list). Never printed." };

        public Option<string?> CaFile { get; } = new("--ca-file") { Description = $"Trust only the CA certificates in this PEM file for the API's TLS certificate (env {CaFileVariable})." };

        public Option<string?> ClientCertificate { get; } = new("--client-cert") { Description = "Authenticate with this client certificate (PEM) instead of a key; its fingerprint must be in the API keys file." };

        public Option<string?> ClientKey { get; } = new("--client-key") { Description = "The private key (PEM) of --client-cert, when not in the same file." };

        public Option<bool> Json { get; } = new("--json") { Description = "Print the API's JSON instead of a table." };

        public void AddTo(Command command)
        {
            command.Options.Add(Url);
            command.Options.Add(ApiKey);
            command.Options.Add(CaFile);
            command.Options.Add(ClientCertificate);
            command.Options.Add(ClientKey);
            command.Options.Add(Json);
        }
    }
}
