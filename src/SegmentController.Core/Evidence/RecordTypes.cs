namespace SegmentController.Core.Evidence;

/// <summary>
/// The stable type ids of records in the tamper-evident store. They are part of every record's hash,
/// so a spelling never changes once released.
/// </summary>
public static class RecordTypes
{
    /// <summary>A request the proxy forwarded or refused.</summary>
    public const string Access = "access";

    /// <summary>
    /// Beside the <see cref="Access"/> record of a request that concerns two clients (an agent of one asked
    /// for another's system, or presented another's certificate; the full record is kept under both keys):
    /// each client's own view of it, in the same JSON shape, under that client's key alone — the requester's
    /// naming nothing of the client asked of, the latter's (a request for its systems, refused) nothing of
    /// the requester (<c>ClientRedactor</c>). An incident's exposure count reads <see cref="Access"/> only.
    /// </summary>
    public const string AccessView = "access-view";

    /// <summary>Something an operator did (suspend, restore, approve, acknowledge).</summary>
    public const string OperatorAction = "operator-action";

    /// <summary>A finding, in the JSON shape of <c>FindingJson</c>.</summary>
    public const string Finding = "finding";

    /// <summary>
    /// Beside the <see cref="Finding"/> record of a finding that concerns several clients (a flow from one
    /// client's segment into another's, a port carrying two clients' VLANs): one client's own view of it, in
    /// the same JSON shape, naming that client alone, other clients redacted (<c>ClientRedactor</c>), under
    /// that client's key alone — what an export for that client shows of a finding whose full record it
    /// withholds. Readers that count or judge findings read <see cref="Finding"/> only.
    /// </summary>
    public const string FindingView = "finding-view";

    /// <summary>A client was suspended.</summary>
    public const string Suspension = "suspension";

    /// <summary>A suspension was lifted.</summary>
    public const string Restoration = "restoration";

    /// <summary>An incident was opened, changed, notified or closed.</summary>
    public const string IncidentEvent = "incident-event";

    /// <summary>
    /// Beside the <see cref="IncidentEvent"/> of an incident that concerns several clients, or of one client
    /// whose operator's words name another (that record is then keyed to both): one client's own view of it
    /// (what its notice carries), under that client's key alone — what an export for that client shows of an
    /// incident whose full record it withholds. Readers that rebuild incidents read <see cref="IncidentEvent"/> only.
    /// </summary>
    public const string IncidentView = "incident-view";

    /// <summary>The report of an audit run.</summary>
    public const string AuditResult = "audit-result";

    /// <summary>
    /// Beside the <see cref="AuditResult"/> of an audit that concerns several clients, or of one client whose
    /// words (an external audit's summary, its auditor) name another: one client's own view of it (its result and the checks that count for it, redacted), under that client's key alone —
    /// what an export for that client shows of an audit whose full record it withholds. Readers that rebuild
    /// audit state read <see cref="AuditResult"/> only.
    /// </summary>
    public const string AuditView = "audit-view";

    /// <summary>A policy was loaded (its hash and source).</summary>
    public const string PolicyLoad = "policy-load";

    /// <summary>An offline analysis (e.g. <c>segctl pcap analyze --store</c>) and its outcome.</summary>
    public const string Analysis = "analysis";

    /// <summary>
    /// Beside the <see cref="Analysis"/> record of an analysis that concerns several clients (an offline
    /// analysis concerns every client of the policy): one client's own view of it — the file, its hash and
    /// counts, and only the findings that concern that client, by the records its export shows of them —
    /// under that client's key alone.
    /// </summary>
    public const string AnalysisView = "analysis-view";

    /// <summary>A signed checkpoint of the chain head (written by the store itself).</summary>
    public const string Checkpoint = "checkpoint";

    /// <summary>A signing key came into use (written by the store itself).</summary>
    public const string KeyRotation = "key-rotation";

    /// <summary>Expired payloads were removed (written by the store itself).</summary>
    public const string Purge = "purge";

    /// <summary>Types only the store itself may append.</summary>
    public static bool IsReserved(string type) =>
        type is Checkpoint or KeyRotation or Purge;

    /// <summary>A type id is 1–32 characters of lower-case letters, digits and '-'.</summary>
    public static bool IsWellFormed(string? type)
    {
        if (string.IsNullOrEmpty(type) || type.Length > 32)
        {
            return false;
        }

        foreach (var c in type)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
