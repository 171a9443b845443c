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
    /// A GRE (PPTP's enhanced GRE included), L2TP, GENEVE or ERSPAN header longer than the packet that carries it
    /// declares, a PPTP payload length longer than the packet, an L2TPv2 offset past the datagram's end, or an
    /// ERSPAN header of the wrong version for its GRE protocol type. (An L2TPv2 length field is not checked: its
    /// receivers skip it.)
    /// </summary>
    BadTunnelHeader,

    /// <summary>A GRE (PPTP's enhanced GRE included), L2TP, GENEVE or ERSPAN header cut by the snap length.</summary>
    TruncatedTunnelHeader,

    /// <summary>Tunnels nested deeper than <see cref="FrameDecoder.MaxWalkedTunnels"/>: the packet inside is not decoded.</summary>
    TunnelChainTooDeep,

    /// <summary>An MPLS label stack that ends (on the wire or in the capture) before its bottom-of-stack label.</summary>
    TruncatedMplsLabelStack,

    /// <summary>An MPLS label stack deeper than <see cref="FrameDecoder.MaxMplsLabels"/>: the packet under it is not decoded.</summary>
    MplsLabelStackTooDeep,

    /// <summary>
    /// A malformed PPP frame in a PPTP or L2TPv2 data message: its address and control fields or its protocol
    /// field run past the end of the tunnel's packet, the address field 0xFF is not followed by the control
    /// field 0x03, or a two-octet protocol field is even (RFC 1661 makes every protocol odd).
    /// </summary>
    BadPppHeader,

    /// <summary>The PPP frame a PPTP or L2TPv2 data message carries is cut by the snap length before its protocol field ends.</summary>
    TruncatedPppHeader,
}
