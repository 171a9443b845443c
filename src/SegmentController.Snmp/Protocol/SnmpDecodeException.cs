namespace SegmentController.Snmp.Protocol;

/// <summary>A datagram that is not a well-formed SNMP message. Raised for hostile or broken input; never fatal.</summary>
internal sealed class SnmpDecodeException : Exception
{
    public SnmpDecodeException()
    {
    }

    public SnmpDecodeException(string message)
        : base(message)
    {
    }

    public SnmpDecodeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
