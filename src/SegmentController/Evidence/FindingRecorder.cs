using System.Buffers;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;

namespace SegmentController.Evidence;

/// <summary>Records every finding in the tamper-evident store (a failure propagates: unrecorded evidence is not healthy).</summary>
internal sealed class FindingRecorder(IRecordAppender store) : IFindingConsumer
{
    public async ValueTask OnFindingsAsync(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(findings);
        var appends = new List<Task<long>>(findings.Count);
        foreach (var finding in findings)
        {
            var buffer = new ArrayBufferWriter<byte>(512);
            using (var writer = new Utf8JsonWriter(buffer))
            {
                FindingJson.Write(writer, finding);
            }

            appends.Add(store.AppendAsync(RecordTypes.Finding, ClientKey.Of(finding.Clients), buffer.WrittenMemory, cancellationToken).AsTask());
        }

        await Task.WhenAll(appends).ConfigureAwait(false);
    }
}
