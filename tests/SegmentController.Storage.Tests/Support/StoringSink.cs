using System.Buffers;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;

namespace SegmentController.Storage.Tests.Support;

/// <summary>Records published findings in the store under their clients' key, as the host's pipeline does, and keeps them.</summary>
public sealed class StoringSink(IRecordAppender store) : IFindingSink
{
    public List<Finding> Findings { get; } = [];

    public async ValueTask PublishAsync(IReadOnlyList<Finding> findings, CancellationToken cancellationToken)
    {
        foreach (var finding in findings)
        {
            var buffer = new ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                FindingJson.Write(writer, finding);
            }

            await store.AppendAsync(RecordTypes.Finding, ClientKey.Of(finding.Clients), buffer.WrittenMemory.ToArray(), cancellationToken);
            lock (Findings)
            {
                Findings.Add(finding);
            }
        }
    }
}
