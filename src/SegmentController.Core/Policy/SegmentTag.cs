namespace SegmentController.Core.Policy;

/// <summary>Which tag of a stacked (QinQ) frame names the segment that sent it.</summary>
public enum SegmentTag
{
    /// <summary>
    /// The innermost tag: the site's switches put the segment's VLAN inside the outer tags (a stack built
    /// by switches alone, hosts never behind a dot1q-tunnel port).
    /// </summary>
    Inner,

    /// <summary>
    /// The outermost tag: hosts sit behind dot1q-tunnel ports, whose switch pushes the segment's (service)
    /// tag; the tags inside it are the host's own choice and never name another segment.
    /// </summary>
    Outer,
}
