namespace SegmentController.Capture.Decoding;

/// <summary>IANA protocol numbers the decoder understands.</summary>
internal static class IpProtocols
{
    public const byte HopByHop = 0;
    public const byte Icmp = 1;
    public const byte IpInIp = 4;
    public const byte Tcp = 6;
    public const byte Udp = 17;
    public const byte Ipv6InIp = 41;
    public const byte Routing = 43;
    public const byte Fragment = 44;
    public const byte Gre = 47;
    public const byte Esp = 50;
    public const byte Ah = 51;
    public const byte Icmpv6 = 58;
    public const byte NoNextHeader = 59;
    public const byte DestinationOptions = 60;
    public const byte L2tp = 115;
    public const byte Mobility = 135;

    /// <summary>The name used in finding evidence.</summary>
    public static string Name(NetworkLayer layer, byte protocol) => layer switch
    {
        NetworkLayer.Arp => "arp",
        NetworkLayer.Other => "ethernet",
        _ => protocol switch
        {
            Tcp => "tcp",
            Udp => "udp",
            Icmp => "icmp",
            Icmpv6 => "icmpv6",
            Esp => "esp",
            _ => protocol.ToString(System.Globalization.CultureInfo.InvariantCulture),
        },
    };

    /// <summary>The name of a tunnel in finding evidence.</summary>
    public static string Name(Encapsulation encapsulation) => encapsulation switch
    {
        Encapsulation.IpInIp => "ip-in-ip",
        Encapsulation.Ipv6InIp => "ipv6-in-ip",
        Encapsulation.Gre => "gre",
        Encapsulation.Vxlan => "vxlan",
        Encapsulation.Geneve => "geneve",
        Encapsulation.Erspan => "erspan",
        Encapsulation.VxlanGpe => "vxlan-gpe",
        Encapsulation.GreInUdp => "gre-in-udp",
        Encapsulation.MplsInUdp => "mpls-in-udp",
        Encapsulation.Pptp => "pptp",
        Encapsulation.L2tp => "l2tp",
        Encapsulation.L2tpv3 => "l2tpv3",
        _ => "none",
    };
}
