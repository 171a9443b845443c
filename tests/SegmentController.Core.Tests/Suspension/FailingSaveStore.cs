using SegmentController.Core.Suspension;

namespace SegmentController.Core.Tests.Suspension;

// A full disk on demand, in front of the real file store.
internal sealed class FailingSaveStore(ISuspensionStateStore inner) : ISuspensionStateStore
{
    public bool Failing { get; set; }

    /// <summary>What a failing save throws.</summary>
    public Func<Exception> Error { get; set; } = () => new IOException("No space left on device");

    public SuspensionStateLoad Load() => inner.Load();

    public void Save(SuspensionState state)
    {
        if (Failing)
        {
            throw Error();
        }

        inner.Save(state);
    }
}
