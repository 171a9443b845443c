using System.Formats.Asn1;

namespace SegmentController.Snmp.Protocol;

/// <summary>BER encoding and decoding of PDUs and values (RFC 3416) on System.Formats.Asn1.</summary>
internal static class BerCodec
{
    public const int MaxVarBinds = 4096;

    private static readonly Asn1Tag IpAddressTag = new(TagClass.Application, 0);

    public static Asn1Tag PduTag(PduType type) => new(TagClass.ContextSpecific, (int)type, isConstructed: true);

    public static void WritePdu(AsnWriter writer, Pdu pdu)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(pdu);
        using (writer.PushSequence(PduTag(pdu.Type)))
        {
            writer.WriteInteger(pdu.RequestId);
            writer.WriteInteger(pdu.ErrorStatus);
            writer.WriteInteger(pdu.ErrorIndex);
            using (writer.PushSequence())
            {
                foreach (var varBind in pdu.VarBinds)
                {
                    using (writer.PushSequence())
                    {
                        writer.WriteObjectIdentifier(varBind.Oid.ToDotted());
                        WriteValue(writer, varBind.Value);
                    }
                }
            }
        }
    }

    public static void WriteValue(AsnWriter writer, SnmpValue value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        switch (value.Type)
        {
            case SnmpType.Integer32:
                writer.WriteInteger(value.Number);
                break;
            case SnmpType.OctetString:
                writer.WriteOctetString(value.Bytes);
                break;
            case SnmpType.Null:
                writer.WriteNull();
                break;
            case SnmpType.ObjectIdentifier:
                writer.WriteObjectIdentifier(value.ObjectId!.ToDotted());
                break;
            case SnmpType.IpAddress:
                writer.WriteOctetString(value.Bytes, IpAddressTag);
                break;
            case SnmpType.Opaque:
                writer.WriteOctetString(value.Bytes, new Asn1Tag(TagClass.Application, 4));
                break;
            case SnmpType.Counter32 or SnmpType.Gauge32 or SnmpType.TimeTicks or SnmpType.Counter64:
                writer.WriteInteger(value.UnsignedNumber, new Asn1Tag(TagClass.Application, (int)value.Type & 0x1F));
                break;
            case SnmpType.NoSuchObject or SnmpType.NoSuchInstance or SnmpType.EndOfMibView:
                writer.WriteNull(new Asn1Tag(TagClass.ContextSpecific, (int)value.Type & 0x1F));
                break;
            default:
                throw new ArgumentException($"cannot encode {value.Type}", nameof(value));
        }
    }

    /// <summary>Reads one PDU; any structural fault becomes <see cref="SnmpDecodeException"/>.</summary>
    public static Pdu ReadPdu(AsnReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        try
        {
            var tag = reader.PeekTag();
            if (tag.TagClass != TagClass.ContextSpecific || !tag.IsConstructed || tag.TagValue > 8 || tag.TagValue == 4)
            {
                throw new SnmpDecodeException($"not an SNMPv2 PDU (tag {tag})");
            }

            var type = (PduType)tag.TagValue;
            var body = reader.ReadSequence(tag);
            var requestId = ReadInt32(body);
            var errorStatus = ReadInt32(body);
            var errorIndex = ReadInt32(body);
            var list = body.ReadSequence();
            var varBinds = new List<VarBind>();
            while (list.HasData)
            {
                if (varBinds.Count >= MaxVarBinds)
                {
                    throw new SnmpDecodeException($"more than {MaxVarBinds} variable bindings");
                }

                var item = list.ReadSequence();
                var oid = ReadOid(item.ReadEncodedValue().Span);
                var value = ReadValue(item);
                item.ThrowIfNotEmpty();
                varBinds.Add(new VarBind(oid, value));
            }

            return new Pdu(type, requestId, errorStatus, errorIndex, varBinds);
        }
        catch (Exception e) when (e is AsnContentException or FormatException or InvalidOperationException or ArgumentException or OverflowException)
        {
            throw new SnmpDecodeException($"malformed PDU: {e.Message}", e);
        }
    }

    public static int ReadInt32(AsnReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return reader.TryReadInt32(out var value) ? value : throw new SnmpDecodeException("an INTEGER does not fit 32 bits");
    }

    private static SnmpValue ReadValue(AsnReader reader)
    {
        var tag = reader.PeekTag();
        if (tag.TagClass == TagClass.Universal && tag.TagValue == (int)UniversalTagNumber.OctetString)
        {
            return SnmpValue.OctetString(reader.ReadOctetString());
        }

        var encoded = reader.ReadEncodedValue().Span;
        AsnDecoder.ReadEncodedValue(encoded, AsnEncodingRules.BER, out var contentOffset, out var contentLength, out _);
        var content = encoded.Slice(contentOffset, contentLength);
        if (tag.IsConstructed)
        {
            throw new SnmpDecodeException($"unexpected constructed value (tag {tag})");
        }

        return (tag.TagClass, tag.TagValue) switch
        {
            (TagClass.Universal, (int)UniversalTagNumber.Integer) => SnmpValue.Integer(checked((int)SnmpValue.ReadSigned(content))),
            (TagClass.Universal, (int)UniversalTagNumber.Null) => SnmpValue.Null,
            (TagClass.Universal, (int)UniversalTagNumber.ObjectIdentifier) => SnmpValue.FromOid(DecodeOidContent(content)),
            (TagClass.Application, 0) => SnmpValue.IpAddressBytes(content.ToArray()),
            (TagClass.Application, 1) => SnmpValue.Unsigned(SnmpType.Counter32, SnmpValue.ReadUnsigned(content, 32)),
            (TagClass.Application, 2) => SnmpValue.Unsigned(SnmpType.Gauge32, SnmpValue.ReadUnsigned(content, 32)),
            (TagClass.Application, 3) => SnmpValue.Unsigned(SnmpType.TimeTicks, SnmpValue.ReadUnsigned(content, 32)),
            (TagClass.Application, 4) => SnmpValue.Opaque(content.ToArray()),
            (TagClass.Application, 6) => SnmpValue.Unsigned(SnmpType.Counter64, SnmpValue.ReadUnsigned(content, 64)),
            // UInteger32 (RFC 1442) is still sent by old agents; it is a Gauge32 on the wire today.
            (TagClass.Application, 7) => SnmpValue.Unsigned(SnmpType.Gauge32, SnmpValue.ReadUnsigned(content, 32)),
            (TagClass.ContextSpecific, 0) => SnmpValue.NoSuchObject,
            (TagClass.ContextSpecific, 1) => SnmpValue.NoSuchInstance,
            (TagClass.ContextSpecific, 2) => SnmpValue.EndOfMibView,
            _ => throw new SnmpDecodeException($"unknown value type (tag {tag})"),
        };
    }

    /// <summary>Decodes an OID from its full BER encoding (tag, length, content).</summary>
    public static Oid ReadOid(ReadOnlySpan<byte> encoded)
    {
        AsnDecoder.ReadEncodedValue(encoded, AsnEncodingRules.BER, out var contentOffset, out var contentLength, out _);
        if (encoded[0] != 0x06)
        {
            throw new SnmpDecodeException("a variable binding does not start with an OID");
        }

        return DecodeOidContent(encoded.Slice(contentOffset, contentLength));
    }

    private static Oid DecodeOidContent(ReadOnlySpan<byte> content)
    {
        if (content.Length == 0)
        {
            throw new SnmpDecodeException("an OID is empty");
        }

        Span<uint> arcs = stackalloc uint[Oid.MaxLength + 1];
        var count = 0;
        ulong current = 0;
        var inArc = false;
        foreach (var b in content)
        {
            if (!inArc && b == 0x80)
            {
                throw new SnmpDecodeException("an OID sub-identifier has a non-minimal encoding");
            }

            current = (current << 7) | (uint)(b & 0x7F);
            if (current > uint.MaxValue)
            {
                throw new SnmpDecodeException("an OID sub-identifier exceeds 32 bits");
            }

            inArc = (b & 0x80) != 0;
            if (!inArc)
            {
                if (count == 0)
                {
                    var first = current < 40 ? 0u : current < 80 ? 1u : 2u;
                    arcs[count++] = first;
                    arcs[count++] = (uint)(current - (first * 40));
                }
                else
                {
                    if (count >= Oid.MaxLength)
                    {
                        throw new SnmpDecodeException($"an OID has more than {Oid.MaxLength} sub-identifiers");
                    }

                    arcs[count++] = (uint)current;
                }

                current = 0;
            }
        }

        if (inArc)
        {
            throw new SnmpDecodeException("an OID is truncated");
        }

        return new Oid(arcs[..count].ToArray());
    }
}
