using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using SegmentController.Capture.Decoding;
using SegmentController.Capture.Flows;

namespace SegmentController.Capture.Rules;

/// <remarks>
/// Payload rules. <c>cleartext-to-client</c> is judged only where the judgement is sound:
/// <list type="bullet">
/// <item>TCP whose start was seen (a SYN of that direction): the segment carrying the stream's first byte
/// must begin with a TLS record. A TLS handshake message anywhere also settles it as TLS.</item>
/// <item>TCP seen from its middle (capture started later, the flow was evicted or expired): a segment
/// boundary need not be a record boundary, so only text is evidence — three segments whose first bytes
/// are all printable ASCII (cipher text is never that, handshake messages hardly) make it cleartext;
/// after sixteen payload segments without that, the flow is left undetermined (binary cleartext seen
/// from its middle is not caught).</item>
/// <item>UDP, each datagram standing alone: DNS (port 53) is name resolution and exempt; DTLS records,
/// QUIC long headers (known versions) and QUIC short headers on port 443 count as protected; anything
/// else — text above all — is cleartext. The first datagram with payload decides.</item>
/// </list>
/// The verdict is a fact about the stream and survives a policy reload; a new SYN (another connection
/// on the same ports) starts afresh.
/// </remarks>
internal sealed partial class CaptureAnalyzer
{
    private const byte TcpSyn = 0x02;
    private const int TextSegmentsForCleartext = 3;
    private const int MaxSegmentsExamined = 16;
    private const int TextProbeBytes = 64;
    private const int MinTextBytes = 16;
    private const int MaxServerNameLength = 253;

    private readonly Dictionary<(IpKey Client, IpKey Server, ushort ClientPort, ushort ServerPort), string> _serverNames = [];

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void JudgeContent(ref FlowState flow, in DecodedFrame frame, ReadOnlySpan<byte> bytes)
    {
        if (flow.MacSegment >= 0 && !_index.Segments[flow.MacSegment].Macs!.Contains(frame.SourceMac))
        {
            flow.ContentRules |= (uint)CaptureRules.UnknownMac;
        }

        if (frame.Tls == TlsHandshake.ServerHello && frame.TlsVersion < TlsParser.Tls12)
        {
            flow.ContentRules |= (uint)CaptureRules.WeakTls;
        }
        else if (frame.Tls == TlsHandshake.ClientHello && frame.SniLength > 0)
        {
            RememberServerName(in frame, bytes);
        }

        if (frame.HasTransport)
        {
            if (frame.Protocol == IpProtocols.Tcp)
            {
                JudgeTcp(ref flow, in frame, bytes);
            }
            else if (frame.Protocol == IpProtocols.Udp && flow.TouchesUpstream && flow.Verdict == PayloadVerdict.Unknown && frame.PayloadLength > 0)
            {
                flow.Verdict = JudgeDatagram(in frame, bytes.Slice(frame.PayloadOffset, frame.PayloadLength));
            }
        }

        if (flow.TouchesUpstream && flow.Verdict == PayloadVerdict.Cleartext)
        {
            flow.ContentRules |= (uint)CaptureRules.CleartextToClient;
        }

        if (frame.Layer == NetworkLayer.Arp && JudgeArp(in frame))
        {
            flow.ContentRules |= (uint)CaptureRules.ArpSpoofing;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void JudgeTcp(ref FlowState flow, in DecodedFrame frame, ReadOnlySpan<byte> bytes)
    {
        var syn = (frame.TcpFlags & TcpSyn) != 0;
        if (syn && (!flow.StartSeen || flow.StreamStart != frame.TcpSequence + 1))
        {
            // A new connection on the same addresses and ports: its stream is judged afresh.
            flow.StartSeen = true;
            flow.StreamStart = frame.TcpSequence + 1;
            flow.Verdict = PayloadVerdict.Unknown;
            flow.SegmentsExamined = 0;
            flow.TextSegments = 0;
            flow.ContentRules &= ~(uint)CaptureRules.CleartextToClient;
        }

        if (flow.Verdict != PayloadVerdict.Unknown || frame.PayloadLength == 0)
        {
            return;
        }

        if (frame.Tls != TlsHandshake.None)
        {
            flow.Verdict = PayloadVerdict.Protected;
            return;
        }

        var payload = bytes.Slice(frame.PayloadOffset, frame.PayloadLength);

        // The stream's first byte: on a SYN with data (TCP Fast Open), or the segment that starts at it.
        if (syn || (flow.StartSeen && frame.TcpSequence == flow.StreamStart))
        {
            flow.Verdict = StartsWithTlsRecord(in frame, payload) ? PayloadVerdict.Protected : PayloadVerdict.Cleartext;
            return;
        }

        if (!flow.TouchesUpstream)
        {
            return;
        }

        if (IsText(payload) && ++flow.TextSegments >= TextSegmentsForCleartext)
        {
            flow.Verdict = PayloadVerdict.Cleartext;
            return;
        }

        if (++flow.SegmentsExamined >= MaxSegmentsExamined)
        {
            flow.Verdict = PayloadVerdict.Undetermined;
        }
    }

    /// <summary>True when a stream's first bytes are a TLS record header (as far as they were captured).</summary>
    private static bool StartsWithTlsRecord(in DecodedFrame frame, ReadOnlySpan<byte> payload)
    {
        if (payload.Length >= 5)
        {
            return frame.LooksLikeTls;
        }

        // A snap length or a tiny first segment left less than a header: judge what is there.
        return payload[0] is >= 20 and <= 24
            && (payload.Length < 2 || payload[1] == 3)
            && (payload.Length < 3 || payload[2] <= 4);
    }

    private static PayloadVerdict JudgeDatagram(in DecodedFrame frame, ReadOnlySpan<byte> payload)
    {
        if (frame.SourcePort == 53 || frame.DestinationPort == 53)
        {
            return PayloadVerdict.Protected;
        }

        if (IsText(payload))
        {
            return PayloadVerdict.Cleartext;
        }

        // DTLS: a record header with a DTLS version (1.0, 1.2, 1.3).
        if (payload.Length >= 3 && payload[0] is >= 20 and <= 25 && payload[1] == 0xFE && payload[2] is 0xFF or 0xFD or 0xFC)
        {
            return PayloadVerdict.Protected;
        }

        // QUIC long header (form and fixed bits set) with a version that exists: 1, 2 or a draft.
        if (payload.Length >= 5 && (payload[0] & 0xC0) == 0xC0)
        {
            var version = BinaryPrimitives.ReadUInt32BigEndian(payload[1..]);
            if (version is 0x00000001 or 0x6B3343CF || (version & 0xFFFFFF00) == 0xFF000000)
            {
                return PayloadVerdict.Protected;
            }
        }

        // QUIC short header: all but the first byte is encrypted, so only the HTTPS port vouches for it.
        if ((payload[0] & 0xC0) == 0x40 && (frame.SourcePort == 443 || frame.DestinationPort == 443))
        {
            return PayloadVerdict.Protected;
        }

        return PayloadVerdict.Cleartext;
    }

    /// <summary>True when the payload's first bytes (at least 16) are all printable ASCII, tab, CR or LF.</summary>
    internal static bool IsText(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < MinTextBytes)
        {
            return false;
        }

        foreach (var b in payload[..Math.Min(payload.Length, TextProbeBytes)])
        {
            if (b is > 0x7E or (< 0x20 and not (0x09 or 0x0A or 0x0D)))
            {
                return false;
            }
        }

        return true;
    }

    private void RememberServerName(in DecodedFrame frame, ReadOnlySpan<byte> bytes)
    {
        var key = (frame.Source, frame.Destination, frame.SourcePort, frame.DestinationPort);
        if (_serverNames.ContainsKey(key) || frame.SniOffset + frame.SniLength > bytes.Length)
        {
            return;
        }

        if (_serverNames.Count >= _options.ServerNameCapacity)
        {
            _serverNames.Clear();
        }

        _serverNames.Add(key, ServerNameText(bytes.Slice(frame.SniOffset, frame.SniLength)));
    }

    /// <summary>The SNI of the connection the flow belongs to (either direction), if a ClientHello named it.</summary>
    private string? ServerNameOf(in FlowKey key) =>
        _serverNames.TryGetValue((key.Source, key.Destination, key.SourcePort, key.DestinationPort), out var name)
        || _serverNames.TryGetValue((key.Destination, key.Source, key.DestinationPort, key.SourcePort), out name)
            ? name
            : null;

    /// <summary>A host name from the wire, made safe to print: printable ASCII only, bounded.</summary>
    private static string ServerNameText(ReadOnlySpan<byte> name)
    {
        name = name[..Math.Min(name.Length, MaxServerNameLength)];
        return string.Create(name.Length, name.ToArray(), static (span, raw) =>
        {
            for (var i = 0; i < raw.Length; i++)
            {
                span[i] = raw[i] is >= 0x21 and <= 0x7E ? (char)raw[i] : '?';
            }
        });
    }
}
