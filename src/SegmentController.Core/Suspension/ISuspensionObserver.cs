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

    /// <summary>One stage of a trip finished.</summary>
    void StageCompleted(SuspensionRecord record, StageTiming timing);

    /// <summary>A suspension was lifted.</summary>
    void Restored(RestoreRecord record);

    /// <summary>The state was unreadable at start-up and every client is suspended.</summary>
    void StateUnreadable(string message);

    /// <summary>A suspension in force at start-up had its switch ports shut again (and read back).</summary>
    void PortsReasserted(SuspensionRecord record, PortReassertion reassertion)
    {
    }
}
