using System.Formats.Asn1;
using System.Text;

namespace SegmentController.Snmp.Protocol;

/// <summary>An SNMPv2c message (RFC 1901): version 1, community, PDU.</summary>
internal static class CommunityMessage
{
    public const int Version2c = 1;

    public static byte[] Encode(string community, Pdu pdu)
    {
        ArgumentNullException.ThrowIfNull(community);
        var writer = new AsnWriter(AsnEncodingRules.BER);
        using (writer.PushSequence())
        {
            writer.WriteInteger(Version2c);
            writer.WriteOctetString(Encoding.UTF8.GetBytes(community));
            BerCodec.WritePdu(writer, pdu);
        }

        return writer.Encode();
    }

    public static (string Community, Pdu Pdu) Decode(ReadOnlyMemory<byte> datagram)
    {
        try
        {
            var reader = new AsnReader(datagram, AsnEncodingRules.BER);
            var message = reader.ReadSequence();
            var version = BerCodec.ReadInt32(message);
            if (version != Version2c)
            {
                throw new SnmpDecodeException($"SNMP version {version} where 2c was expected");
            }

            var community = Encoding.UTF8.GetString(message.ReadOctetString());
            var pdu = BerCodec.ReadPdu(message);
            message.ThrowIfNotEmpty();
            return (community, pdu);
        }
        catch (AsnContentException e)
        {
            throw new SnmpDecodeException($"malformed SNMPv2c message: {e.Message}", e);
        }
    }
}
