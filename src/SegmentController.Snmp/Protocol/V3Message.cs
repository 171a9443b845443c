using System.Formats.Asn1;
using System.Runtime.InteropServices;

namespace SegmentController.Snmp.Protocol;

/// <summary>
/// An SNMPv3 message (RFC 3412 §6) with the User-based Security Model. Parsing keeps the offset of
/// msgAuthenticationParameters in the datagram, because the digest covers the whole message with that
/// field zeroed.
/// </summary>
internal sealed class V3Message
{
    public const int Version3 = 3;
    public const int UsmSecurityModel = 3;

    private V3Message(int msgId, int maxSize, MessageFlags flags, int securityModel, UsmSecurityParameters usm, int authOffset, ReadOnlyMemory<byte> data, bool encrypted)
    {
        MsgId = msgId;
        MaxSize = maxSize;
        Flags = flags;
        SecurityModel = securityModel;
        Usm = usm;
        AuthParamsOffset = authOffset;
        Data = data;
        IsEncrypted = encrypted;
    }

    public int MsgId { get; }

    public int MaxSize { get; }

    public MessageFlags Flags { get; }

    public int SecurityModel { get; }

    public UsmSecurityParameters Usm { get; }

    /// <summary>Where msgAuthenticationParameters' content starts in the datagram.</summary>
    public int AuthParamsOffset { get; }

    /// <summary>The plaintext ScopedPDU encoding, or the encrypted octets when <see cref="IsEncrypted"/>.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    public bool IsEncrypted { get; }

    public static byte[] EncodeScopedPdu(ScopedPdu scoped)
    {
        ArgumentNullException.ThrowIfNull(scoped);
        var writer = new AsnWriter(AsnEncodingRules.BER);
        using (writer.PushSequence())
        {
            writer.WriteOctetString(scoped.ContextEngineId);
            writer.WriteOctetString(scoped.ContextName);
            BerCodec.WritePdu(writer, scoped.Pdu);
        }

        return writer.Encode();
    }

    /// <summary>Reads a ScopedPDU; trailing octets (DES padding) are ignored.</summary>
    public static ScopedPdu DecodeScopedPdu(ReadOnlyMemory<byte> encoded)
    {
        try
        {
            var reader = new AsnReader(encoded, AsnEncodingRules.BER);
            var scoped = reader.ReadSequence();
            var engineId = scoped.ReadOctetString();
            var contextName = scoped.ReadOctetString();
            var pdu = BerCodec.ReadPdu(scoped);
            return new ScopedPdu(engineId, contextName, pdu);
        }
        catch (AsnContentException e)
        {
            throw new SnmpDecodeException($"malformed ScopedPDU: {e.Message}", e);
        }
    }

    /// <summary>Encodes a message; <paramref name="data"/> is a ScopedPDU encoding, or ciphertext when <paramref name="encrypted"/>.</summary>
    public static byte[] Encode(int msgId, int maxSize, MessageFlags flags, UsmSecurityParameters usm, ReadOnlySpan<byte> data, bool encrypted)
    {
        ArgumentNullException.ThrowIfNull(usm);
        var security = new AsnWriter(AsnEncodingRules.BER);
        using (security.PushSequence())
        {
            security.WriteOctetString(usm.EngineId);
            security.WriteInteger(usm.EngineBoots);
            security.WriteInteger(usm.EngineTime);
            security.WriteOctetString(usm.UserName);
            security.WriteOctetString(usm.AuthParams);
            security.WriteOctetString(usm.PrivParams);
        }

        var writer = new AsnWriter(AsnEncodingRules.BER);
        using (writer.PushSequence())
        {
            writer.WriteInteger(Version3);
            using (writer.PushSequence())
            {
                writer.WriteInteger(msgId);
                writer.WriteInteger(maxSize);
                writer.WriteOctetString([(byte)flags]);
                writer.WriteInteger(UsmSecurityModel);
            }

            writer.WriteOctetString(security.Encode());
            if (encrypted)
            {
                writer.WriteOctetString(data);
            }
            else
            {
                writer.WriteEncodedValue(data);
            }
        }

        return writer.Encode();
    }

    public static V3Message Decode(byte[] datagram)
    {
        ArgumentNullException.ThrowIfNull(datagram);
        try
        {
            var reader = new AsnReader(datagram, AsnEncodingRules.BER);
            var message = reader.ReadSequence();
            var version = BerCodec.ReadInt32(message);
            if (version != Version3)
            {
                throw new SnmpDecodeException($"SNMP version {version} where 3 was expected");
            }

            var header = message.ReadSequence();
            var msgId = BerCodec.ReadInt32(header);
            var maxSize = BerCodec.ReadInt32(header);
            var flagOctets = header.ReadOctetString();
            if (flagOctets.Length != 1)
            {
                throw new SnmpDecodeException("msgFlags is not one octet");
            }

            var securityModel = BerCodec.ReadInt32(header);
            if (securityModel != UsmSecurityModel)
            {
                throw new SnmpDecodeException($"security model {securityModel} is not USM");
            }

            var securityContent = ContentOf(message.ReadEncodedValue(), UniversalTagNumber.OctetString);
            var security = new AsnReader(securityContent, AsnEncodingRules.BER).ReadSequence();
            var engineId = security.ReadOctetString();
            var boots = BerCodec.ReadInt32(security);
            var time = BerCodec.ReadInt32(security);
            var userName = security.ReadOctetString();
            var authContent = ContentOf(security.ReadEncodedValue(), UniversalTagNumber.OctetString);
            var authOffset = OffsetOf(authContent);
            var privParams = security.ReadOctetString();
            if (engineId.Length > 32 || userName.Length > 32)
            {
                throw new SnmpDecodeException("msgAuthoritativeEngineID or msgUserName longer than 32 octets");
            }

            // RFC 3414 §2.2: both are INTEGER (0..2147483647).
            if (boots < 0 || time < 0)
            {
                throw new SnmpDecodeException($"msgAuthoritativeEngineBoots {boots} or msgAuthoritativeEngineTime {time} is negative");
            }

            var tag = message.PeekTag();
            ReadOnlyMemory<byte> data;
            bool encrypted;
            if (tag.HasSameClassAndValue(Asn1Tag.PrimitiveOctetString))
            {
                data = ContentOf(message.ReadEncodedValue(), UniversalTagNumber.OctetString);
                encrypted = true;
            }
            else
            {
                data = message.ReadEncodedValue();
                encrypted = false;
            }

            var usm = new UsmSecurityParameters(engineId, boots, time, userName, authContent.ToArray(), privParams);
            return new V3Message(msgId, maxSize, (MessageFlags)flagOctets[0], securityModel, usm, authOffset, data, encrypted);
        }
        catch (AsnContentException e)
        {
            throw new SnmpDecodeException($"malformed SNMPv3 message: {e.Message}", e);
        }
    }

    private static ReadOnlyMemory<byte> ContentOf(ReadOnlyMemory<byte> encoded, UniversalTagNumber expected)
    {
        var tag = Asn1Tag.Decode(encoded.Span, out _);
        if (tag.TagClass != TagClass.Universal || tag.TagValue != (int)expected || tag.IsConstructed)
        {
            throw new SnmpDecodeException($"expected a primitive {expected}, found {tag}");
        }

        AsnDecoder.ReadEncodedValue(encoded.Span, AsnEncodingRules.BER, out var contentOffset, out var contentLength, out _);
        return encoded.Slice(contentOffset, contentLength);
    }

    private static int OffsetOf(ReadOnlyMemory<byte> slice) =>
        MemoryMarshal.TryGetArray(slice, out var segment) ? segment.Offset : throw new InvalidOperationException("datagram is not array-backed");
}
