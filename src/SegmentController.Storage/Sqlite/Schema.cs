namespace SegmentController.Storage.Sqlite;

/// <summary>The store's tables. <c>head</c> holds the signed chain head, updated in every batch's transaction.</summary>
internal static class Schema
{
    public const string Create = """
        CREATE TABLE IF NOT EXISTS records(
            idx INTEGER PRIMARY KEY,
            time INTEGER NOT NULL,
            type TEXT NOT NULL,
            clients TEXT,
            payload BLOB,
            payload_sha256 BLOB NOT NULL,
            prev_hash BLOB NOT NULL,
            hash BLOB NOT NULL,
            entries INTEGER,
            encoding TEXT);
        CREATE TABLE IF NOT EXISTS head(
            id INTEGER PRIMARY KEY CHECK (id = 1),
            idx INTEGER NOT NULL,
            time INTEGER NOT NULL,
            hash BLOB NOT NULL,
            key_id TEXT NOT NULL,
            signature BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS meta(
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL);
        """;

    /// <summary>
    /// Schema 3's column, added by the writer on open to a store made before it (<see cref="Migrate"/> follows):
    /// <c>entries</c>, the elements of a row's payload when that is a JSON array (as the rows joining
    /// handed-over entries are), else null. It is not part of the chain: it is derived from the payload,
    /// which is, and verification derives it again and compares (<see cref="Chain.ArrayEntries"/>); an
    /// exposure count sums it (a row without it counts once). The migration fills it for older rows.
    /// </summary>
    public const string AddEntries = "ALTER TABLE records ADD COLUMN entries INTEGER;";

    /// <summary>
    /// Schema 4's column, added by the writer on open to a store made before it: <c>encoding</c>, how the row keeps
    /// its payload (<see cref="PayloadEncoding"/>: null as written, <c>deflate</c> compressed). Not part of the
    /// chain, which covers the payload as written.
    /// </summary>
    public const string AddEncoding = "ALTER TABLE records ADD COLUMN encoding TEXT;";

    /// <summary>
    /// Indexes, created by the writer on open (stores made before them get them then: the migration to
    /// schema 2). Typed reads — an incident's exposure count, audits' evidence windows, incidents and audit
    /// history read back — use (type, time). Time alone needs no index: time never decreases along idx,
    /// so a time bound is found by bisecting idx (<see cref="StoreReader.FirstIndexAtOrAfter"/>), and every
    /// append maintains one index, not two. The format becomes <see cref="Format"/> with schema 4: a version that
    /// reads only <see cref="FormatBeforeEncoding"/> refuses the store, rather than report its deflated rows as edited.
    /// </summary>
    public const string Migrate = $"""
        CREATE INDEX IF NOT EXISTS records_type_time ON records(type, time);
        INSERT INTO meta(key, value) VALUES ('schema', '4') ON CONFLICT(key) DO UPDATE SET value = excluded.value;
        INSERT INTO meta(key, value) VALUES ('format', '{Format}') ON CONFLICT(key) DO UPDATE SET value = excluded.value;
        """;

    /// <summary>The schema version the writer brings a store to.</summary>
    public const int Version = 4;

    /// <summary>The store format a writer of schema 4 or later marks its store with (rows may be deflated).</summary>
    public const string Format = "segctl-evidence-v2";

    /// <summary>The format of stores no writer of schema 4 has opened (every payload kept as written).</summary>
    public const string FormatBeforeEncoding = "segctl-evidence-v1";

    public const string Columns = "idx, time, type, clients, payload, payload_sha256, prev_hash, hash";
}
