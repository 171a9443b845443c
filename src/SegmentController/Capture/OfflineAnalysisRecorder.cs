using System.Buffers;
using System.Globalization;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;

namespace SegmentController.Capture;

/// <summary>
/// Records an offline analysis (<c>segctl pcap analyze --store</c>) in the tamper-evident store: each
/// finding as a <see cref="RecordTypes.Finding"/> record (the shape every other source uses; a finding of
/// several clients with each client's <see cref="RecordTypes.FindingView"/> beside it), then one
/// <see cref="RecordTypes.Analysis"/> record naming the file, its hash, the counts, the policy hash and
/// the indexes of those finding records — so the analysis seals the list of what it found. The analysis
/// concerns every client of the policy: with several, each client also gets its own view of it
/// (<see cref="RecordTypes.AnalysisView"/>, under its key alone), which counts and lists only the findings
/// that concern it, by the records its export shows of them (its views, or findings of its own).
/// </summary>
internal static class OfflineAnalysisRecorder
{
    /// <summary>Record type of the analysis summary (an existing type: no new one was needed).</summary>
    public const string Type = RecordTypes.Analysis;

    /// <summary>Appends the findings and the analysis; returns their indexes once all are durable.</summary>
    /// <exception cref="StoreUnavailableException">A record could not be made durable.</exception>
    public static async Task<(long Analysis, IReadOnlyList<long> Findings)> RecordAsync(
        IRecordAppender store,
        OfflineAnalysisRecord analysis,
        IReadOnlyList<Finding> findings,
        SitePolicy? policy,
        DateTimeOffset analysedAt,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(analysis);
        ArgumentNullException.ThrowIfNull(findings);

        // Queued together, the appends commit in one or a few transactions rather than one per finding.
        var appends = findings.Select(finding => FindingRecords.AppendAsync(store, finding, policy, cancellationToken)).ToArray();
        var recorded = await Task.WhenAll(appends).ConfigureAwait(false);
        var findingRecords = recorded.Select(r => r.Record).ToArray();
        var full = store.AppendAsync(Type, ClientsOf(analysis.Clients), Payload(analysis, null, findings.Count, findingRecords, analysedAt), cancellationToken).AsTask();
        var views = analysis.Clients.Count < 2 ? [] : analysis.Clients.Select(client =>
        {
            var redactor = new ClientRedactor(client, analysis.Clients, policy);
            var shown = findings.Select((f, i) => recorded[i].ShownTo(client, f.Clients)).OfType<long>().ToArray();
            return store.AppendAsync(RecordTypes.AnalysisView, ClientKey.Of(client), Payload(analysis, redactor, shown.Length, shown, analysedAt), cancellationToken).AsTask();
        }).ToArray();
        await Task.WhenAll(views.Prepend(full)).ConfigureAwait(false);
        return (await full.ConfigureAwait(false), findingRecords);
    }

    /// <summary>The analysis concerns every client of the policy; a site too large for one key is recorded site-wide (never purged).</summary>
    private static string? ClientsOf(IReadOnlyList<string> clients)
    {
        try
        {
            return ClientKey.Of(clients);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The analysis as recorded; with <paramref name="redactor"/>, as its client's view (the paths redacted, the client named).</summary>
    private static byte[] Payload(OfflineAnalysisRecord analysis, ClientRedactor? redactor, int findingCount, long[] findingRecords, DateTimeOffset analysedAt)
    {
        string Shown(string text) => redactor?.Redact(text) ?? text;
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("command", "pcap analyze");
            writer.WriteString("file", Shown(Path.GetFileName(analysis.Path)));
            writer.WriteString("path", Shown(analysis.Path));
            writer.WriteString("sha256", analysis.Sha256);
            writer.WriteNumber("bytes", analysis.Bytes);
            writer.WriteNumber("packets", analysis.Packets);
            writer.WriteNumber("decode_errors", analysis.DecodeErrors);
            if (analysis.Warning is not null)
            {
                writer.WriteString("warning", analysis.Warning);
            }

            writer.WriteString("policy", Shown(analysis.PolicyPath));
            writer.WriteString("policy_sha256", analysis.PolicySha256);
            writer.WriteString("site", analysis.Site);
            if (redactor is not null)
            {
                writer.WriteString("client", redactor.Client);
            }

            writer.WriteNumber("findings", findingCount);
            writer.WriteStartArray("finding_records");
            foreach (var index in findingRecords)
            {
                writer.WriteNumberValue(index);
            }

            writer.WriteEndArray();
            writer.WriteString("analysed_at", analysedAt.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
