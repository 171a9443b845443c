using SegmentController.Snmp.Protocol;

namespace SegmentController.Snmp.Transport;

/// <summary>One SNMP agent, spoken to in v2c or v3 with fixed credentials.</summary>
internal interface ISnmpClient : IAsyncDisposable
{
    /// <summary>Where the agent is, as given (host and port).</summary>
    string Target { get; }

    SnmpCredentials Credentials { get; }

    SnmpStatistics Statistics { get; }

    /// <summary>
    /// Sends a request and returns the agent's Response PDU (error-status not interpreted).
    /// Throws <see cref="SnmpException"/> on timeout, Report PDUs and credential rejections.
    /// </summary>
    Task<Pdu> SendAsync(PduType type, IReadOnlyList<VarBind> varBinds, int nonRepeaters, int maxRepetitions, SnmpContext? context, CancellationToken cancellationToken);
}
