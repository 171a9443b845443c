using SegmentController.Core.Audits;
using SegmentController.Core.Evidence;

namespace SegmentController.Audits;

/// <summary>
/// The audit results on record, read newest first and only as far back as the questions asked of them
/// need; a later question reads on from where the last one stopped. Not thread-safe: one read at a time.
/// </summary>
/// <remarks>
/// A client's latest audit is the one that finished last, the later record of two that finished at the same
/// time (as the service keeps it while running). Reading back from the newest record, an older record can
/// only be a client's latest if it finished after the best one read so far. A report is finished before it
/// is recorded, and the store stamps a record no earlier than its predecessor, so every record older than
/// one stamped at <c>t</c> finished by <c>t</c>: once a client's best finished at or after the stamp of the
/// oldest record read, nothing older can replace it (<see cref="Latest"/>). That holds while the clock does
/// not step back between an audit's end and its record; it is the bound that lets the read stop.
/// </remarks>
internal sealed class AuditHistory(IEvidenceStore store, int recentCapacity, int fullSize)
{
    private readonly List<AuditReport> _recent = [];
    private readonly Dictionary<string, ClientAuditStatus> _best = new(StringComparer.Ordinal);
    private (DateTimeOffset Time, long Index)? _oldestRead;

    /// <summary>The newest reports read, newest first (at most the capacity).</summary>
    public IReadOnlyList<AuditReport> Recent => _recent;

    /// <summary>
    /// Where the evidence window of the newest full audit read (results for at least <c>fullSize</c> clients) ended: when it
    /// started. The next window starts there, so what was recorded while that audit ran is judged by the next.
    /// </summary>
    public DateTimeOffset? LastFull { get; private set; }

    /// <summary>Whether every audit result on record has been read.</summary>
    public bool Complete { get; private set; }

    /// <summary>Every client with a result among the records read.</summary>
    public IEnumerable<string> Clients => _best.Keys;

    /// <summary>
    /// The client's latest audit on record, or null while the records not yet read might still hold it
    /// (or, once all are read, when it has none).
    /// </summary>
    public ClientAuditStatus? Latest(string client) =>
        _best.TryGetValue(client, out var best) && (Complete || (_oldestRead is { } oldest && best.FinishedAt >= oldest.Time)) ? best : null;

    /// <summary>
    /// Reads older records, newest first, until <paramref name="enough"/> holds (asked after each record) or
    /// none are left. Corrupt or unreadable payloads are passed over.
    /// </summary>
    public async Task ReadUntilAsync(Func<AuditHistory, bool> enough, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(enough);
        if (Complete || enough(this))
        {
            return;
        }

        // Records sharing the oldest read one's stamp come again from the store: those already read are passed.
        var query = new RecordQuery { Type = RecordTypes.AuditResult, To = _oldestRead?.Time, NewestFirst = true };
        await foreach (var record in store.ReadAsync(query, cancellationToken).ConfigureAwait(false))
        {
            if (_oldestRead is { } oldest && record.Index >= oldest.Index)
            {
                continue;
            }

            Take(record);
            _oldestRead = (record.Time, record.Index);
            if (enough(this))
            {
                return;
            }
        }

        Complete = true;
    }

    private void Take(StoredRecord record)
    {
        if (record.Payload is not { } payload)
        {
            return;
        }

        AuditReport report;
        try
        {
            report = AuditReportJson.Read(payload, record.Index);
        }
        catch (FormatException)
        {
            return;
        }

        if (_recent.Count < recentCapacity)
        {
            _recent.Add(report);
        }

        if (LastFull is null && report.Results.Count >= fullSize)
        {
            LastFull = report.StartedAt;
        }

        foreach (var result in report.Results)
        {
            // Newer records come first: an older one replaces only by finishing strictly later.
            if (!_best.TryGetValue(result.Client, out var best) || report.FinishedAt > best.FinishedAt)
            {
                _best[result.Client] = new ClientAuditStatus(report.Id, result.Outcome, report.FinishedAt);
            }
        }
    }
}
