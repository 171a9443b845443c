namespace SegmentController.Core.Policy;

/// <summary>The tamper-evident store.</summary>
public sealed record StoreSettings
{
    /// <summary>The SQLite database file.</summary>
    public string Path { get; init; } = "/var/lib/segctl/segctl.db";

    /// <summary>The ECDSA P-256 private key (PEM) that signs checkpoints.</summary>
    public string? SigningKeyFile { get; init; }

    /// <summary>
    /// The key the chain used until now, when <see cref="SigningKeyFile"/> names a new one: at start the
    /// store records the rotation, endorsed by this key. Ignored once the chain uses the new key.
    /// </summary>
    public string? PreviousSigningKeyFile { get; init; }

    /// <summary>How often the chain head is signed.</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The longest <see cref="CheckpointInterval"/> a policy may give (a timer runs on it).</summary>
    public static TimeSpan MaxCheckpointInterval { get; } = TimeSpan.FromDays(30);
}
