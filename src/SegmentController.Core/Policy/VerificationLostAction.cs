namespace SegmentController.Core.Policy;

/// <summary>The stance when isolation can no longer be verified.</summary>
public enum VerificationLostAction
{
    /// <summary>Suspend the clients whose isolation is no longer verified (fail closed).</summary>
    Suspend,

    /// <summary>Raise a finding and keep forwarding.</summary>
    Alert,
}
