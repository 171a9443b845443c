using System.Collections.Concurrent;
using SegmentController.Core.Suspension;

namespace SegmentController.Core.Tests.Suspension;

internal sealed class RecordingEnforcer(SuspensionStage stage, ConcurrentQueue<string> log) : ISuspensionEnforcer
{
    public SuspensionStage Stage { get; } = stage;

    public void Enforce(string scope) => log.Enqueue($"{SuspensionNames.Of(Stage)}:{scope}");
}
