using SegmentController.Core.Suspension;

namespace SegmentController.Core.Tests.Suspension;

// A full disk on demand, in front of the real file store.
internal sealed class FailingSaveStore(ISuspensionStateStore inner) : ISuspensionStateStore
{
    public bool Failing { get; set; }

    public SuspensionStateLoad Load() => inner.Load();

    public void Save(SuspensionState state)
    {
        if (Failing)
        {
            throw new IOException("No space left on device");
        }

        inner.Save(state);
    }
}
