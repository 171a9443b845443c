using System.Text.Json.Serialization;

namespace SegmentController.Core.Suspension;

/// <summary>
/// The suspensions in force: immutable, swapped atomically by the engine, read without locks on every
/// connection and request.
/// </summary>
public sealed record SuspensionState
{
    /// <summary>Nothing suspended.</summary>
    public static SuspensionState Empty { get; } = new();

    /// <summary>Suspensions by scope: client ids and <see cref="SuspensionNames.AllClients"/>.</summary>
    public IReadOnlyDictionary<string, SuspensionRecord> Suspensions { get; init; } =
        new Dictionary<string, SuspensionRecord>(StringComparer.Ordinal);

    /// <summary>Audits that passed, by client id (for restores that require one), latest time.</summary>
    public IReadOnlyDictionary<string, DateTimeOffset> LastPassingAudit { get; init; } =
        new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);

    /// <summary>When each scope's last suspension was lifted (client ids and <see cref="SuspensionNames.AllClients"/>).</summary>
    public IReadOnlyDictionary<string, DateTimeOffset> LastLifted { get; init; } =
        new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);

    /// <summary>Restores waiting for more approvers, by scope.</summary>
    public IReadOnlyDictionary<string, PendingRestore> PendingRestores { get; init; } =
        new Dictionary<string, PendingRestore>(StringComparer.Ordinal);

    /// <summary>
    /// Switch ports restores lifted whose bring-up has not been read back up yet, by client id (<see cref="OwedBringUp"/>):
    /// tried again until they are, at a start too.
    /// </summary>
    public IReadOnlyDictionary<string, OwedBringUp> OwedBringUps { get; init; } =
        new Dictionary<string, OwedBringUp>(StringComparer.Ordinal);

    /// <summary>True when the site-wide switch is on.</summary>
    [JsonIgnore]
    public bool AllSuspended => Suspensions.ContainsKey(SuspensionNames.AllClients);

    /// <summary>True when this client may not pass: suspended itself, or the whole site is.</summary>
    public bool IsSuspended(string clientId) =>
        AllSuspended || Suspensions.ContainsKey(clientId);

    internal SuspensionState With(SuspensionRecord record)
    {
        var copy = new Dictionary<string, SuspensionRecord>(Suspensions, StringComparer.Ordinal) { [record.Scope] = record };
        return this with { Suspensions = copy };
    }

    /// <summary>Lifts the suspension of a scope, and with it any restore pending for it.</summary>
    internal SuspensionState Without(string scope)
    {
        var copy = new Dictionary<string, SuspensionRecord>(Suspensions, StringComparer.Ordinal);
        copy.Remove(scope);
        return (this with { Suspensions = copy }).WithoutPending(scope);
    }

    /// <summary>With the bring-ups owed to the clients a new suspension of <paramref name="scope"/> covers dropped: its trip shuts their ports.</summary>
    internal SuspensionState WithoutOwedCoveredBy(string scope)
    {
        if (OwedBringUps.Count == 0)
        {
            return this;
        }

        if (string.Equals(scope, SuspensionNames.AllClients, StringComparison.Ordinal))
        {
            return this with { OwedBringUps = new Dictionary<string, OwedBringUp>(StringComparer.Ordinal) };
        }

        return WithOwed(scope, null);
    }

    /// <summary>With the bring-up owed to a client replaced (null: dropped).</summary>
    internal SuspensionState WithOwed(string clientId, OwedBringUp? owed)
    {
        if (owed is null && !OwedBringUps.ContainsKey(clientId))
        {
            return this;
        }

        var copy = new Dictionary<string, OwedBringUp>(OwedBringUps, StringComparer.Ordinal);
        if (owed is null)
        {
            copy.Remove(clientId);
        }
        else
        {
            copy[clientId] = owed;
        }

        return this with { OwedBringUps = copy };
    }

    internal SuspensionState WithPending(string scope, PendingRestore pending)
    {
        var copy = new Dictionary<string, PendingRestore>(PendingRestores, StringComparer.Ordinal) { [scope] = pending };
        return this with { PendingRestores = copy };
    }

    internal SuspensionState WithoutPending(string scope)
    {
        if (!PendingRestores.ContainsKey(scope))
        {
            return this;
        }

        var copy = new Dictionary<string, PendingRestore>(PendingRestores, StringComparer.Ordinal);
        copy.Remove(scope);
        return this with { PendingRestores = copy };
    }

    /// <summary>The latest time a suspension covering this client was lifted; null when none ever was.</summary>
    public DateTimeOffset? LiftedAt(string clientId)
    {
        DateTimeOffset? own = LastLifted.TryGetValue(clientId, out var mine) ? mine : null;
        DateTimeOffset? site = LastLifted.TryGetValue(SuspensionNames.AllClients, out var all) ? all : null;
        return own > site || site is null ? own : site;
    }

    /// <summary>
    /// The latest reassertion of this client's switch ports (at a start, a reload or a retry) by a suspension
    /// in force that covers it (its own, or <see cref="SuspensionNames.AllClients"/>), with that suspension;
    /// null when none has reasserted them.
    /// </summary>
    public (SuspensionRecord Suspension, PortReassertion Reassertion)? LastReassertion(string clientId)
    {
        (SuspensionRecord Suspension, PortReassertion Reassertion)? last = null;
        foreach (var scope in (string[])[clientId, SuspensionNames.AllClients])
        {
            if (!Suspensions.TryGetValue(scope, out var record))
            {
                continue;
            }

            foreach (var reassertion in record.Reassertions)
            {
                if (reassertion.Clients.Contains(clientId, StringComparer.Ordinal) && (last is null || reassertion.At > last.Value.Reassertion.At))
                {
                    last = (record, reassertion);
                }
            }
        }

        return last;
    }

    internal SuspensionState WithLifted(string scope, DateTimeOffset at)
    {
        var copy = new Dictionary<string, DateTimeOffset>(LastLifted, StringComparer.Ordinal) { [scope] = at };
        return this with { LastLifted = copy };
    }

    internal SuspensionState WithPassingAudit(string clientId, DateTimeOffset at)
    {
        var copy = new Dictionary<string, DateTimeOffset>(LastPassingAudit, StringComparer.Ordinal) { [clientId] = at };
        return this with { LastPassingAudit = copy };
    }
}
