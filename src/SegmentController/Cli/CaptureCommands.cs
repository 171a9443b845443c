using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SegmentController.Capture.Classification;
using SegmentController.Capture.Evidence;
using SegmentController.Capture.Rules;
using SegmentController.Capture.Sources;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;

namespace SegmentController.Cli;

/// <summary>
/// <c>segctl pcap analyze FILE --policy FILE [--json]</c> and
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
        var analyze = new Command("analyze", "Judge every frame of a capture file against the site policy.") { file, policy, json, evidence };

        // The tamper-evident store (--store PATH) is wired by the storage area: it receives
        // report.Findings exactly as printed, after analysis and before the exit code is decided.
        analyze.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var index = await LoadIndexAsync(parseResult.GetRequiredValue(policy).FullName, error, cancellationToken);
            if (index is null)
            {
                return CliApplication.ExitError;
            }

            var path = parseResult.GetRequiredValue(file).FullName;
            CaptureReport report;
            try
            {
                using var source = new PcapFileSource(path);
                report = await Task.Run(() => OfflineAnalysis.Run(source, index, DateTimeOffset.UtcNow, null, cancellationToken), cancellationToken);
            }
            catch (CaptureSourceException e)
            {
                await error.WriteLineAsync($"segctl: {e.Message}");
                return CliApplication.ExitError;
            }

            if (report.Warning is not null)
            {
                await error.WriteLineAsync($"segctl: warning: {report.Warning}; the frames before it were analysed");
            }

            var evidenceFiles = WriteEvidence(parseResult.GetValue(evidence), report);
            var summary = new RunSummary(path, report.Packets, report.DecodeErrors, report.Findings, evidenceFiles, []);
            await Print(output, summary, parseResult.GetValue(json));
            return report.Findings.Count > 0 ? CliApplication.ExitViolations : CliApplication.ExitClean;
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
            var index = await LoadIndexAsync(parseResult.GetRequiredValue(policy).FullName, error, cancellationToken);
            if (index is null)
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
            var reports = runs.Select(r => new CaptureReport(r.Analyzer.Packets, r.Analyzer.DecodeErrors, findings, r.Analyzer.Violations(), null)).ToArray();
            var evidenceFiles = reports.SelectMany(r => WriteEvidence(parseResult.GetValue(evidence), r)).ToArray();
            var statistics = runs.Select(r => (r.Source.Name, r.Source.Statistics)).ToArray();
            var summary = new RunSummary(
                string.Join(',', runs.Select(r => r.Source.Name)),
                runs.Sum(r => r.Analyzer.Packets),
                runs.Sum(r => r.Analyzer.DecodeErrors),
                findings,
                evidenceFiles,
                statistics);
            await Print(output, summary, parseResult.GetValue(json));
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
    private static async Task<PolicyIndex?> LoadIndexAsync(string path, TextWriter error, CancellationToken cancellationToken)
    {
        var opened = PolicyFile.Open(path);
        if (opened.Provider is null)
        {
            foreach (var message in opened.Errors)
            {
                await error.WriteLineAsync(message);
            }

            await error.WriteLineAsync($"segctl: {path}: the policy does not load");
            return null;
        }

        var index = await PolicyIndex.BuildAsync(opened.Provider.Current, null, ResolveTimeout, cancellationToken);
        foreach (var warning in index.Warnings)
        {
            await error.WriteLineAsync($"segctl: warning: {warning}");
        }

        return index;
    }

    private static List<string> WriteEvidence(DirectoryInfo? directory, CaptureReport report)
    {
        if (directory is null)
        {
            return [];
        }

        directory.Create();
        var written = new List<string>();
        var n = 0;
        foreach (var violation in report.Violations.OrderBy(v => v.FirstTicks))
        {
            var path = Path.Combine(directory.FullName, string.Create(CultureInfo.InvariantCulture, $"{++n:D4}-{CaptureRuleIds.Of(violation.Rule)}.pcap"));
            PcapWriter.WriteFile(path, violation.Frames.ToArray());
            written.Add(path);
        }

        return written;
    }

    private static async Task Print(TextWriter output, RunSummary summary, bool json)
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
            await output.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"{name}: received {statistics.Received}, dropped {statistics.Dropped}, interface dropped {statistics.InterfaceDropped}"));
        }

        foreach (var path in summary.EvidenceFiles)
        {
            await output.WriteLineAsync($"evidence: {path}");
        }

        await output.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"{summary.Packets} packets analysed, {summary.DecodeErrors} decode errors, {summary.Findings.Count} findings"));
    }

    private sealed record RunSummary(
        string Input,
        long Packets,
        long DecodeErrors,
        IReadOnlyList<Finding> Findings,
        IReadOnlyList<string> EvidenceFiles,
        IReadOnlyList<(string Name, CaptureStatistics Statistics)> Statistics);
}
