using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace SegmentController.Cli;

/// <summary>
/// <c>segctl audit run [--client ID] [--json]</c>, <c>segctl audit show ID [--json]</c>,
/// <c>segctl audit list</c> and <c>segctl audit record CLIENT --result pass|fail [--auditor NAME] --summary TEXT</c>
/// over the operator API. <c>run</c> shows the evidence being gathered on
/// standard error while it waits, then prints the report. Exit 0 every client passed, 1 any client
/// failed or lacks evidence (indeterminate is never a pass), 2 error.
/// </summary>
internal static class AuditCommands
{
    /// <summary>How long <c>audit run</c> waits without hearing from the controller.</summary>
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(10);

    public static Command Create()
    {
        var command = new Command("audit", "Audits of the site's isolation: run one now, show or list reports. Runs need the auditor or admin role.");
        command.Subcommands.Add(CreateRun());
        command.Subcommands.Add(CreateShow());
        command.Subcommands.Add(CreateList());
        command.Subcommands.Add(CreateRecord());
        return command;
    }

    private static Command CreateRecord()
    {
        var options = new OperatorCommands.ConnectionOptions();
        var client = new Argument<string>("client") { Description = "The audited client's id." };
        var result = new Option<string>("--result") { Description = "pass or fail.", Required = true };
        result.AcceptOnlyFromAmong("pass", "fail");
        var auditor = new Option<string?>("--auditor") { Description = "The external auditor (organisation or name), as you state it; recorded apart from who recorded the audit, which is you as the API knows you." };
        var summary = new Option<string>("--summary") { Description = "What the auditor found (recorded with the result).", Required = true };
        var command = new Command("record", "Record an audit done outside the controller: an audit result in the evidence chain like a run one (a failure raises audit-failed and, where audits.suspend_on_failure, suspends the client; a pass counts for restores). Needs the auditor or admin role. Prints the report. Exit 0 pass, 1 fail, 2 error.")
        {
            client,
            result,
            auditor,
            summary,
        };
        options.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => OperatorCommands.RunAsync(parseResult, options, async (api, output) =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            var id = parseResult.GetValue(client)!;
            if (!IsClientId(id))
            {
                await error.WriteLineAsync($"segctl: '{id}' is not a client id");
                return CliApplication.ExitError;
            }

            var fields = new Dictionary<string, string>
            {
                ["client"] = id,
                ["result"] = parseResult.GetValue(result)!,
                ["summary"] = parseResult.GetValue(summary)!,
            };
            if (parseResult.GetValue(auditor) is { } name)
            {
                fields["external_auditor"] = name;
            }

            var (status, body) = await api.SendJsonAsync(HttpMethod.Post, "api/v1/audits/external", fields, cancellationToken);
            return status == HttpStatusCode.Created
                ? await PrintAsync(body, parseResult.GetValue(options.Json), output)
                : OperatorCommands.Failed(status, body, error);
        }));
        return command;
    }

    private static Command CreateRun()
    {
        var options = new OperatorCommands.ConnectionOptions();
        var client = new Option<string?>("--client") { Description = "Audit this client only (default: every client)." };
        var command = new Command("run", "Run an audit now: SNMP isolation of every switch, capture findings and loss, the proxy's TLS and routes, the policy hash and the evidence chain. Progress on stderr; the report (table, or --json) on stdout; stored in the evidence chain. Exit 0 all pass, 1 any fail or indeterminate, 2 error.")
        {
            client,
        };
        options.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => OperatorCommands.RunAsync(parseResult, options, async (api, output) =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            var only = parseResult.GetValue(client);
            if (only is not null && !IsClientId(only))
            {
                await error.WriteLineAsync($"segctl: '{only}' is not a client id");
                return CliApplication.ExitError;
            }

            var body = only is null ? null : JsonSerializer.Serialize(new Dictionary<string, string> { ["client"] = only }, CliJsonContext.Default.DictionaryStringString);
            await error.WriteLineAsync(only is null ? "audit: gathering evidence for every client…" : $"audit: gathering evidence for {only}…");
            string? report = null;
            string? failure = null;
            var (status, answer) = await api.SendStreamingAsync(HttpMethod.Post, "api/v1/audits", body, async line =>
            {
                using var document = JsonDocument.Parse(line);
                var root = document.RootElement;
                if (root.TryGetProperty("progress", out var progress))
                {
                    await error.WriteLineAsync($"  {progress.GetString()}");
                }
                else if (root.TryGetProperty("report", out var found))
                {
                    report = found.GetRawText();
                }
                else if (root.TryGetProperty("error", out var problem))
                {
                    failure = problem.GetRawText();
                }
            }, IdleTimeout, cancellationToken);
            if (answer is not null && status != HttpStatusCode.Created)
            {
                return OperatorCommands.Failed(status, answer, error);
            }

            // A controller that does not stream answers with the report itself.
            report ??= answer;

            if (failure is not null)
            {
                using var problem = JsonDocument.Parse(failure);
                return OperatorCommands.Failed((HttpStatusCode)problem.RootElement.GetProperty("status").GetInt32(), failure, error);
            }

            if (report is null)
            {
                await error.WriteLineAsync("segctl: the controller ended the answer without a report");
                return CliApplication.ExitError;
            }

            return await PrintAsync(report, parseResult.GetValue(options.Json), output);
        }, IdleTimeout));
        return command;
    }

    private static Command CreateShow()
    {
        var options = new OperatorCommands.ConnectionOptions();
        var id = new Argument<string>("id") { Description = "The audit id (AUD-…)." };
        var command = new Command("show", "Show an audit report (from memory or the evidence chain). Exit 0 all pass, 1 any fail or indeterminate, 2 error or unknown id.")
        {
            id,
        };
        options.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => OperatorCommands.RunAsync(parseResult, options, async (api, output) =>
        {
            var auditId = parseResult.GetValue(id)!;
            if (auditId.Length is 0 or > 64 || !auditId.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                await parseResult.InvocationConfiguration.Error.WriteLineAsync($"segctl: '{auditId}' is not an audit id");
                return CliApplication.ExitError;
            }

            var (status, body) = await api.SendAsync(HttpMethod.Get, $"api/v1/audits/{auditId}", null, cancellationToken);
            return status == HttpStatusCode.OK
                ? await PrintAsync(body, parseResult.GetValue(options.Json), output)
                : OperatorCommands.Failed(status, body, parseResult.InvocationConfiguration.Error);
        }));
        return command;
    }

    private static Command CreateList()
    {
        var options = new OperatorCommands.ConnectionOptions();
        var client = new Option<string?>("--client") { Description = "Only audits of this client." };
        var command = new Command("list", "List recent audits, newest first. Exit 0, or 2 on error.")
        {
            client,
        };
        options.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => OperatorCommands.RunAsync(parseResult, options, async (api, output) =>
        {
            var only = parseResult.GetValue(client);
            if (only is not null && !IsClientId(only))
            {
                await parseResult.InvocationConfiguration.Error.WriteLineAsync($"segctl: '{only}' is not a client id");
                return CliApplication.ExitError;
            }

            var (status, body) = await api.SendAsync(HttpMethod.Get, only is null ? "api/v1/audits" : $"api/v1/audits?client={only}", null, cancellationToken);
            if (status != HttpStatusCode.OK)
            {
                return OperatorCommands.Failed(status, body, parseResult.InvocationConfiguration.Error);
            }

            if (parseResult.GetValue(options.Json))
            {
                await output.WriteLineAsync(body);
                return CliApplication.ExitClean;
            }

            using var document = JsonDocument.Parse(body);
            var rows = new List<string[]> { ListHeader };
            rows.AddRange(document.RootElement.GetProperty("audits").EnumerateArray().Select(a => new[]
            {
                a.GetProperty("id").GetString()!,
                a.GetProperty("finished_at").GetDateTimeOffset().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                a.GetProperty("trigger").GetString()!,
                a.GetProperty("result").GetString()!,
                string.Join(" ", a.GetProperty("clients").EnumerateObject().Select(c => $"{c.Name}={c.Value.GetString()}")),
            }));
            OperatorCommands.WriteTable(rows, output);
            return CliApplication.ExitClean;
        }));
        return command;
    }

    /// <summary>Prints a report (table or JSON) and returns the exit code it stands for.</summary>
    private static async Task<int> PrintAsync(string reportJson, bool json, TextWriter output)
    {
        using var document = JsonDocument.Parse(reportJson);
        var root = document.RootElement;
        var clients = root.GetProperty("clients").EnumerateArray().ToArray();
        var allPass = clients.Length > 0 && clients.All(c => c.GetProperty("outcome").GetString() == "pass");
        if (json)
        {
            await output.WriteLineAsync(reportJson);
            return allPass ? CliApplication.ExitClean : CliApplication.ExitViolations;
        }

        var finished = root.GetProperty("finished_at").GetDateTimeOffset().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var policy = root.GetProperty("policy_sha256").GetString() ?? "";
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"audit {root.GetProperty("id").GetString()} ({root.GetProperty("trigger").GetString()}) finished {finished}: {root.GetProperty("result").GetString()!.ToUpperInvariant()} — policy {policy[..Math.Min(12, policy.Length)]}, evidence record {root.GetProperty("record_index").GetInt64()}"));
        if (root.TryGetProperty("recorded_by", out var recorder))
        {
            var auditor = root.TryGetProperty("external_auditor", out var named) ? $"; external auditor (as stated by the recorder): {named.GetString()}" : "";
            await output.WriteLineAsync(OperatorCommands.Printable($"recorded by {recorder.GetProperty("name").GetString()} ({recorder.GetProperty("auth").GetString()}){auditor}"));
        }

        var rows = new List<string[]> { ClientHeader };
        foreach (var client in clients)
        {
            var failing = client.GetProperty("failing_checks").EnumerateArray().Select(c => c.GetProperty("name").GetString()!).ToArray();
            var missing = client.GetProperty("missing_evidence").EnumerateArray().Select(c => c.GetProperty("name").GetString()!).ToArray();
            var why = failing.Length > 0 ? "failing: " + string.Join("; ", failing)
                : missing.Length > 0 ? "no evidence: " + string.Join("; ", missing)
                : "-";
            rows.Add([client.GetProperty("client").GetString()!, client.GetProperty("outcome").GetString()!, why]);
        }

        OperatorCommands.WriteTable(rows, output);
        await output.WriteLineAsync();
        var checks = new List<string[]> { CheckHeader };
        checks.AddRange(root.GetProperty("checks").EnumerateArray().Select(c =>
        {
            var concerned = c.GetProperty("clients").EnumerateArray().Select(x => x.GetString()!).ToArray();
            return new[]
            {
                c.GetProperty("source").GetString()!,
                c.GetProperty("name").GetString()!,
                concerned.Length == 0 ? "all" : string.Join(",", concerned),
                c.GetProperty("outcome").GetString()!,
                c.GetProperty("detail").GetString()!,
            };
        }));
        OperatorCommands.WriteTable(checks, output);
        return allPass ? CliApplication.ExitClean : CliApplication.ExitViolations;
    }

    private static bool IsClientId(string id) =>
        id.Length is > 0 and <= 64 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    private static readonly string[] ClientHeader = ["CLIENT", "RESULT", "WHY"];

    private static readonly string[] CheckHeader = ["SOURCE", "CHECK", "CLIENTS", "OUTCOME", "DETAIL"];

    private static readonly string[] ListHeader = ["ID", "FINISHED", "TRIGGER", "RESULT", "CLIENTS"];
}
