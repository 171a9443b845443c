namespace SegmentController.Core.Suspension;

/// <summary>Why a suspension's switch ports were shut again.</summary>
public enum PortReassertionCause
{
    /// <summary>The controller started with the suspension in force.</summary>
    Start,

    /// <summary>A policy reload gave a suspended client ports its trip had not shut.</summary>
    PolicyReload,
}
