using System.Runtime.CompilerServices;

namespace SegmentController.Capture.Decoding;

/// <summary>The VLAN ids of a frame's tag stack, outer first, held inline (no allocation).</summary>
[InlineArray(FrameDecoder.MaxVlanTags)]
internal struct VlanTags
{
    private ushort _element;
}
