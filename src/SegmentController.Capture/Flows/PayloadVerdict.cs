namespace SegmentController.Capture.Flows;

/// <summary>What a flow's payload was judged to be (for <c>cleartext-to-client</c>).</summary>
internal enum PayloadVerdict : byte
{
    /// <summary>Not judged yet.</summary>
    Unknown,

    /// <summary>TLS (DTLS or QUIC over UDP), or exempt (DNS).</summary>
    Protected,

    /// <summary>Demonstrably not TLS: the stream's first bytes are no TLS record, or the payload is text.</summary>
    Cleartext,

    /// <summary>Seen from its middle and never shown to be cleartext: not judged (no finding either way).</summary>
    Undetermined,
}
