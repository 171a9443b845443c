namespace SegmentController.Core.Policy;

/// <summary>Where a referenced secret is kept.</summary>
public enum SecretSource
{
    /// <summary>An environment variable of the controller process.</summary>
    Environment,

    /// <summary>A file readable by the controller.</summary>
    File,
}
