namespace SegmentController.Capture.Decoding;

/// <summary>The TLS handshake message found at the start of a TCP payload, if any.</summary>
internal enum TlsHandshake : byte
{
    None,
    ClientHello,
    ServerHello,
}
