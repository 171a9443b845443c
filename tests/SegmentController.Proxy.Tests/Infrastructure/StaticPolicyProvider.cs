using SegmentController.Core.Policy;

namespace SegmentController.Proxy.Tests.Infrastructure;

internal sealed class StaticPolicyProvider(SitePolicy policy) : IPolicyProvider
{
    public SitePolicy Current { get; private set; } = policy;

    public event EventHandler<SitePolicy>? PolicyChanged;

    public void Set(SitePolicy policy)
    {
        Current = policy;
        PolicyChanged?.Invoke(this, policy);
    }
}
