namespace SegmentController.Storage;

/// <summary>How the SQLite evidence store is opened.</summary>
public sealed record StoreOptions
{
    /// <summary>The SQLite database file.</summary>
    public required string Path { get; init; }

    /// <summary>The ECDSA P-256 private key (PEM). Default: the database path plus <c>.key.pem</c>, created with a new store.</summary>
    public string? SigningKeyFile { get; init; }

    /// <summary>The key the chain currently uses, when <see cref="SigningKeyFile"/> holds its successor: the rotation is endorsed by it.</summary>
    public string? PreviousSigningKeyFile { get; init; }

    /// <summary>
    /// Accept a signing key the chain does not know without the previous key's endorsement (the old key
    /// was lost). The rotation is recorded and every later verification warns about it.
    /// </summary>
    public bool AllowUnendorsedKey { get; init; }

    /// <summary>How often the chain head is signed into the chain (when something was appended).</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Least time between the starts of two commits of handed-over records (zero: commit what is queued at
    /// once). Under load each commit — one fsync, one head signature — then serves a window's worth of
    /// records; a record that arrives when the last commit is older than the window is committed at once.
    /// Awaited appends and control operations never wait for it: they end the window. A longer window
    /// costs the writer less CPU per record but makes each commit's fsync larger, and a trip's own fsync
    /// waits for the disk behind it (the store's README has the measurements).
    /// </summary>
    public TimeSpan BatchWindow { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// How long the writer waits for more appends when several awaited appends are queued at once (zero:
    /// commit what is there). A lone awaited append never waits.
    /// </summary>
    public TimeSpan AwaitedBatchWindow { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// Handed-over records that end the batch window early: once this many wait, they are committed at
    /// once. Callers that bound what they have not yet seen durable (the proxy: 512 records) are then never
    /// held up by the window itself, whatever the request rate.
    /// </summary>
    public int WindowRecords { get; init; } = 384;

    /// <summary>Most appends committed in one transaction.</summary>
    public int MaxBatch { get; init; } = 8192;

    /// <summary>Largest accepted payload.</summary>
    public int MaxPayloadBytes { get; init; } = 1024 * 1024;

    /// <summary>Appends queued before callers wait.</summary>
    public int QueueCapacity { get; init; } = 65536;

    /// <summary>
    /// Told, one line each, what opening the store did beside its files that whoever opened it should say
    /// (a partial signing key file an interrupted write left, removed).
    /// </summary>
    public Action<string>? Notice { get; init; }

    /// <summary>The signing key file actually used.</summary>
    public string EffectiveSigningKeyFile => SigningKeyFile ?? Path + ".key.pem";
}
