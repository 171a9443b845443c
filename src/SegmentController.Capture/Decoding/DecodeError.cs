namespace SegmentController.Capture.Decoding;

/// <summary>Why a frame could not be decoded. Every value but <see cref="None"/> counts as a decode error.</summary>
internal enum DecodeError : byte
{
    None,
    TruncatedEthernet,
    TruncatedVlanTag,
    TruncatedIpv4,
    BadIpv4Header,
    Ipv4LengthLies,
    TruncatedIpv6,
    BadIpv6Header,
    Ipv6LengthLies,
    Ipv6ExtensionChain,
    TruncatedTcp,
    BadTcpHeader,
    TruncatedUdp,
    UdpLengthLies,
    TruncatedIcmp,
    TruncatedArp,

    /// <summary>
    /// A GRE, GENEVE or ERSPAN header longer than the packet that carries it declares, or an ERSPAN header of
    /// the wrong version for its GRE protocol type.
    /// </summary>
    BadTunnelHeader,

    /// <summary>A GRE, GENEVE or ERSPAN header cut by the snap length.</summary>
    TruncatedTunnelHeader,

    /// <summary>Tunnels nested deeper than <see cref="FrameDecoder.MaxWalkedTunnels"/>: the packet inside is not decoded.</summary>
    TunnelChainTooDeep,

    /// <summary>An MPLS label stack that ends (on the wire or in the capture) before its bottom-of-stack label.</summary>
    TruncatedMplsLabelStack,

    /// <summary>An MPLS label stack deeper than <see cref="FrameDecoder.MaxMplsLabels"/>: the packet under it is not decoded.</summary>
    MplsLabelStackTooDeep,
}
