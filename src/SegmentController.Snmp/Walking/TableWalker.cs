using SegmentController.Core.Policy;
using SegmentController.Snmp.Protocol;
using SegmentController.Snmp.Transport;

namespace SegmentController.Snmp.Walking;

/// <summary>
/// GETBULK walks. <see cref="WalkAsync"/> walks several table columns together: one request carries every
/// column still open, so a table of C columns and R rows costs about R/maxRepetitions requests instead of C
/// times that. <see cref="WalkSubtreeAsync"/> walks one subtree exactly as net-snmp's <c>snmpbulkwalk</c>.
/// Both send max-repetitions as given (1 to <see cref="SwitchDefinition.MaxRepetitionsLimit"/>); the agent
/// answers as many rows as fit its response limit, and a <c>tooBig</c> answer halves the repetitions.
/// An OID that does not increase is a protocol error (an agent looping would otherwise hold us forever).
/// </summary>
internal static class TableWalker
{
    /// <summary>Bounds the memory a hostile agent can make us spend on one column.</summary>
    public const int MaxRowsPerColumn = 200_000;

    /// <summary>
    /// Bounds what one walk may hold, all columns together (values' bytes and OIDs' arcs): rows of 60 KB
    /// strings would otherwise reach gigabytes well within the row count. A real switch's largest tables
    /// (forwarding databases, port tables) hold a few megabytes.
    /// </summary>
    public const long MaxBytesPerWalk = 64L << 20;

    /// <summary>
    /// Walks table columns. A column ends at the first OID outside it or at the first exception value
    /// (endOfMibView, noSuchObject, noSuchInstance), which is never stored as a row — net-snmp's walks stop
    /// at an exception value too.
    /// </summary>
    public static async Task<IReadOnlyDictionary<Oid, IReadOnlyList<VarBind>>> WalkAsync(
        ISnmpClient client,
        IReadOnlyList<Oid> columns,
        int maxRepetitions,
        SnmpContext? context = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(columns);
        CheckRepetitions(maxRepetitions);
        var results = new Dictionary<Oid, List<VarBind>>();
        var cursors = new List<(Oid Column, Oid Cursor)>();
        foreach (var column in columns.Distinct())
        {
            results[column] = [];
            cursors.Add((column, column));
        }

        var repetitions = maxRepetitions;
        var held = 0L;
        while (cursors.Count > 0)
        {
            var request = cursors.Select(c => new VarBind(c.Cursor, SnmpValue.Null)).ToArray();
            var response = await client.SendAsync(PduType.GetBulkRequest, request, 0, repetitions, context, cancellationToken).ConfigureAwait(false);
            if (Shrink(client, response, ref repetitions))
            {
                continue;
            }

            var width = cursors.Count;
            var open = new bool[width];
            Array.Fill(open, true);
            var next = cursors.ToArray();
            var added = new HashSet<Oid>();
            var endedByException = new bool[width];
            for (var i = 0; i < response.VarBinds.Count; i++)
            {
                var slot = i % width;
                if (!open[slot])
                {
                    continue;
                }

                var (column, cursor) = next[slot];
                var varBind = response.VarBinds[i];
                if (varBind.Value.IsException)
                {
                    open[slot] = false;
                    endedByException[slot] = true;
                    next[slot] = (column, null!);
                    continue;
                }

                // Checked before the column's bounds: an agent going back before the column has not ended it, and
                // taking that for the end would drop the rows it has not given yet without a word.
                if (varBind.Oid <= cursor)
                {
                    throw NotIncreasing(client, column, varBind.Oid, cursor);
                }

                if (!varBind.Oid.StartsWith(column))
                {
                    open[slot] = false;
                    next[slot] = (column, null!);
                    continue;
                }

                var rows = results[column];
                if (rows.Count >= MaxRowsPerColumn)
                {
                    throw TooLong(client, column);
                }

                held += SizeOf(varBind);
                if (held > MaxBytesPerWalk)
                {
                    throw TooLarge(client, column);
                }

                rows.Add(varBind);
                added.Add(varBind.Oid);
                next[slot] = (column, varBind.Oid);
            }

            CheckAligned(client, response, cursors, next, endedByException, added);
            cursors = next.Where(c => c.Cursor is not null).ToList();
        }

        return results.ToDictionary(r => r.Key, r => (IReadOnlyList<VarBind>)r.Value);
    }

    /// <summary>
    /// Walks one subtree and returns what <c>snmpbulkwalk -On</c> prints: every variable of each answer that
    /// lies in the subtree, an exception value included (the walk stops after the answer holding one, so an
    /// agent's repeated endOfMibView lines are kept as net-snmp prints them); and when nothing lies in the
    /// subtree, the answer to a GET of the OID itself (a scalar's value, or noSuchObject/noSuchInstance).
    /// </summary>
    public static async Task<IReadOnlyList<VarBind>> WalkSubtreeAsync(ISnmpClient client, Oid root, int maxRepetitions, SnmpContext? context = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(root);
        CheckRepetitions(maxRepetitions);
        var rows = new List<VarBind>();
        var cursor = root;
        var repetitions = maxRepetitions;
        var running = true;
        var held = 0L;
        while (running)
        {
            var response = await client.SendAsync(PduType.GetBulkRequest, [new VarBind(cursor, SnmpValue.Null)], 0, repetitions, context, cancellationToken).ConfigureAwait(false);
            if (Shrink(client, response, ref repetitions))
            {
                continue;
            }

            var last = cursor;
            foreach (var varBind in response.VarBinds)
            {
                if (!varBind.Oid.StartsWith(root))
                {
                    running = false;
                    continue;
                }

                if (rows.Count >= MaxRowsPerColumn)
                {
                    throw TooLong(client, root);
                }

                held += SizeOf(varBind);
                if (held > MaxBytesPerWalk)
                {
                    throw TooLarge(client, root);
                }

                if (varBind.Value.IsException)
                {
                    rows.Add(varBind);
                    running = false;
                    continue;
                }

                if (varBind.Oid <= last)
                {
                    throw NotIncreasing(client, root, varBind.Oid, last);
                }

                rows.Add(varBind);
                last = varBind.Oid;
            }

            cursor = last;
        }

        if (rows.Count == 0)
        {
            // The OID may name a single instance (a scalar such as sysDescr.0): snmpbulkwalk then GETs it.
            var answer = await client.SendAsync(PduType.GetRequest, [new VarBind(root, SnmpValue.Null)], 0, 0, context, cancellationToken).ConfigureAwait(false);
            if (answer.ErrorStatus == 0)
            {
                rows.AddRange(answer.VarBinds);
            }
        }

        return rows;
    }

    private static void CheckRepetitions(int maxRepetitions)
    {
        if (maxRepetitions is < 1 or > SwitchDefinition.MaxRepetitionsLimit)
        {
            throw new SnmpException(SnmpErrorKind.Configuration, $"max-repetitions must be from 1 to {SwitchDefinition.MaxRepetitionsLimit}, not {maxRepetitions}");
        }
    }

    /// <summary>Handles an answer's error-status: true when the request is to be repeated with fewer repetitions.</summary>
    private static bool Shrink(ISnmpClient client, Pdu response, ref int repetitions)
    {
        if (response.ErrorStatus == (int)SnmpErrorStatus.TooBig && repetitions > 1)
        {
            repetitions = Math.Max(1, repetitions / 2);
            return true;
        }

        if (response.ErrorStatus != 0)
        {
            throw new SnmpException(SnmpErrorKind.ErrorStatus, $"{client.Target} answered GETBULK with error-status {(SnmpErrorStatus)response.ErrorStatus} (index {response.ErrorIndex})");
        }

        if (response.VarBinds.Count == 0)
        {
            throw new SnmpException(SnmpErrorKind.Protocol, $"{client.Target} answered GETBULK with no variables");
        }

        return false;
    }

    /// <summary>
    /// Each slot of a GETBULK answer follows the agent's successor chain from its cursor, and chains never overtake
    /// one another: any variable of the answer that lies in a column after its cursor and before where its slot
    /// stopped (anywhere after, when the column ended) must be one of the rows the slot gave. An agent that leaves
    /// out an ended column's slots instead shifts rows into the wrong slots, and a row would go missing unnoticed.
    /// A column an exception value ended is left out: what follows the exception is not read, by design.
    /// </summary>
    private static void CheckAligned(ISnmpClient client, Pdu response, List<(Oid Column, Oid Cursor)> before, (Oid Column, Oid Cursor)[] after, bool[] endedByException, HashSet<Oid> added)
    {
        foreach (var varBind in response.VarBinds)
        {
            if (varBind.Value.IsException || added.Contains(varBind.Oid))
            {
                continue;
            }

            for (var slot = 0; slot < before.Count; slot++)
            {
                var (column, cursor) = before[slot];
                var stopped = after[slot].Cursor;
                if (!endedByException[slot] && varBind.Oid.StartsWith(column) && varBind.Oid > cursor && (stopped is null || varBind.Oid < stopped))
                {
                    throw new SnmpException(SnmpErrorKind.Protocol, $"{client.Target} answered GETBULK without {varBind.Oid} in the walk of {column}, which the same answer holds elsewhere: its answers do not follow the columns asked; giving up rather than lose rows");
                }
            }
        }
    }

    private static SnmpException NotIncreasing(ISnmpClient client, Oid column, Oid oid, Oid after) =>
        new(SnmpErrorKind.Protocol, $"{client.Target}: OID not increasing in the walk of {column}: {oid} after {after}");

    private static long SizeOf(VarBind varBind) => varBind.Value.Bytes.Length + (varBind.Oid.Length * sizeof(uint));

    private static SnmpException TooLarge(ISnmpClient client, Oid column) =>
        new(SnmpErrorKind.Protocol, $"{client.Target}: the walk of {column} holds more than {MaxBytesPerWalk >> 20} MiB; giving up");

    private static SnmpException TooLong(ISnmpClient client, Oid column) =>
        new(SnmpErrorKind.Protocol, $"{client.Target}: {column} has more than {MaxRowsPerColumn} rows; giving up");
}
