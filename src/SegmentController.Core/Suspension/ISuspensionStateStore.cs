namespace SegmentController.Core.Suspension;

/// <summary>Durable suspension state. This, not any other record, decides at start-up.</summary>
public interface ISuspensionStateStore
{
    /// <summary>Reads the state; a store never written yet gives <see cref="SuspensionState.Empty"/>.</summary>
    SuspensionStateLoad Load();

    /// <summary>Writes the state durably: when this returns, a power cut does not lose it.</summary>
    /// <exception cref="IOException">The state could not be written; the caller must not acknowledge.</exception>
    void Save(SuspensionState state);
}
