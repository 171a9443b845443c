using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace SegmentController.Snmp.Transport;

/// <summary>Parses <c>HOST[:PORT]</c>, <c>[V6]:PORT</c> and bare IPv6 addresses, and resolves names.</summary>
internal static class SnmpTarget
{
    public const int DefaultPort = 161;

    public static (string Host, int Port) Parse(string target, int defaultPort = DefaultPort)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(target);
        var text = target.Trim();
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new FormatException($"'{target}': missing ']'");
            }

            var host = text[1..close];
            var rest = text[(close + 1)..];
            return rest.Length == 0 ? (host, defaultPort)
                : rest.StartsWith(':') ? (host, ParsePort(rest[1..], target))
                : throw new FormatException($"'{target}' is not HOST[:PORT]");
        }

        var colon = text.LastIndexOf(':');
        if (colon < 0)
        {
            return (text, defaultPort);
        }

        // More than one colon and no brackets: a bare IPv6 address.
        if (text.IndexOf(':', StringComparison.Ordinal) != colon)
        {
            return IPAddress.TryParse(text, out _) ? (text, defaultPort) : throw new FormatException($"'{target}': write IPv6 with a port as [ADDRESS]:PORT");
        }

        return (text[..colon], ParsePort(text[(colon + 1)..], target));
    }

    public static async Task<IPEndPoint> ResolveAsync(string host, int port, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host, out var literal))
        {
            return new IPEndPoint(literal, port);
        }

        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            var address = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
                ?? throw new SnmpException(SnmpErrorKind.Configuration, $"'{host}' resolves to no address");
            return new IPEndPoint(address, port);
        }
        catch (SocketException e)
        {
            throw new SnmpException(SnmpErrorKind.Configuration, $"cannot resolve '{host}': {e.Message}", e);
        }
    }

    private static int ParsePort(string text, string target) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            ? port
            : throw new FormatException($"'{target}': port '{text}' is not 1-65535");
}
