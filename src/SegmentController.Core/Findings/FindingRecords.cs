using System.Buffers;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Findings;

/// <summary>
/// Puts a finding on record the one way every source shares: the finding in full as <c>finding</c>, under
/// the key of every client it concerns (<see cref="Finding.Concerned"/>: its clients, and the client whose
/// system a cross-client request asked for); a finding of several clients also as each client's own view
/// (<c>finding-view</c>, <see cref="FindingView"/>), under that client's key alone, so that an export for one
/// client — which withholds the shared record — still shows that the finding was made and its part in it.
/// </summary>
public static class FindingRecords
{
    /// <summary>
    /// Appends the finding and its views; every append is queued before this returns, so findings
    /// recorded one after another and awaited together share a commit.
    /// </summary>
    /// <param name="store">Where to record.</param>
    /// <param name="finding">The finding, as published.</param>
    /// <param name="policy">The policy it was judged against: what each client's view must not name of the others.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="StoreUnavailableException">A record could not be made durable (the full record may be).</exception>
    public static Task<FindingRecordIndexes> AppendAsync(IRecordAppender store, Finding finding, SitePolicy? policy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(finding);
        var concerned = finding.Concerned;
        var full = store.AppendAsync(RecordTypes.Finding, ClientKey.Of(concerned), ToUtf8(finding), cancellationToken).AsTask();
        var views = concerned.Count < 2
            ? []
            : concerned.Select(client => (Client: client, Index: store.AppendAsync(RecordTypes.FindingView, ClientKey.Of(client), ToUtf8(FindingView.For(finding, client, policy)), cancellationToken).AsTask())).ToArray();
        return CompleteAsync(full, views);
    }

    /// <summary>The finding in the JSON shape of <see cref="FindingJson"/>.</summary>
    public static ReadOnlyMemory<byte> ToUtf8(Finding finding)
    {
        ArgumentNullException.ThrowIfNull(finding);
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            FindingJson.Write(writer, finding);
        }

        return buffer.WrittenMemory;
    }

    private static async Task<FindingRecordIndexes> CompleteAsync(Task<long> full, (string Client, Task<long> Index)[] views)
    {
        // Every append is awaited, so none fails unobserved; the first failure is the one thrown.
        await Task.WhenAll(views.Select(v => v.Index).Prepend(full)).ConfigureAwait(false);
        var indexes = new Dictionary<string, long>(views.Length, StringComparer.Ordinal);
        foreach (var (client, index) in views)
        {
            indexes[client] = await index.ConfigureAwait(false);
        }

        return new FindingRecordIndexes(await full.ConfigureAwait(false), indexes);
    }
}
