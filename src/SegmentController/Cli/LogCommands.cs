using System.CommandLine;
using System.Globalization;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Storage.Export;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Cli;

/// <summary>
/// <c>segctl log verify [--store PATH | --export FILE | --url URL]</c> and
/// <c>segctl log export [--store PATH] [--from T] [--to T] [--client ID] [--out FILE]</c>: on a local store
/// file, or (verify) on the running controller's store through the operator API.
/// </summary>
internal static class LogCommands
{
    public static Command Create()
    {
        var command = new Command("log", "Verify and export the tamper-evident evidence log.");
        command.Subcommands.Add(CreateVerify());
        command.Subcommands.Add(CreateExport());
        command.Subcommands.Add(CreateAppend());
        return command;
    }

    private static Command CreateAppend()
    {
        var store = StoreOption();
        var type = new Option<string>("--type") { Description = "Record type (operator-action, finding, policy-load, analysis, …).", DefaultValueFactory = _ => RecordTypes.OperatorAction };
        var clients = new Option<string[]>("--client") { Description = "Client ids the record concerns (repeatable).", AllowMultipleArgumentsPerToken = true };
        var payload = new Option<string>("--payload") { Description = "The record body (JSON).", Required = true };
        var command = new Command("append", "Append one record to a local store (created with its signing key if new) and print its index once durable.")
        {
            store,
            type,
            clients,
            payload,
        };
        command.SetAction((parseResult, cancellationToken) => Append(
            parseResult.GetValue(store)!,
            parseResult.GetValue(type)!,
            parseResult.GetValue(clients) ?? [],
            parseResult.GetValue(payload)!,
            parseResult.InvocationConfiguration.Output,
            parseResult.InvocationConfiguration.Error,
            cancellationToken));
        return command;
    }

    internal static async Task<int> Append(string store, string type, IReadOnlyList<string> clients, string payload, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var bytes = System.Text.Encoding.UTF8.GetBytes(payload);
        try
        {
            using var _ = System.Text.Json.JsonDocument.Parse(bytes);
        }
        catch (System.Text.Json.JsonException e)
        {
            error.WriteLine($"segctl: --payload is not JSON: {e.Message}");
            return CliApplication.ExitError;
        }

        try
        {
            var key = ClientKey.Of(clients);
            await using var opened = await SqliteEvidenceStore.OpenAsync(new Storage.StoreOptions { Path = store }, TimeProvider.System, cancellationToken);
            var index = await opened.AppendAsync(type, key, bytes, cancellationToken);
            output.WriteLine($"appended record {index} to {store}");
            return CliApplication.ExitClean;
        }
        catch (Exception e) when (e is StoreUnavailableException or ArgumentException)
        {
            error.WriteLine($"segctl: {e.Message}");
            return CliApplication.ExitError;
        }
    }

    private static Option<string> StoreOption() => new("--store")
    {
        Description = "The store file (SQLite).",
        DefaultValueFactory = _ => new StoreSettings().Path,
    };

    private static Command CreateVerify()
    {
        var store = StoreOption();
        var export = new Option<string?>("--export") { Description = "Verify this export file (JSON Lines) on its own instead of a store." };
        var api = new OperatorCommands.ConnectionOptions();
        var progressOption = CliProgress.CreateOption();
        var command = new Command("verify", $"Recompute the hash chain, checkpoints and signed head: of a local store (--store), of an export (--export), or of the running controller's store through its API (--url, or {OperatorCommands.UrlVariable} when no --store is given; needs the auditor role). Exit 0 intact (with the count), 1 tampered (naming the first bad record and time, or line of an export), 2 unreadable.")
        {
            store,
            export,
            progressOption,
        };
        api.AddTo(command);
        command.SetAction((parseResult, cancellationToken) =>
        {
            var storeGiven = parseResult.GetResult(store) is { Implicit: false };
            var viaApi = parseResult.GetValue(export) is null
                && (parseResult.GetValue(api.Url) is not null || (!storeGiven && Environment.GetEnvironmentVariable(OperatorCommands.UrlVariable) is { Length: > 0 }));
            if (viaApi)
            {
                return OperatorCommands.RunAsync(parseResult, api, (client, output) =>
                    VerifyThroughApiAsync(client, parseResult.GetValue(api.Json), parseResult.GetValue(progressOption), output, parseResult.InvocationConfiguration.Error, cancellationToken), VerifyTimeout);
            }

            return Task.Run(
                () => Verify(parseResult.GetValue(store)!, parseResult.GetValue(export), parseResult.InvocationConfiguration.Output, parseResult.InvocationConfiguration.Error, cancellationToken),
                cancellationToken);
        });
        return command;
    }

    /// <summary>The controller verifies its own store (GET /api/v1/log/verify); the answer is printed as a local verify would.</summary>
    private static async Task<int> VerifyThroughApiAsync(OperatorApiClient client, bool json, bool showProgress, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        string body;
        System.Net.HttpStatusCode status;
        await using (var progress = CliProgress.Start(showProgress, error, "log verify", "the controller is recomputing its evidence chain"))
        {
            (status, body) = await client.SendAsync(HttpMethod.Get, "api/v1/log/verify", null, cancellationToken);
            await progress.DoneAsync(status != System.Net.HttpStatusCode.OK ? $"failed (HTTP {(int)status})" : VerifySummary(body));
        }

        if (status != System.Net.HttpStatusCode.OK)
        {
            return OperatorCommands.Failed(status, body, error);
        }

        using var document = System.Text.Json.JsonDocument.Parse(body);
        var root = document.RootElement;
        var intact = root.GetProperty("intact").GetBoolean();
        if (json)
        {
            await output.WriteLineAsync(body);
            return intact ? CliApplication.ExitClean : CliApplication.ExitViolations;
        }

        foreach (var warning in root.GetProperty("warnings").EnumerateArray())
        {
            await error.WriteLineAsync($"warning: {warning.GetString()}");
        }

        var records = root.GetProperty("records").GetInt64();
        if (!intact)
        {
            var problem = root.GetProperty("problem");
            var time = problem.TryGetProperty("time", out var at) ? at.GetString() : "unknown time";
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"controller store {client.BaseAddress}: TAMPERED: first bad record {problem.GetProperty("index").GetInt64()} (time {time}): {problem.GetProperty("reason").GetString()}"));
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{records} records verified before it."));
            return CliApplication.ExitViolations;
        }

        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"controller store {client.BaseAddress}: intact: {records} records, signed through record {root.GetProperty("signed_through").GetInt64()}, head {root.GetProperty("head_hash").GetString()}"));
        return CliApplication.ExitClean;
    }

    /// <summary>Verifying a large store takes a while: the controller answers when it is done.</summary>
    private static readonly TimeSpan VerifyTimeout = TimeSpan.FromMinutes(30);

    private static string VerifySummary(string body)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(body);
            var root = document.RootElement;
            return string.Create(CultureInfo.InvariantCulture, $"{root.GetProperty("records").GetInt64()} records, {(root.GetProperty("intact").GetBoolean() ? "intact" : "TAMPERED")}");
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return "answered";
        }
    }

    private static Command CreateExport()
    {
        var store = StoreOption();
        var from = new Option<string?>("--from") { Description = "Records at or after this time (ISO 8601, e.g. 2026-03-01T00:00:00Z)." };
        var to = new Option<string?>("--to") { Description = "Records at or before this time (ISO 8601)." };
        var client = new Option<string?>("--client") { Description = "Only records concerning this client id." };
        var output = new Option<string?>("--out") { Description = "Write to this file instead of standard output." };
        var command = new Command("export", "Export records as JSON Lines with the chain links, checkpoints and signed head needed to verify them alone (segctl log verify --export FILE).")
        {
            store,
            from,
            to,
            client,
            output,
        };
        command.SetAction((parseResult, cancellationToken) => Task.Run(
            () => Export(
                parseResult.GetValue(store)!,
                parseResult.GetValue(from),
                parseResult.GetValue(to),
                parseResult.GetValue(client),
                parseResult.GetValue(output),
                parseResult.InvocationConfiguration.Output,
                parseResult.InvocationConfiguration.Error,
                TimeProvider.System,
                cancellationToken),
            cancellationToken));
        return command;
    }

    internal static int Verify(string store, string? export, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var subject = export is null ? $"store {store}" : $"export {export}";
        VerificationReport report;
        try
        {
            report = export is null
                ? StoreVerifier.Verify(store, cancellationToken)
                : ExportVerifier.Verify(export, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            error.WriteLine($"segctl: {subject} cannot be read: {e.Message}");
            return CliApplication.ExitError;
        }

        foreach (var warning in report.Warnings)
        {
            error.WriteLine($"warning: {warning}");
        }

        if (report.Problem is { } problem)
        {
            var time = problem.Time?.ToString("O", CultureInfo.InvariantCulture) ?? "unknown time";
            var line = problem.Line is { } l ? $"line {l}, " : "";
            output.WriteLine($"{subject}: TAMPERED: first bad record {problem.Index} ({line}time {time}): {problem.Reason}");
            output.WriteLine($"{report.Count} records verified before it.");
            return CliApplication.ExitViolations;
        }

        output.WriteLine($"{subject}: intact: {report.Count} records, signed through record {report.SignedThrough}, head {report.HeadHash}");
        output.WriteLine($"signing keys: {string.Join(", ", report.KeyIds)}");
        return CliApplication.ExitClean;
    }

    internal static int Export(string store, string? from, string? to, string? client, string? file, TextWriter output, TextWriter error, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(time);
        if (!TryTime(from, "--from", error, out var fromTime) || !TryTime(to, "--to", error, out var toTime))
        {
            return CliApplication.ExitError;
        }

        var query = new RecordQuery { From = fromTime, To = toTime, Client = client };
        try
        {
            ExportSummary summary;
            if (file is null)
            {
                using var buffer = new MemoryStream();
                summary = EvidenceExport.Write(store, query, buffer, time.GetUtcNow(), cancellationToken);
                buffer.Position = 0;
                using var text = new StreamReader(buffer);
                output.Write(text.ReadToEnd());
            }
            else
            {
                using var stream = new FileStream(file, FileMode.Create, FileAccess.Write);
                summary = EvidenceExport.Write(store, query, stream, time.GetUtcNow(), cancellationToken);
            }

            error.WriteLine($"exported {summary.Matching} matching records ({summary.Records} in full, {summary.Links} as chain links){(file is null ? "" : " to " + file)}");
            return CliApplication.ExitClean;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            error.WriteLine($"segctl: store {store} cannot be exported: {e.Message}");
            return CliApplication.ExitError;
        }
    }

    private static bool TryTime(string? text, string option, TextWriter error, out DateTimeOffset? time)
    {
        time = null;
        if (text is null)
        {
            return true;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            time = parsed;
            return true;
        }

        error.WriteLine($"segctl: {option} '{text}' is not a time (ISO 8601, e.g. 2026-03-01T00:00:00Z)");
        return false;
    }
}
