namespace SegmentController.Core.Suspension;

/// <summary>Receives the engine's events for metrics, logs and the tamper-evident store. Must not throw.</summary>
public interface ISuspensionObserver
{
    /// <summary>A trip was acknowledged.</summary>
    void Tripped(SuspensionRecord record);

    /// <summary>
    /// A suspension was in force when the engine started (tripped before a restart, or every client
    /// suspended because the state was unreadable). Not a new trip: counters of trips must not count it.
    /// </summary>
    void InForceAtStart(SuspensionRecord record)
    {
    }

    /// <summary>
    /// A trip came for a scope already suspended and changed it (nothing new to enforce): it withdrew the
    /// restore pending for it (<paramref name="withdrawn"/>), or it was a failed audit, which a restore must
    /// now be preceded by a passing one (<see cref="SuspensionRecord.FailedAuditAt"/>).
    /// </summary>
    void Retripped(SuspensionRecord record, TripRequest request, PendingRestore? withdrawn)
    {
    }

    /// <summary>One stage of a trip finished.</summary>
    void StageCompleted(SuspensionRecord record, StageTiming timing);

    /// <summary>
    /// A trip's last stages (switch ports, webhooks) finished: <paramref name="record"/> carries every
    /// stage's timing and the ports as read back.
    /// </summary>
    void Enforced(SuspensionRecord record)
    {
    }

    /// <summary>An operator asked for a suspension to be lifted (the request is durable; the requester is the first approver).</summary>
    void RestoreRequested(SuspensionRecord suspension, PendingRestore pending)
    {
    }

    /// <summary>A different person approved a pending restore (durable); <paramref name="pending"/> lists every approver so far.</summary>
    void RestoreApproved(SuspensionRecord suspension, PendingRestore pending, string approver)
    {
    }

    /// <summary>A suspension was lifted (after its request and approvals were reported).</summary>
    void Restored(RestoreRecord record);

    /// <summary>The state was unreadable at start-up and every client is suspended.</summary>
    void StateUnreadable(string message);

    /// <summary>
    /// A suspension's switch ports were shut again and read back (<see cref="PortReassertion.Cause"/>: at
    /// start-up, after a policy reload, or a retry that read at least one port back down).
    /// </summary>
    void PortsReasserted(SuspensionRecord record, PortReassertion reassertion)
    {
    }

    /// <summary>
    /// A policy reload took switch ports away from a client <paramref name="record"/> suspends: those it gave
    /// a client that is not suspended, or whose ports are not to be shut, were brought up, those it gave no
    /// client were left shut
    /// (<see cref="PortRelease"/>). <paramref name="owners"/> gives, for each port brought up
    /// (<c>switch:port</c>), the client that has it now: for the site's own log alone. The release goes on the
    /// suspension's record, under its client's key and into that client's evidence export, which names no
    /// other client; so neither the release nor anything recorded from it names the owners.
    /// </summary>
    void PortsReleased(SuspensionRecord record, PortRelease release, IReadOnlyDictionary<string, string> owners)
    {
    }

    /// <summary>
    /// A retry of ports that did not read back down read none of them back down this time either;
    /// <paramref name="attempt"/> lists what was tried and why it failed. The engine tries again after
    /// <paramref name="retryIn"/> (the delay doubles up to <see cref="SuspensionEngine.PortRetryCap"/>). Not a
    /// measure to record: a switch down for hours would flood the store. The recovery is recorded, as
    /// <see cref="PortsReasserted"/> with <see cref="PortReassertionCause.Retry"/>.
    /// </summary>
    void PortRetryFailed(SuspensionRecord record, PortReassertion attempt, TimeSpan retryIn)
    {
    }

    /// <summary>
    /// A retry brought up, and read back up, the switch ports of a client that <paramref name="restore"/>
    /// lifted and whose bring-up the restore could not read back up (<see cref="RestoreRecord.Ports"/>).
    /// </summary>
    void PortsBroughtUp(RestoreRecord restore, PortBringUp bringUp)
    {
    }

    /// <summary>
    /// A retry of a restored client's ports did not read them back up either; the engine tries again after
    /// <paramref name="retryIn"/> (doubling up to <see cref="SuspensionEngine.PortRetryCap"/>) while nothing
    /// suspends or restores the client. Not a measure to record, as for <see cref="PortRetryFailed"/>.
    /// </summary>
    void PortBringUpRetryFailed(RestoreRecord restore, PortBringUp attempt, TimeSpan retryIn)
    {
    }

    /// <summary>
    /// The bring-ups owed (<see cref="SuspensionState.OwedBringUps"/>) changed — narrowed to the ports not yet read
    /// back up, or dropped — but the state file could not be saved (<paramref name="reason"/>): it still names, for
    /// <paramref name="clients"/>, ports as owed that are not, and a start before the next save would bring them up
    /// again. The change is in force; the engine saves the state again on the retry schedule (and with any change
    /// before that) until the file has it. Once per failed save.
    /// </summary>
    void OwedBringUpsNotSaved(IReadOnlyList<string> clients, string reason)
    {
    }

    /// <summary>
    /// A change to the record of a suspension in force (its stage timings and ports as read back, a reassertion,
    /// a release of ports) could not be saved to the state file (<paramref name="reason"/>): <paramref name="record"/>
    /// is in force as changed, the file still has it as it was. The engine saves the state again on the retry schedule
    /// (1 s, 2 s … at most <see cref="SuspensionEngine.PortRetryCap"/> apart), with any other save before that (a
    /// trip, a restore, another change: each writes the whole state, this change included) and at a clean stop, until
    /// the file has it; a start before then finds the record as the file has it. Once per failed save.
    /// </summary>
    void AmendmentNotSaved(SuspensionRecord record, string reason)
    {
    }
}
