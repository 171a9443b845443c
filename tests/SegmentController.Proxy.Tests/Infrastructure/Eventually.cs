using System.Diagnostics;

namespace SegmentController.Proxy.Tests.Infrastructure;

/// <summary>Waits for something the proxy makes true a moment after what the test saw; the guard is against a hang, not a measure.</summary>
internal static class Eventually
{
    public static async Task UntilAsync(Func<bool> condition, Func<string> failure, TimeSpan? within = null)
    {
        var guard = within ?? TimeSpan.FromMinutes(1);
        var waited = Stopwatch.StartNew();
        while (!condition())
        {
            if (waited.Elapsed > guard)
            {
                Assert.Fail($"{failure()} within {guard.TotalSeconds:0} s");
            }

            await Task.Delay(10);
        }
    }
}
