using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace SegmentController.Core.Suspension;

/// <summary>
/// The suspension state as one small file: a JSON line and a <c>sha256:</c> line over it. Written to a
/// temporary file, fsynced, renamed over the old one, and the directory fsynced — so a crash leaves
/// either the old or the new state, never a torn one; a file that fails its checksum is unreadable
/// (and the engine then suspends everyone).
/// </summary>
public sealed class FileSuspensionStateStore : ISuspensionStateStore
{
    // The state holds a handful of records; anything this large is not ours.
    private const long MaxFileBytes = 4 * 1024 * 1024;
    private const string ChecksumPrefix = "sha256:";

    private readonly Lock _writeLock = new();

    /// <summary>Uses the file at <paramref name="path"/>; its directory is created when missing.</summary>
    public FileSuspensionStateStore(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
    }

    /// <summary>The state file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public SuspensionStateLoad Load()
    {
        try
        {
            var info = new FileInfo(Path);
            if (!info.Exists)
            {
                return new SuspensionStateLoad { State = SuspensionState.Empty };
            }

            if (info.Length > MaxFileBytes)
            {
                return new SuspensionStateLoad { Error = $"{Path}: {info.Length} bytes, larger than any suspension state" };
            }

            var text = File.ReadAllText(Path, Encoding.UTF8);
            var newline = text.IndexOf('\n', StringComparison.Ordinal);
            if (newline < 0)
            {
                return new SuspensionStateLoad { Error = $"{Path}: no checksum line" };
            }

            var json = text[..newline];
            var checksumLine = text[(newline + 1)..].TrimEnd('\n', '\r');
            if (!checksumLine.StartsWith(ChecksumPrefix, StringComparison.Ordinal)
                || !string.Equals(checksumLine[ChecksumPrefix.Length..], Checksum(json), StringComparison.Ordinal))
            {
                return new SuspensionStateLoad { Error = $"{Path}: checksum does not match the content" };
            }

            var state = JsonSerializer.Deserialize(json, SuspensionJsonContext.Default.SuspensionState);
            if (state is null)
            {
                return new SuspensionStateLoad { Error = $"{Path}: empty state" };
            }

            // Dictionaries read back with the default comparer; ids are ordinal everywhere else.
            state = state with
            {
                Suspensions = new Dictionary<string, SuspensionRecord>(state.Suspensions, StringComparer.Ordinal),
                LastPassingAudit = new Dictionary<string, DateTimeOffset>(state.LastPassingAudit, StringComparer.Ordinal),
                LastLifted = new Dictionary<string, DateTimeOffset>(state.LastLifted ?? new Dictionary<string, DateTimeOffset>(), StringComparer.Ordinal),
                // A pending restore is only good for the suspension it names; anything else is dropped, never guessed at.
                PendingRestores = new Dictionary<string, PendingRestore>(
                    (state.PendingRestores ?? new Dictionary<string, PendingRestore>()).Where(p =>
                        p.Value is { Approvers: not null, RequestedBy: not null, Reason: not null }
                        && state.Suspensions.TryGetValue(p.Key, out var suspension) && suspension is not null
                        && string.Equals(suspension.Id, p.Value.SuspensionId, StringComparison.Ordinal)),
                    StringComparer.Ordinal),
            };
            foreach (var (scope, record) in state.Suspensions)
            {
                if (record is null || !string.Equals(scope, record.Scope, StringComparison.Ordinal))
                {
                    return new SuspensionStateLoad { Error = $"{Path}: suspension under '{scope}' does not name that scope" };
                }
            }

            return new SuspensionStateLoad { State = state };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or NotSupportedException or ArgumentException or DecoderFallbackException)
        {
            return new SuspensionStateLoad { Error = $"{Path}: {e.Message}" };
        }
    }

    /// <inheritdoc />
    public void Save(SuspensionState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var json = JsonSerializer.Serialize(state, SuspensionJsonContext.Default.SuspensionState);
        var content = Encoding.UTF8.GetBytes(json + "\n" + ChecksumPrefix + Checksum(json) + "\n");
        var directory = System.IO.Path.GetDirectoryName(Path)!;
        lock (_writeLock)
        {
            Directory.CreateDirectory(directory);
            var temporary = Path + ".tmp";
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.None))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, Path, overwrite: true);
            SyncDirectory(directory);
        }
    }

    private static string Checksum(string json) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)));

    // The rename is only durable once the directory entry is; .NET cannot open a directory, so libc does.
    private static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return;
        }

        var fd = NativeMethods.Open(directory, NativeMethods.ORdOnly | NativeMethods.ODirectory);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory {directory} to sync it (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            if (NativeMethods.Fsync(fd) != 0)
            {
                throw new IOException($"cannot sync directory {directory} (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = NativeMethods.Close(fd);
        }
    }
}
