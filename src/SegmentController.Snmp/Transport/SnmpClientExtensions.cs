using SegmentController.Snmp.Protocol;

namespace SegmentController.Snmp.Transport;

/// <summary>The four operations, with error-status turned into <see cref="SnmpException"/>.</summary>
internal static class SnmpClientExtensions
{
    public static Task<IReadOnlyList<VarBind>> GetAsync(this ISnmpClient client, IReadOnlyList<Oid> oids, SnmpContext? context = null, CancellationToken cancellationToken = default) =>
        RequestAsync(client, PduType.GetRequest, Nulls(oids), 0, 0, context, cancellationToken);

    public static Task<IReadOnlyList<VarBind>> GetNextAsync(this ISnmpClient client, IReadOnlyList<Oid> oids, SnmpContext? context = null, CancellationToken cancellationToken = default) =>
        RequestAsync(client, PduType.GetNextRequest, Nulls(oids), 0, 0, context, cancellationToken);

    public static Task<IReadOnlyList<VarBind>> GetBulkAsync(this ISnmpClient client, IReadOnlyList<Oid> oids, int nonRepeaters, int maxRepetitions, SnmpContext? context = null, CancellationToken cancellationToken = default) =>
        RequestAsync(client, PduType.GetBulkRequest, Nulls(oids), nonRepeaters, maxRepetitions, context, cancellationToken);

    public static Task<IReadOnlyList<VarBind>> SetAsync(this ISnmpClient client, IReadOnlyList<VarBind> varBinds, SnmpContext? context = null, CancellationToken cancellationToken = default) =>
        RequestAsync(client, PduType.SetRequest, varBinds, 0, 0, context, cancellationToken);

    private static async Task<IReadOnlyList<VarBind>> RequestAsync(ISnmpClient client, PduType type, IReadOnlyList<VarBind> varBinds, int nonRepeaters, int maxRepetitions, SnmpContext? context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var response = await client.SendAsync(type, varBinds, nonRepeaters, maxRepetitions, context, cancellationToken).ConfigureAwait(false);
        if (response.ErrorStatus != 0)
        {
            var status = (SnmpErrorStatus)response.ErrorStatus;
            var index = response.ErrorIndex;
            var culprit = index >= 1 && index <= varBinds.Count ? $" at {varBinds[index - 1].Oid}" : "";
            throw new SnmpException(SnmpErrorKind.ErrorStatus, $"{client.Target} answered {type} with {Name(status)}{culprit}");
        }

        if (type == PduType.GetBulkRequest)
        {
            // Its answer holds as many variables as the agent chose, each after the one before it in its slot.
            return response.VarBinds;
        }

        if (response.VarBinds.Count != varBinds.Count)
        {
            throw new SnmpException(SnmpErrorKind.Protocol, $"{client.Target} answered {varBinds.Count} variables with {response.VarBinds.Count}");
        }

        // RFC 3416 §4.2.1, 4.2.2, 4.2.5: a response names the variables asked, in order (GETNEXT the ones after
        // them). A value under another name is not the asked one's: taken for it, a read-back of one port would
        // report another's.
        for (var i = 0; i < varBinds.Count; i++)
        {
            var asked = varBinds[i].Oid;
            var got = response.VarBinds[i];
            var named = type == PduType.GetNextRequest
                ? got.Oid > asked || (got.Oid == asked && got.Value.Type == SnmpType.EndOfMibView)
                : got.Oid == asked;
            if (!named)
            {
                throw new SnmpException(SnmpErrorKind.Protocol, $"{client.Target} answered {type} for {asked} with {got.Oid}");
            }
        }

        return response.VarBinds;
    }

    private static string Name(SnmpErrorStatus status)
    {
        var text = status.ToString();
        return Enum.IsDefined(status) ? char.ToLowerInvariant(text[0]) + text[1..] : $"error-status {(int)status}";
    }

    private static VarBind[] Nulls(IReadOnlyList<Oid> oids)
    {
        ArgumentNullException.ThrowIfNull(oids);
        return oids.Select(o => new VarBind(o, SnmpValue.Null)).ToArray();
    }
}
