namespace SegmentController.Capture.Decoding;

/// <summary>
/// A tunnel the decoder opens: the packet it carries is judged as a packet of its own. The values fit
/// in four bits, so the chain of tunnels a packet came through packs into <see cref="DecodedFrame.TunnelPath"/>.
/// </summary>
internal enum Encapsulation : byte
{
    None,

    /// <summary>IPv4 in IPv4 or IPv6 (IP protocol 4).</summary>
    IpInIp,

    /// <summary>IPv6 in IPv4 or IPv6 (IP protocol 41).</summary>
    Ipv6InIp,

    /// <summary>GRE (IP protocol 47) carrying IPv4, IPv6 or Ethernet.</summary>
    Gre,

    /// <summary>VXLAN (UDP port 4789, or Linux's default 8472) carrying Ethernet.</summary>
    Vxlan,

    /// <summary>GENEVE (UDP port 6081) carrying Ethernet, IPv4 or IPv6.</summary>
    Geneve,

    /// <summary>
    /// ERSPAN types I, II (GRE protocol 0x88BE) and III (0x22EB) carrying an Ethernet frame. From a switch of
    /// the site it is a mirror, whose frame is judged as on the wire; from anywhere else, a tunnel like GRE.
    /// </summary>
    Erspan,

    /// <summary>VXLAN-GPE (UDP port 4790) carrying IPv4, IPv6 or Ethernet.</summary>
    VxlanGpe,

    /// <summary>GRE in UDP (RFC 8086, UDP port 4754): a GRE header and what it carries.</summary>
    GreInUdp,

    /// <summary>MPLS in UDP (RFC 7510, UDP port 6635): a label stack, then IPv4 or IPv6.</summary>
    MplsInUdp,

    /// <summary>
    /// PPTP's data channel (RFC 2637): enhanced GRE (version 1, protocol 0x880B) carrying a PPP frame whose
    /// protocol is IPv4 or IPv6.
    /// </summary>
    Pptp,

    /// <summary>L2TPv2 (RFC 2661, UDP port 1701): a data message carrying a PPP frame whose protocol is IPv4 or IPv6.</summary>
    L2tp,

    /// <summary>
    /// L2TPv3 (RFC 3931) over UDP port 1701 or IP protocol 115: a data message carrying an Ethernet frame
    /// (the default pseudowire), opened only with at most four bytes before it (the default sublayer or a
    /// four-byte cookie, or neither), and only when what follows is a sane Ethernet frame carrying IP.
    /// </summary>
    L2tpv3,
}
