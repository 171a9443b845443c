namespace SegmentController.Snmp.Transport;

/// <summary>An SNMP exchange failed; <see cref="Exception.Message"/> says why in words an operator can act on.</summary>
internal sealed class SnmpException : Exception
{
    public SnmpException()
    {
    }

    public SnmpException(string message)
        : base(message)
    {
    }

    public SnmpException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public SnmpException(SnmpErrorKind kind, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
    }

    public SnmpErrorKind Kind { get; } = SnmpErrorKind.Protocol;

    /// <summary>Whether the agent turned the credentials down (as opposed to not answering).</summary>
    public bool IsCredentialRejection => Kind is SnmpErrorKind.UnknownUser or SnmpErrorKind.WrongDigest
        or SnmpErrorKind.DecryptionError or SnmpErrorKind.UnsupportedSecurityLevel;
}
