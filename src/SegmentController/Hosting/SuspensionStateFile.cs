using SegmentController.Core.Policy;

namespace SegmentController.Hosting;

/// <summary>Where <c>segctl run</c> keeps the suspension state: <c>suspension.state</c> beside the evidence store.</summary>
internal static class SuspensionStateFile
{
    public static string For(SitePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return Path.Combine(Path.GetDirectoryName(Path.GetFullPath(policy.Controller.Store.Path)) ?? ".", "suspension.state");
    }
}
