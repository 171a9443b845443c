using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace SegmentController.Capture.Decoding;

/// <summary>
/// Reads the first TLS record of a TCP payload: whether it is TLS at all, and for a ClientHello or
/// ServerHello the versions (including supported_versions) and the SNI. A hello cut short by the
/// segment or snap length yields what was read so far; nothing here can fail a frame.
/// </summary>
internal static class TlsParser
{
    public const ushort Tls10 = 0x0301;
    public const ushort Tls12 = 0x0303;
    public const ushort Tls13 = 0x0304;

    private const ushort ExtensionServerName = 0;
    private const ushort ExtensionSupportedVersions = 43;
    private const int MaxExtensions = 64;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Parse(ReadOnlySpan<byte> payload, int payloadOffset, ref DecodedFrame result)
    {
        if (payload.Length < 5)
        {
            return;
        }

        var contentType = payload[0];
        if (contentType is < 20 or > 24 || payload[1] != 3 || payload[2] > 4)
        {
            return;
        }

        int recordLength = BinaryPrimitives.ReadUInt16BigEndian(payload[3..]);
        if (recordLength is 0 or > 18432)
        {
            return;
        }

        result.LooksLikeTls = true;
        if (contentType != 22 || payload.Length < 9)
        {
            return;
        }

        var message = payload[5..Math.Min(payload.Length, 5 + recordLength)];
        if (message.Length < 4)
        {
            return;
        }

        var type = message[0];
        if (type is not (1 or 2))
        {
            return;
        }

        var body = message[4..];
        if (body.Length < 34)
        {
            return;
        }

        result.Tls = type == 1 ? TlsHandshake.ClientHello : TlsHandshake.ServerHello;
        result.TlsLegacyVersion = BinaryPrimitives.ReadUInt16BigEndian(body);
        result.TlsVersion = result.TlsLegacyVersion;
        var offset = 34;
        if (!Skip8(body, ref offset))
        {
            return;
        }

        if (type == 1)
        {
            if (!Skip16(body, ref offset) || !Skip8(body, ref offset))
            {
                return;
            }
        }
        else
        {
            offset += 3;
        }

        if (body.Length < offset + 2)
        {
            return;
        }

        var extensionsEnd = Math.Min(body.Length, offset + 2 + BinaryPrimitives.ReadUInt16BigEndian(body[offset..]));
        offset += 2;
        var bodyOffset = payloadOffset + 5 + 4;
        for (var count = 0; count < MaxExtensions && offset + 4 <= extensionsEnd; count++)
        {
            var extensionType = BinaryPrimitives.ReadUInt16BigEndian(body[offset..]);
            int extensionLength = BinaryPrimitives.ReadUInt16BigEndian(body[(offset + 2)..]);
            var start = offset + 4;
            if (start + extensionLength > extensionsEnd)
            {
                return;
            }

            var data = body.Slice(start, extensionLength);
            if (extensionType == ExtensionSupportedVersions)
            {
                ReadSupportedVersions(data, type == 1, ref result);
            }
            else if (extensionType == ExtensionServerName && type == 1)
            {
                ReadServerName(data, bodyOffset + start, ref result);
            }

            offset = start + extensionLength;
        }
    }

    private static bool Skip8(ReadOnlySpan<byte> body, ref int offset)
    {
        if (body.Length < offset + 1)
        {
            return false;
        }

        offset += 1 + body[offset];
        return offset <= body.Length;
    }

    private static bool Skip16(ReadOnlySpan<byte> body, ref int offset)
    {
        if (body.Length < offset + 2)
        {
            return false;
        }

        offset += 2 + BinaryPrimitives.ReadUInt16BigEndian(body[offset..]);
        return offset <= body.Length;
    }

    private static void ReadSupportedVersions(ReadOnlySpan<byte> data, bool clientHello, ref DecodedFrame result)
    {
        if (!clientHello)
        {
            if (data.Length >= 2)
            {
                result.TlsVersion = BinaryPrimitives.ReadUInt16BigEndian(data);
            }

            return;
        }

        if (data.Length < 1)
        {
            return;
        }

        var list = data[1..Math.Min(data.Length, 1 + data[0])];
        ushort best = 0;
        for (var i = 0; i + 1 < list.Length; i += 2)
        {
            var version = BinaryPrimitives.ReadUInt16BigEndian(list[i..]);

            // GREASE values (0x?A?A) are placeholders, not versions.
            if ((version & 0x0F0F) == 0x0A0A || version >> 8 != 3)
            {
                continue;
            }

            best = Math.Max(best, version);
        }

        if (best != 0)
        {
            result.TlsVersion = best;
        }
    }

    private static void ReadServerName(ReadOnlySpan<byte> data, int dataOffset, ref DecodedFrame result)
    {
        if (data.Length < 5)
        {
            return;
        }

        int listLength = BinaryPrimitives.ReadUInt16BigEndian(data);
        var list = data[2..Math.Min(data.Length, 2 + listLength)];
        var offset = 0;
        while (offset + 3 <= list.Length)
        {
            var nameType = list[offset];
            int nameLength = BinaryPrimitives.ReadUInt16BigEndian(list[(offset + 1)..]);
            if (offset + 3 + nameLength > list.Length)
            {
                return;
            }

            if (nameType == 0)
            {
                result.SniOffset = dataOffset + 2 + offset + 3;
                result.SniLength = nameLength;
                return;
            }

            offset += 3 + nameLength;
        }
    }
}
