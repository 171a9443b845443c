namespace SegmentController.Storage.Chain;

/// <summary>
/// What a purge record vouches for: payloads of these clients' records up to <see cref="HeadIndex"/> were
/// removed on <see cref="Today"/> because each client's retention (<see cref="RetainUntil"/>) had ended; the
/// records it emptied lie from <see cref="FirstIndex"/> to <see cref="LastIndex"/>.
/// </summary>
/// <param name="RecordIndex">The purge record's own index.</param>
/// <param name="RecordTicks">When the purge record was sequenced.</param>
/// <param name="HeadIndex">The last record it covers.</param>
/// <param name="Today">The date the purge judged retention against.</param>
/// <param name="RetainUntil">Per client, the retention end the purge applied.</param>
/// <param name="FirstIndex">The first record it emptied.</param>
/// <param name="LastIndex">The last record it emptied.</param>
internal sealed record PurgeBody(long RecordIndex, long RecordTicks, long HeadIndex, DateOnly Today, IReadOnlyDictionary<string, DateOnly> RetainUntil, long FirstIndex, long LastIndex)
{
    /// <summary>The clients whose records it purged.</summary>
    public IEnumerable<string> Clients => RetainUntil.Keys;

    /// <summary>Whether it vouches for the removal of the payload of record <paramref name="index"/>, which concerns <paramref name="clients"/>.</summary>
    public bool Covers(long index, IReadOnlyList<string> clients) =>
        HeadIndex >= index && RecordIndex > index && clients.All(RetainUntil.ContainsKey);

    /// <summary>
    /// Whether it is the purge that emptied record <paramref name="index"/> (whose payload is gone), of the
    /// purges in chain order: the first that covers it with the record within the stretch it emptied. A purge
    /// empties every record it covers that still has a payload and is old enough, and records only grow younger
    /// along the chain, so one that covered the record in that stretch and left it would have emptied none after
    /// it; a purge that came later found it empty already.
    /// </summary>
    public static PurgeBody? Emptied(IEnumerable<PurgeBody> purges, long index, IReadOnlyList<string> clients) =>
        purges.FirstOrDefault(p => p.Covers(index, clients) && p.FirstIndex <= index && index <= p.LastIndex);
}
