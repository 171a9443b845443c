namespace SegmentController.Core.Policy;

/// <summary>
/// The policy in force. A reload that fails keeps the last good policy; consumers read
/// <see cref="Current"/> each time they need it and may subscribe to changes.
/// </summary>
public interface IPolicyProvider
{
    /// <summary>The policy in force now.</summary>
    SitePolicy Current { get; }

    /// <summary>Raised after a new policy has been put in force.</summary>
    event EventHandler<SitePolicy>? PolicyChanged;
}
