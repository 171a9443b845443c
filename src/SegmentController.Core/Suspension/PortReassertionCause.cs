namespace SegmentController.Core.Suspension;

/// <summary>Why a suspension's switch ports were shut again.</summary>
public enum PortReassertionCause
{
    /// <summary>The controller started with the suspension in force.</summary>
    Start,

    /// <summary>A policy reload gave a suspended client ports its trip had not shut.</summary>
    PolicyReload,

    /// <summary>
    /// Ports that an earlier shut (the trip's, a start's, a reload's or an earlier retry's) did not read back
    /// down were tried again while the suspension was in force, and some or all of them now did.
    /// </summary>
    Retry,
}
