using SegmentController.Core.Policy;

namespace SegmentController.Core.Tests.Suspension;

internal sealed class StaticPolicyProvider(SitePolicy policy) : IPolicyProvider
{
    public SitePolicy Current { get; set; } = policy;

    public event EventHandler<SitePolicy>? PolicyChanged;

    public void Set(SitePolicy policy)
    {
        Current = policy;
        PolicyChanged?.Invoke(this, policy);
    }
}
