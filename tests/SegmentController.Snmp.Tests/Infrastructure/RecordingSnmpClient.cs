using System.Collections.Concurrent;
using SegmentController.Snmp.Protocol;
using SegmentController.Snmp.Transport;

namespace SegmentController.Snmp.Tests.Infrastructure;

/// <summary>
/// Passes every request to a real client and notes what was asked (type, variables, max-repetitions,
/// context), so a test can see what went on the wire without a fake agent.
/// </summary>
internal sealed class RecordingSnmpClient(ISnmpClient inner) : ISnmpClient
{
    public ConcurrentQueue<(PduType Type, int VarBinds, int MaxRepetitions, string? Context)> Requests { get; } = new();

    public string Target => inner.Target;

    public SnmpCredentials Credentials => inner.Credentials;

    public SnmpStatistics Statistics => inner.Statistics;

    public Task<Pdu> SendAsync(PduType type, IReadOnlyList<VarBind> varBinds, int nonRepeaters, int maxRepetitions, SnmpContext? context, CancellationToken cancellationToken)
    {
        Requests.Enqueue((type, varBinds.Count, maxRepetitions, context?.V3ContextName));
        return inner.SendAsync(type, varBinds, nonRepeaters, maxRepetitions, context, cancellationToken);
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
