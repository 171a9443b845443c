using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SegmentController.Capture;
using SegmentController.Capture.Classification;
using SegmentController.Capture.Evidence;
using SegmentController.Capture.Rules;
using SegmentController.Capture.Sources;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Cli;

/// <summary>
/// <c>segctl pcap analyze FILE --policy FILE [--json] [--store PATH]</c> and
/// <c>segctl capture live --interface IF --policy FILE [--seconds N]</c>: judge a capture against the
/// site policy. Exit 0 clean, 1 violations, 2 error.
/// </summary>
internal static class CaptureCommands
{
    /// <summary>How long an upstream host name may take to resolve while the policy index is built.</summary>
    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(3);

    /// <summary>The <c>pcap</c> command (offline analysis).</summary>
    public static Command CreatePcap()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "A pcap or pcapng capture (Ethernet)." };
        var policy = PolicyOption();
        var json = new Option<bool>("--json") { Description = "Print the findings as JSON." };
        var evidence = EvidenceOption();
        var store = new Option<string?>("--store")
        {
            Description = "Record the analysis (file, its SHA-256, counts, policy hash) and each finding in this tamper-evident store (created with its signing key if new).",
        };
        var analyze = new Command("analyze", "Judge every frame of a capture file against the site policy. Exit 0 clean, 1 violations, 2 error (a file that is not a capture or is cut short, a policy that does not load).") { file, policy, json, evidence, store };
        analyze.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var loaded = await LoadIndexAsync(parseResult.GetRequiredValue(policy).FullName, error, cancellationToken);
            if (loaded is not var (index, site))
            {
                return CliApplication.ExitError;
            }

            var path = parseResult.GetRequiredValue(file).FullName;
            var storePath = parseResult.GetValue(store);
            CaptureReport report;

            // With --store the file is hashed as it is read: the recorded hash is of the bytes analysed.
            using var source = new PcapFileSource(path) { ComputeSha256 = storePath is not null };
            try
            {
                report = await Task.Run(() => OfflineAnalysis.Run(source, index, DateTimeOffset.UtcNow, null, cancellationToken), cancellationToken);
            }
            catch (CaptureSourceException e)
            {
                await error.WriteLineAsync($"segctl: {e.Message}");
                return CliApplication.ExitError;
            }

            if (report.Warning is not null)
            {
                // Part of the capture was never judged: what was read is reported, but it is not a clean bill.
                await error.WriteLineAsync($"segctl: {report.Warning}; the frames before it were analysed, the rest of the file was not");
            }

            var evidenceFiles = WriteEvidence(parseResult.GetValue(evidence), [(null, report.Violations)]);
            StoredAnalysis? stored = null;
            if (storePath is not null)
            {
                var analysis = new OfflineAnalysisRecord(
                    path,
                    Convert.ToHexStringLower(source.Sha256!),
                    source.Length,
                    report.Packets,
                    report.DecodeErrors,
                    report.Warning,
                    site.SourcePath,
                    site.Sha256,
                    site.Site.Id,
                    site.Clients.Select(c => c.Id).ToArray());
                stored = await RecordAsync(storePath, analysis, report, site, error, cancellationToken);
                if (stored is null)
                {
                    return CliApplication.ExitError;
                }
            }

            var summary = new RunSummary(path, report.Packets, report.DecodeErrors, report.Findings, evidenceFiles, [], stored);
            await Print(output, error, summary, parseResult.GetValue(json));
            return report.Warning is not null ? CliApplication.ExitError
                : report.Findings.Count > 0 ? CliApplication.ExitViolations
                : CliApplication.ExitClean;
        });

        return new Command("pcap", "Offline analysis of capture files.") { analyze };
    }

    /// <summary>The <c>capture</c> command (live capture from the command line).</summary>
    public static Command CreateCapture()
    {
        var interfaces = new Option<string[]>("--interface")
        {
            Description = "Interface(s) to capture on; the policy's settings for it apply when it lists it.",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var policy = PolicyOption();
        var seconds = new Option<int?>("--seconds") { Description = "Stop after this many seconds (default: until interrupted)." };
        var json = new Option<bool>("--json") { Description = "Print the findings as JSON." };
        var evidence = EvidenceOption();
        var live = new Command("live", "Capture on live interfaces and judge every frame against the site policy.") { interfaces, policy, seconds, json, evidence };
        live.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var loaded = await LoadIndexAsync(parseResult.GetRequiredValue(policy).FullName, error, cancellationToken);
            if (loaded is not var (index, _))
            {
                return CliApplication.ExitError;
            }

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (parseResult.GetValue(seconds) is { } limit)
            {
                if (limit <= 0)
                {
                    await error.WriteLineAsync("segctl: --seconds must be positive");
                    return CliApplication.ExitError;
                }

                stop.CancelAfter(TimeSpan.FromSeconds(limit));
            }

            var runs = parseResult.GetRequiredValue(interfaces).Distinct(StringComparer.Ordinal).Select(name =>
            {
                var settings = index.Capture.Interfaces.FirstOrDefault(i => string.Equals(i.Name, name, StringComparison.Ordinal))
                    ?? new CaptureInterface { Name = name };
                var source = new LiveInterfaceSource(settings, TimeProvider.System);
                var analyzer = new CaptureAnalyzer(index, name);
                return (Source: source, Analyzer: analyzer, Task: Task.Factory.StartNew(
                    () => source.Run(analyzer, stop.Token), stop.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default));
            }).ToArray();

            var failed = false;
            foreach (var run in runs)
            {
                try
                {
                    await run.Task;
                }
                catch (CaptureSourceException e)
                {
                    failed = true;
                    await error.WriteLineAsync($"segctl: {e.Message}");
                    await stop.CancelAsync();
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                }
                finally
                {
                    run.Source.Dispose();
                }
            }

            if (failed)
            {
                return CliApplication.ExitError;
            }

            var observedAt = DateTimeOffset.UtcNow;
            var findings = runs.SelectMany(r => r.Analyzer.AllFindings(observedAt)).OrderByDescending(f => f.Severity).ThenBy(f => f.Rule, StringComparer.Ordinal).ToArray();
            var evidenceFiles = WriteEvidence(parseResult.GetValue(evidence), runs.Select(r => ((string?)r.Source.Name, r.Analyzer.Violations())).ToArray());
            var statistics = runs.Select(r => (r.Source.Name, r.Source.Statistics)).ToArray();
            var summary = new RunSummary(
                string.Join(',', runs.Select(r => r.Source.Name)),
                runs.Sum(r => r.Analyzer.Packets),
                runs.Sum(r => r.Analyzer.DecodeErrors),
                findings,
                evidenceFiles,
                statistics,
                null);
            await Print(output, error, summary, parseResult.GetValue(json));
            return findings.Length > 0 ? CliApplication.ExitViolations : CliApplication.ExitClean;
        });

        return new Command("capture", "Live capture.") { live };
    }

    private static Option<FileInfo> PolicyOption() => new("--policy")
    {
        Description = "The site policy (YAML).",
        Required = true,
    };

    private static Option<DirectoryInfo?> EvidenceOption() => new("--evidence")
    {
        Description = "Write the first frames of each violating flow as a small pcap into this directory.",
    };

    /// <summary>The one place a capture command turns a policy file into a policy index.</summary>
    private static async Task<(PolicyIndex Index, SitePolicy Policy)?> LoadIndexAsync(string path, TextWriter error, CancellationToken cancellationToken)
    {
        var opened = await PolicyFile.OpenReportingAsync(path, error);
        if (opened.Provider is null)
        {
            await error.WriteLineAsync($"segctl: {path}: the policy does not load");
            return null;
        }

        var site = opened.Provider.Current;
        var index = await PolicyIndex.BuildAsync(site, null, ResolveTimeout, cancellationToken);
        foreach (var warning in index.Warnings)
        {
            await error.WriteLineAsync($"segctl: warning: {warning}");
        }

        return (index, site);
    }

    /// <summary>
    /// Records the analysis and its findings in the store; null (after saying why) when the store
    /// cannot take them — evidence that was asked for and not kept is an error, not a warning.
    /// </summary>
    private static async Task<StoredAnalysis?> RecordAsync(string storePath, OfflineAnalysisRecord analysis, CaptureReport report, SitePolicy policy, TextWriter error, CancellationToken cancellationToken)
    {
        try
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(storePath));
            if (directory is not null)
            {
                Directory.CreateDirectory(directory);
            }

            await using var opened = await SqliteEvidenceStore.OpenAsync(new StoreOptions { Path = storePath, Notice = LogCommands.Notice(error) }, TimeProvider.System, cancellationToken);
            var (index, findings) = await OfflineAnalysisRecorder.RecordAsync(opened, analysis, report.Findings, policy, DateTimeOffset.UtcNow, cancellationToken);
            return new StoredAnalysis(storePath, index, findings);
        }
        catch (Exception e) when (e is StoreUnavailableException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            await error.WriteLineAsync($"segctl: store {storePath}: the analysis was not recorded ({e.Message})");
            return null;
        }
    }

    /// <summary>
    /// Writes each violation's first frames as a pcap, numbered in order of first sight across every
    /// source; a live capture's files carry the interface name, so several interfaces never collide.
    /// </summary>
    private static List<string> WriteEvidence(DirectoryInfo? directory, IReadOnlyList<(string? Interface, IReadOnlyList<Violation> Violations)> sources)
    {
        if (directory is null)
        {
            return [];
        }

        directory.Create();
        var written = new List<string>();
        var n = 0;
        var ordered = sources
            .SelectMany(s => s.Violations.Where(v => v.Frames.Count > 0).Select(v => (s.Interface, Violation: v)))
            .OrderBy(p => p.Violation.FirstTicks)
            .ThenBy(p => p.Interface, StringComparer.Ordinal);
        foreach (var (source, violation) in ordered)
        {
            var prefix = source is null ? "" : CaptureEvidenceWriter.SafeName(source) + "-";
            var path = Path.Combine(directory.FullName, string.Create(CultureInfo.InvariantCulture, $"{prefix}{++n:D4}-{CaptureRuleIds.Of(violation.Rule)}.pcap"));
            PcapWriter.WriteFile(path, violation.Frames.ToArray());
            written.Add(path);
        }

        return written;
    }

    /// <summary>
    /// JSON: everything on standard output. Text: the findings on standard output — nothing at all for a
    /// clean capture — and the counts, interface statistics, evidence files and store records on
    /// standard error.
    /// </summary>
    private static async Task Print(TextWriter output, TextWriter error, RunSummary summary, bool json)
    {
        if (json)
        {
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                writer.WriteStartObject();
                writer.WriteString("input", summary.Input);
                writer.WriteNumber("packets", summary.Packets);
                writer.WriteNumber("decode_errors", summary.DecodeErrors);
                if (summary.Statistics.Count > 0)
                {
                    writer.WriteStartArray("interfaces");
                    foreach (var (name, statistics) in summary.Statistics)
                    {
                        writer.WriteStartObject();
                        writer.WriteString("interface", name);
                        writer.WriteNumber("received", statistics.Received);
                        writer.WriteNumber("dropped", statistics.Dropped);
                        writer.WriteNumber("interface_dropped", statistics.InterfaceDropped);
                        writer.WriteEndObject();
                    }

                    writer.WriteEndArray();
                }

                writer.WriteStartArray("findings");
                foreach (var finding in summary.Findings)
                {
                    FindingJson.Write(writer, finding);
                }

                writer.WriteEndArray();
                if (summary.Stored is { } recorded)
                {
                    writer.WriteStartObject("store");
                    writer.WriteString("path", recorded.Path);
                    writer.WriteNumber("analysis_record", recorded.Analysis);
                    writer.WriteStartArray("finding_records");
                    foreach (var index in recorded.Findings)
                    {
                        writer.WriteNumberValue(index);
                    }

                    writer.WriteEndArray();
                    writer.WriteEndObject();
                }

                if (summary.EvidenceFiles.Count > 0)
                {
                    writer.WriteStartArray("evidence_files");
                    foreach (var path in summary.EvidenceFiles)
                    {
                        writer.WriteStringValue(path);
                    }

                    writer.WriteEndArray();
                }

                writer.WriteEndObject();
            }

            await output.WriteLineAsync(Encoding.UTF8.GetString(buffer.ToArray()));
            return;
        }

        foreach (var finding in summary.Findings)
        {
            var e = finding.Evidence;
            var vlans = e.TryGetValue("vlans", out var v) && v is int[] list ? (list.Length == 0 ? "-" : string.Join('/', list)) : "-";
            var clients = finding.Clients.Count == 0 ? "-" : string.Join(',', finding.Clients);
            var packets = e.TryGetValue("packets", out var p) ? Convert.ToString(p, CultureInfo.InvariantCulture) : "-";
            await output.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"{IdentifierNames.Of(finding.Severity),-8} {finding.Rule,-22} clients={clients,-16} vlans={vlans,-8} packets={packets,-8} {finding.Summary}"));
        }

        foreach (var (name, statistics) in summary.Statistics)
        {
            await error.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"{name}: received {statistics.Received}, dropped {statistics.Dropped}, interface dropped {statistics.InterfaceDropped}"));
        }

        foreach (var path in summary.EvidenceFiles)
        {
            await error.WriteLineAsync($"evidence: {path}");
        }

        if (summary.Stored is { } stored)
        {
            await error.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"recorded in {stored.Path}: analysis record {stored.Analysis}, {stored.Findings.Count} finding records"));
        }

        await error.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"{summary.Packets} packets analysed, {summary.DecodeErrors} decode errors, {summary.Findings.Count} findings"));
    }

    private sealed record RunSummary(
        string Input,
        long Packets,
        long DecodeErrors,
        IReadOnlyList<Finding> Findings,
        IReadOnlyList<string> EvidenceFiles,
        IReadOnlyList<(string Name, CaptureStatistics Statistics)> Statistics,
        StoredAnalysis? Stored);

    private sealed record StoredAnalysis(string Path, long Analysis, IReadOnlyList<long> Findings);
}
