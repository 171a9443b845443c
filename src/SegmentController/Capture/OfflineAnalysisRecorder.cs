using System.Buffers;
using System.Globalization;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;

namespace SegmentController.Capture;

/// <summary>
/// Records an offline analysis (<c>segctl pcap analyze --store</c>) in the tamper-evident store: each
/// finding as a <see cref="RecordTypes.Finding"/> record (the shape every other source uses), then one
/// <see cref="RecordTypes.Analysis"/> record naming the file, its hash, the counts, the policy hash and
/// the indexes of those finding records — so the analysis seals the list of what it found.
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
        DateTimeOffset analysedAt,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(analysis);
        ArgumentNullException.ThrowIfNull(findings);

        // Queued together, the appends commit in one or a few transactions rather than one per finding.
        var appends = new Task<long>[findings.Count];
        for (var i = 0; i < findings.Count; i++)
        {
            var buffer = new ArrayBufferWriter<byte>(512);
            using (var writer = new Utf8JsonWriter(buffer))
            {
                FindingJson.Write(writer, findings[i]);
            }

            appends[i] = store.AppendAsync(RecordTypes.Finding, ClientKey.Of(findings[i].Clients), buffer.WrittenMemory, cancellationToken).AsTask();
        }

        var findingRecords = await Task.WhenAll(appends).ConfigureAwait(false);
        var payload = Payload(analysis, findings.Count, findingRecords, analysedAt);
        var index = await store.AppendAsync(Type, ClientsOf(analysis.Clients), payload, cancellationToken).ConfigureAwait(false);
        return (index, findingRecords);
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

    private static byte[] Payload(OfflineAnalysisRecord analysis, int findingCount, long[] findingRecords, DateTimeOffset analysedAt)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("command", "pcap analyze");
            writer.WriteString("file", Path.GetFileName(analysis.Path));
            writer.WriteString("path", analysis.Path);
            writer.WriteString("sha256", analysis.Sha256);
            writer.WriteNumber("bytes", analysis.Bytes);
            writer.WriteNumber("packets", analysis.Packets);
            writer.WriteNumber("decode_errors", analysis.DecodeErrors);
            if (analysis.Warning is not null)
            {
                writer.WriteString("warning", analysis.Warning);
            }

            writer.WriteString("policy", analysis.PolicyPath);
            writer.WriteString("policy_sha256", analysis.PolicySha256);
            writer.WriteString("site", analysis.Site);
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
