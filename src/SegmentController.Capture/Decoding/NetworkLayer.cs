namespace SegmentController.Capture.Decoding;

/// <summary>What a frame carries above Ethernet.</summary>
internal enum NetworkLayer : byte
{
    Other,
    Ipv4,
    Ipv6,
    Arp,
}
