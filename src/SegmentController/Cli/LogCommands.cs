using System.CommandLine;
using System.Globalization;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Storage.Export;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Cli;

/// <summary>
/// <c>segctl log verify [--store PATH | --export FILE | --url URL]</c>,
/// <c>segctl log export [--store PATH] [--from T] [--to T] [--client ID] [--out FILE]</c>,
/// <c>segctl log append</c>, <c>segctl log purge --policy FILE [--store PATH] [--dry-run]</c> and
/// <c>segctl log rotate-key --new-key FILE [--old-key FILE] [--store PATH]</c>: on a local store file, or
/// (verify) on the running controller's store through the operator API. Commands that write take the
/// store's writer lock: against the store of a running controller they exit 2 naming it.
/// </summary>
internal static class LogCommands
{
    public static Command Create()
    {
        var command = new Command("log", "Verify and export the tamper-evident evidence log.");
        command.Subcommands.Add(CreateVerify());
        command.Subcommands.Add(CreateExport());
        command.Subcommands.Add(CreateAppend());
        command.Subcommands.Add(CreatePurge());
        command.Subcommands.Add(CreateRotateKey());
        return command;
    }

    private static Command CreatePurge()
    {
        var store = new Option<string?>("--store") { Description = "The store file (default: the policy's controller.store.path)." };
        var policy = new Option<string>("--policy") { Description = "The site policy: each client's contract_end sets its retention (contract end + 6 years).", Required = true };
        var dryRun = new Option<bool>("--dry-run") { Description = "Only count what would be purged; write nothing." };
        var command = new Command("purge", "Empty the payloads of records past their retention (every client they concern: contract end + 6 years), recording the policy applied and the purge in the chain; verification still holds. Exit 0 done (or nothing to purge), 2 error (bad policy, unreadable or busy store).")
        {
            store,
            policy,
            dryRun,
        };
        command.SetAction((parseResult, cancellationToken) => Purge(
            parseResult.GetValue(policy)!,
            parseResult.GetValue(store),
            parseResult.GetValue(dryRun),
            parseResult.InvocationConfiguration.Output,
            parseResult.InvocationConfiguration.Error,
            TimeProvider.System,
            cancellationToken));
        return command;
    }

    internal static async Task<int> Purge(string policyPath, string? storePath, bool dryRun, TextWriter output, TextWriter error, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(time);
        var opened = await PolicyFile.OpenReportingAsync(policyPath, error);
        if (opened.Provider is not { } provider)
        {
            await error.WriteLineAsync($"segctl: policy {policyPath} {(opened.Unreadable ? "cannot be read" : "is not valid")}: nothing purged");
            return CliApplication.ExitError;
        }

        var site = provider.Current;
        var path = storePath ?? site.Controller.Store.Path;
        var retainUntil = Retention.RetainUntil(site);
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        try
        {
            if (dryRun)
            {
                var (records, clients) = StoreFile.CountPurgeable(path, retainUntil, today);
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"dry run: {records} records of {path} are past retention on {today:yyyy-MM-dd} (clients past retention: {(clients.Count == 0 ? "none" : string.Join(", ", clients))}); nothing written"));
                return CliApplication.ExitClean;
            }

            await using var opened2 = await SqliteEvidenceStore.OpenAsync(
                new Storage.StoreOptions
                {
                    Path = path,
                    SigningKeyFile = string.Equals(Path.GetFullPath(path), Path.GetFullPath(site.Controller.Store.Path), StringComparison.Ordinal) ? site.Controller.Store.SigningKeyFile : null,
                    Notice = Notice(error),
                },
                time,
                cancellationToken);

            // The retention applied is on record before the purge it justifies.
            var load = await opened2.AppendAsync(RecordTypes.PolicyLoad, null, PolicyLoadRecord.Create(site, PolicyLoadRecord.Purge), cancellationToken);
            var result = await opened2.PurgeExpiredAsync(retainUntil, today, cancellationToken);
            await output.WriteLineAsync(result.PurgeRecordIndex < 0
                ? string.Create(CultureInfo.InvariantCulture, $"nothing past retention in {path} on {today:yyyy-MM-dd} (policy recorded at record {load})")
                : string.Create(CultureInfo.InvariantCulture, $"purged {result.PurgedCount} records of {path} (clients past retention: {string.Join(", ", result.Clients)}); purge record {result.PurgeRecordIndex}, policy recorded at record {load}"));
            return CliApplication.ExitClean;
        }
        catch (Exception e) when (e is StoreUnavailableException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            await error.WriteLineAsync($"segctl: {e.Message}");
            return CliApplication.ExitError;
        }
    }

    private static Command CreateRotateKey()
    {
        var store = StoreOption();
        var newKey = new Option<string>("--new-key") { Description = "The new ECDSA P-256 private key (PEM); created (owner-readable) if the file does not exist.", Required = true };
        var oldKey = new Option<string?>("--old-key") { Description = "The key the chain uses now (default: the store path plus .key.pem); it endorses the new one." };
        var command = new Command("rotate-key", "Switch the store's signing key: the rotation is recorded in the chain, endorsed by the old key, and verification holds across it. Then set controller.store.signing_key_file to the new key. Exit 0 rotated, 2 error (wrong old key, busy store).")
        {
            store,
            newKey,
            oldKey,
        };
        command.SetAction((parseResult, cancellationToken) => RotateKey(
            parseResult.GetValue(store)!,
            parseResult.GetValue(newKey)!,
            parseResult.GetValue(oldKey),
            parseResult.InvocationConfiguration.Output,
            parseResult.InvocationConfiguration.Error,
            cancellationToken));
        return command;
    }

    internal static async Task<int> RotateKey(string store, string newKey, string? oldKey, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        if (!File.Exists(store))
        {
            await error.WriteLineAsync($"segctl: store {store} does not exist");
            return CliApplication.ExitError;
        }

        try
        {
            await using var opened = await SqliteEvidenceStore.OpenAsync(new Storage.StoreOptions { Path = store, SigningKeyFile = oldKey ?? store + ".key.pem", Notice = Notice(error) }, TimeProvider.System, cancellationToken);
            var previous = opened.KeyId;
            var index = await opened.RotateKeyAsync(newKey, cancellationToken);
            await output.WriteLineAsync($"signing key of {store} rotated at record {index}: {opened.KeyId} (endorsed by {previous})");
            await output.WriteLineAsync($"set controller.store.signing_key_file to {Path.GetFullPath(newKey)} before the controller next opens the store");
            return CliApplication.ExitClean;
        }
        catch (Exception e) when (e is StoreUnavailableException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            await error.WriteLineAsync($"segctl: {e.Message}");
            return CliApplication.ExitError;
        }
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
            await using var opened = await SqliteEvidenceStore.OpenAsync(new Storage.StoreOptions { Path = store, Notice = Notice(error) }, TimeProvider.System, cancellationToken);
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

    /// <summary>Says on standard error what opening a store did beside it (a leftover partial key file removed).</summary>
    internal static Action<string> Notice(TextWriter error) => line => error.WriteLine($"segctl: {line}");

    private static Option<string> StoreOption() => new("--store")
    {
        Description = "The store file (SQLite).",
        DefaultValueFactory = _ => new StoreSettings().Path,
    };

    private static Command CreateVerify()
    {
        var store = StoreOption();
        var export = new Option<string?>("--export") { Description = "Verify this export file (JSON Lines) on its own instead of a store." };
        var acceptKey = new Option<string[]>("--accept-key")
        {
            Description = "A signing key id the site introduced without the previous key's endorsement (it replaced a lost key), vouched for by the operator: accepted with a warning. Without it such a key is reported as the first bad record, for nothing ties it to the chain before it. Repeatable; with --store or --export only.",
        };
        var api = new OperatorCommands.ConnectionOptions();
        var progressOption = CliProgress.CreateOption();
        var command = new Command("verify", $"Recompute the hash chain, checkpoints and signed head: of a local store (--store), of an export (--export), or of the running controller's store through its API (--url, or {OperatorCommands.UrlVariable} when no --store is given; needs the auditor role). Exit 0 intact (with the count, and for one client's export how many records it withheld because they concern other clients too), 1 tampered (naming the first bad record and time, or line of an export), 2 unreadable.")
        {
            store,
            export,
            acceptKey,
            progressOption,
        };
        api.AddTo(command);
        command.SetAction((parseResult, cancellationToken) =>
        {
            var storeGiven = parseResult.GetResult(store) is { Implicit: false };
            var viaApi = parseResult.GetValue(export) is null
                && (parseResult.GetValue(api.Url) is not null || (!storeGiven && Environment.GetEnvironmentVariable(OperatorCommands.UrlVariable) is { Length: > 0 }));
            var accepted = parseResult.GetValue(acceptKey) ?? [];
            if (viaApi)
            {
                if (accepted.Length > 0)
                {
                    parseResult.InvocationConfiguration.Error.WriteLine("segctl: --accept-key applies to a store (--store) or an export (--export) verified here, not to the controller's verification through its API");
                    return Task.FromResult(CliApplication.ExitError);
                }

                return OperatorCommands.RunAsync(parseResult, api, (client, output) =>
                    VerifyThroughApiAsync(client, parseResult.GetValue(api.Json), parseResult.GetValue(progressOption), output, parseResult.InvocationConfiguration.Error, cancellationToken), VerifyTimeout);
            }

            return Task.Run(
                () => Verify(parseResult.GetValue(store)!, parseResult.GetValue(export), parseResult.InvocationConfiguration.Output, parseResult.InvocationConfiguration.Error, cancellationToken, accepted),
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
            // The time as a local verify prints it ("O": 7 fraction digits), not as the API's JSON wrote it.
            var time = !problem.TryGetProperty("time", out var at) ? "unknown time"
                : at.TryGetDateTimeOffset(out var when) ? when.ToString("O", CultureInfo.InvariantCulture)
                : at.GetString();
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
        var from = new Option<string?>("--from") { Description = "Records at or after this time: ISO 8601 only, a date (2026-03-01, its 00:00 UTC) or a date and time with T and Z or an offset (2026-03-01T00:00:00Z; without either, UTC)." };
        var to = new Option<string?>("--to") { Description = "Records at or before this time (ISO 8601, as --from; not before --from)." };
        var client = new Option<string?>("--client") { Description = "Only records concerning this client id (exact case; one the store does not know — no policy on record names it, or in a store without one no record concerns it — is an error). A record that concerns other clients too (a shared incident or finding) is withheld: written as a chain link marked withheld, with its type, and counted in the header, so the export carries nothing of another client." };
        var output = new Option<string?>("--out") { Description = "Write to this file instead of standard output (- is standard output): whole or not at all (a failed or interrupted export leaves a file of that name as it was). Only a regular file is replaced: a directory, device, named pipe or socket is refused." };
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

    internal static int Verify(string store, string? export, TextWriter output, TextWriter error, CancellationToken cancellationToken, IReadOnlyCollection<string>? acceptedKeys = null)
    {
        acceptedKeys ??= [];
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var subject = export is null ? $"store {store}" : $"export {export}";
        VerificationReport report;
        try
        {
            report = export is null
                ? StoreVerifier.Verify(store, acceptedKeys, cancellationToken)
                : ExportVerifier.Verify(export, acceptedKeys, cancellationToken);
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
        if (report.Withheld > 0)
        {
            output.WriteLine($"withheld: {report.Withheld} records concerning the export's client that concern other clients too (their place in the chain verified, not their contents)");
        }

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

        if (fromTime > toTime)
        {
            error.WriteLine($"segctl: --from {from} is later than --to {to}: the window holds nothing");
            return CliApplication.ExitError;
        }

        if (client is not null && !ClientKey.IsValid(client))
        {
            // As the API's export: a name no record can carry would export the site's own records alone.
            error.WriteLine(Logging.PrintableText.Escape($"segctl: --client '{client}' is not a client id: 1 to 64 of A-Z a-z 0-9 . _ -"));
            return CliApplication.ExitError;
        }

        if (file == OutputFile.StandardOutput)
        {
            file = null;
        }

        string? target = null;
        if (file is not null && (target = OutputFile.Target(file, out var problem)) is null)
        {
            error.WriteLine($"segctl: --out {file} cannot be written: {problem}");
            return CliApplication.ExitError;
        }

        var query = new RecordQuery { From = fromTime, To = toTime, Client = client };
        StandardOutputStream? standardOutput = null;
        try
        {
            if (client is not null && StoreFile.Clients(store) is var known && !known.Contains(client, StringComparer.Ordinal))
            {
                // As the API's export: a name that is no client's would export the site's own records alone.
                error.WriteLine($"segctl: --client '{client}' is not a client of store {store} (its clients: {(known.Count == 0 ? "none" : string.Join(", ", known))}); nothing exported");
                return CliApplication.ExitError;
            }

            ExportSummary summary;
            if (file is null)
            {
                // Streamed as it is read: a store holds years of a client's evidence, more than memory.
                using (standardOutput = StandardOutputStream.For(output))
                {
                    summary = EvidenceExport.Write(store, query, standardOutput, time.GetUtcNow(), cancellationToken);
                    standardOutput.Flush();
                }
            }
            else
            {
                summary = OutputFile.WriteWhole(target!, (stream, token) => EvidenceExport.Write(store, query, stream, time.GetUtcNow(), token), Notice(error), cancellationToken);
            }

            error.WriteLine($"exported {summary.Matching} matching records ({summary.Records} in full, {summary.Links} as chain links){(file is null ? "" : " to " + file)}");
            if (client is not null)
            {
                error.WriteLine($"{summary.Withheld} records concerning {client} withheld: they concern other clients too (chain links marked withheld)");
            }

            return CliApplication.ExitClean;
        }
        catch (OutputFileException e)
        {
            error.WriteLine($"segctl: --out {file} cannot be written: {e.Message}; nothing written");
            return CliApplication.ExitError;
        }
        catch (StandardOutputException e)
        {
            error.WriteLine($"segctl: standard output cannot be written: {e.Message}; {Incomplete}");
            return CliApplication.ExitError;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            var written = standardOutput is { BytesWritten: > 0 } ? $"; {Incomplete}" : "";
            error.WriteLine($"segctl: store {store} cannot be exported: {e.Message}{written}");
            return CliApplication.ExitError;
        }
    }

    /// <summary>What a failed export to standard output has left there.</summary>
    private const string Incomplete = "the export written to standard output is incomplete";

    private static bool TryTime(string? text, string option, TextWriter error, out DateTimeOffset? time)
    {
        time = null;
        if (text is null)
        {
            return true;
        }

        if (IsoTime.TryParse(text, out var parsed))
        {
            time = parsed;
            return true;
        }

        error.WriteLine(Logging.PrintableText.Escape($"segctl: {option} '{text}' is not a time: give {IsoTime.Expected}"));
        return false;
    }
}
