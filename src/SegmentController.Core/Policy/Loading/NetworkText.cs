using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace SegmentController.Core.Policy.Loading;

/// <summary>Strict parsing of addresses, subnets and MACs with messages that say how to fix them.</summary>
internal static class NetworkText
{
    /// <summary>Why an address with an octet such as <c>010</c> is refused, for messages that quote it.</summary>
    public const string LeadingZeroProblem = "has an octet with a leading zero, which some tools read as octal (010 is 8) and others as decimal; write each octet without leading zeros";

    /// <summary>
    /// An IPv4 address in dotted quad or an IPv6 address. <see cref="IPAddress.TryParse(string, out IPAddress)"/>
    /// alone also takes "10" or "10.1" (classful shorthand), which in a policy is always a typo, and reads
    /// an octet with a leading zero as octal ("010.1.0.0" is 8.1.0.0), which is refused (see
    /// <see cref="HasLeadingZeroOctet"/>).
    /// </summary>
    public static bool TryParseAddress(string text, out IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(text);
        address = IPAddress.None;
        if (text.Contains(':', StringComparison.Ordinal))
        {
            // No zone ids (fe80::1%eth0): a policy names addresses, not interfaces.
            return !text.Contains('%', StringComparison.Ordinal)
                && !HasLeadingZeroOctet(text[(text.LastIndexOf(':') + 1)..])
                && IPAddress.TryParse(text, out address!)
                && address.AddressFamily == AddressFamily.InterNetworkV6;
        }

        var parts = text.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }

        foreach (var part in parts)
        {
            if (part.Length is 0 or > 3 || !part.All(char.IsAsciiDigit) || (part.Length > 1 && part[0] == '0')
                || int.Parse(part, NumberStyles.None, CultureInfo.InvariantCulture) > 255)
            {
                return false;
            }
        }

        return IPAddress.TryParse(text, out address!);
    }

    /// <summary>True for a dotted quad with an octet written with a leading zero (<c>010.1.0.0</c>).</summary>
    public static bool HasLeadingZeroOctet(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split('.');
        return parts.Length == 4
            && parts.All(p => p.Length > 0 && p.All(char.IsAsciiDigit))
            && parts.Any(p => p.Length > 1 && p[0] == '0');
    }

    /// <summary>Parses a CIDR subnet; <paramref name="error"/> explains a failure (host bits, missing prefix …).</summary>
    public static bool TryParseSubnet(string text, out IPNetwork network, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        network = default;
        error = null;
        var shown = YamlMap.Printable(text);
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            error = HasLeadingZeroOctet(text)
                ? $"'{shown}' is not a subnet: it {LeadingZeroProblem}"
                : TryParseAddress(text, out var bare)
                ? $"subnet '{shown}' has no prefix length; write it in CIDR form, e.g. {bare}/{(bare.AddressFamily == AddressFamily.InterNetwork ? 24 : 64)}"
                : $"'{shown}' is not a subnet; write it in CIDR form, e.g. 10.20.0.0/24 or 2001:db8:20::/64";
            return false;
        }

        var addressText = text[..slash];
        var prefixText = text[(slash + 1)..];
        if (!TryParseAddress(addressText, out var address))
        {
            error = HasLeadingZeroOctet(addressText)
                ? $"subnet '{shown}' {LeadingZeroProblem}"
                : $"'{shown}' is not a subnet: '{YamlMap.Printable(addressText)}' is not an IPv4 or IPv6 address";
            return false;
        }

        var maxPrefix = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (prefixText.Length is 0 or > 3 || !prefixText.All(char.IsAsciiDigit)
            || !int.TryParse(prefixText, NumberStyles.None, CultureInfo.InvariantCulture, out var prefix) || prefix > maxPrefix)
        {
            error = $"subnet '{shown}' has an invalid prefix length; it must be 0-{maxPrefix}";
            return false;
        }

        // Checked here rather than left to IPNetwork: a subnet with host bits set is nearly always a
        // host address pasted where its network belongs, and the fix is worth spelling out.
        var masked = Mask(address, prefix);
        if (!masked.Equals(address))
        {
            error = $"subnet '{shown}' has host bits set; did you mean {new IPNetwork(masked, prefix)}?";
            return false;
        }

        network = new IPNetwork(masked, prefix);
        return true;
    }

    /// <summary>A station MAC: six bytes, as 00:11:22:33:44:55, 00-11-22-33-44-55 or 0011.2233.4455.</summary>
    public static bool TryParseMac(string text, out PhysicalAddress mac, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        mac = PhysicalAddress.None;
        error = null;
        var shown = YamlMap.Printable(text);
        var hex = text.Length <= 17 && text.All(c => char.IsAsciiHexDigit(c) || c is ':' or '-' or '.')
            ? new string(text.Where(char.IsAsciiHexDigit).ToArray())
            : "";
        var separators = text.Length - hex.Length;
        var shapeOk = hex.Length == 12 && (separators == 5 || (separators == 2 && text.Length == 14) || separators == 0);
        if (!shapeOk)
        {
            error = $"'{shown}' is not a MAC address; write it as 00:11:22:33:44:55";
            return false;
        }

        var bytes = Convert.FromHexString(hex);
        if ((bytes[0] & 1) != 0)
        {
            error = $"MAC '{shown}' is a multicast/broadcast address; a station's MAC is unicast";
            return false;
        }

        mac = new PhysicalAddress(bytes);
        return true;
    }

    public static string FormatMac(PhysicalAddress mac)
    {
        ArgumentNullException.ThrowIfNull(mac);
        return string.Join(':', mac.GetAddressBytes().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
    }

    private static IPAddress Mask(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var bits = Math.Clamp(prefix - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - bits));
        }

        return new IPAddress(bytes);
    }
}
