using SegmentController.Core.Evidence;
using SegmentController.Core.Incidents;

namespace SegmentController.Storage.Sqlite;

/// <summary>Counts access records in a store file for an incident's exposure estimate (each request's, where a stored record joins several).</summary>
public sealed class SqliteAccessRecordCounter(string path) : IAccessRecordCounter
{
    public Task<long> CountAsync(IReadOnlyList<string> clients, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(clients);
        return Task.Run(
            () => StoreFile.CountConcerning(path, RecordTypes.Access, clients, since, until),
            cancellationToken);
    }
}
