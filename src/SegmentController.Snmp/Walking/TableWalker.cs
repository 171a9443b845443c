using SegmentController.Snmp.Protocol;
using SegmentController.Snmp.Transport;

namespace SegmentController.Snmp.Walking;

/// <summary>
/// Walks several table columns together with GETBULK: one request carries every column still open,
/// so a table of C columns and R rows costs about R/maxRepetitions requests instead of C times that.
/// A column ends at the first OID outside its subtree, at endOfMibView or an exception value; an OID
/// that does not increase is a protocol error (an agent looping would otherwise hold us forever).
/// </summary>
internal static class TableWalker
{
    /// <summary>Bounds the memory a hostile agent can make us spend on one column.</summary>
    public const int MaxRowsPerColumn = 200_000;

    /// <summary>
    /// Variable bindings asked for in one GETBULK: columns × repetitions. Agents cap responses (snmpsimd at
    /// 64 bindings, small switches by buffer), so wide walks ask fewer repetitions per column.
    /// </summary>
    public const int DefaultVarBindBudget = 64;

    public static async Task<IReadOnlyDictionary<Oid, IReadOnlyList<VarBind>>> WalkAsync(
        ISnmpClient client,
        IReadOnlyList<Oid> columns,
        int maxRepetitions,
        SnmpContext? context = null,
        int varBindBudget = DefaultVarBindBudget,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(columns);
        var results = new Dictionary<Oid, List<VarBind>>();
        var cursors = new List<(Oid Column, Oid Cursor)>();
        foreach (var column in columns.Distinct())
        {
            results[column] = [];
            cursors.Add((column, column));
        }

        var repetitions = Math.Max(1, maxRepetitions);
        while (cursors.Count > 0)
        {
            var request = cursors.Select(c => c.Cursor).ToArray();
            var asked = Math.Clamp(varBindBudget / cursors.Count, 1, repetitions);
            var response = await client.SendAsync(PduType.GetBulkRequest, request.Select(o => new VarBind(o, SnmpValue.Null)).ToArray(), 0, asked, context, cancellationToken).ConfigureAwait(false);
            if (response.ErrorStatus == (int)SnmpErrorStatus.TooBig && asked > 1)
            {
                repetitions = Math.Max(1, asked / 2);
                continue;
            }

            if (response.ErrorStatus != 0)
            {
                throw new SnmpException(SnmpErrorKind.ErrorStatus, $"{client.Target} answered GETBULK with error-status {(SnmpErrorStatus)response.ErrorStatus} (index {response.ErrorIndex})");
            }

            var width = cursors.Count;
            if (response.VarBinds.Count == 0)
            {
                throw new SnmpException(SnmpErrorKind.Protocol, $"{client.Target} answered GETBULK with no variables");
            }

            var open = new bool[width];
            Array.Fill(open, true);
            var next = cursors.ToArray();
            for (var i = 0; i < response.VarBinds.Count; i++)
            {
                var slot = i % width;
                if (!open[slot])
                {
                    continue;
                }

                var (column, cursor) = next[slot];
                var varBind = response.VarBinds[i];
                if (varBind.Value.Type == SnmpType.EndOfMibView || !varBind.Oid.StartsWith(column) || varBind.Oid.Length == column.Length)
                {
                    open[slot] = false;
                    next[slot] = (column, null!);
                    continue;
                }

                if (varBind.Oid <= cursor)
                {
                    throw new SnmpException(SnmpErrorKind.Protocol, $"{client.Target}: OID not increasing in the walk of {column}: {varBind.Oid} after {cursor}");
                }

                var rows = results[column];
                if (rows.Count >= MaxRowsPerColumn)
                {
                    throw new SnmpException(SnmpErrorKind.Protocol, $"{client.Target}: column {column} has more than {MaxRowsPerColumn} rows; giving up");
                }

                rows.Add(varBind);
                next[slot] = (column, varBind.Oid);
            }

            cursors = next.Where(c => c.Cursor is not null).ToList();
        }

        return results.ToDictionary(r => r.Key, r => (IReadOnlyList<VarBind>)r.Value);
    }

    /// <summary>Walks one subtree, as <c>snmpbulkwalk</c> does.</summary>
    public static async Task<IReadOnlyList<VarBind>> WalkSubtreeAsync(ISnmpClient client, Oid root, int maxRepetitions, SnmpContext? context = null, CancellationToken cancellationToken = default)
    {
        var result = await WalkAsync(client, [root], maxRepetitions, context, cancellationToken: cancellationToken).ConfigureAwait(false);
        return result[root];
    }
}
