namespace SegmentController.Core.Suspension;

/// <summary>Why a suspension was tripped; the lower-case names (see <see cref="SuspensionNames"/>) are metric labels.</summary>
public enum SuspensionTrigger
{
    /// <summary>An operator, through the API or CLI.</summary>
    Operator,

    /// <summary>A finding whose action is <c>suspend</c>.</summary>
    Finding,

    /// <summary>A failed audit.</summary>
    Audit,

    /// <summary>Isolation can no longer be verified and the policy says <c>suspend</c>.</summary>
    VerificationLost,

    /// <summary>The suspension state could not be read at start-up (fail closed).</summary>
    StateUnreadable,
}
