using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace SegmentController.Core.Suspension;

/// <summary>
/// The suspension state in one file of two fixed-size slots written in turn. A save writes the slot
/// that does not hold the state in force — header (sequence, length, SHA-256) and JSON — in place and
/// syncs the file's data: the file never changes size, so no directory entry or inode has to reach the
/// disk and a trip's acknowledgement waits for one small data write. A crash mid-write tears only the
/// slot being written; its checksum fails and the other slot, the previous state, is read. A file with
/// no slot that passes its checksum is unreadable (and the engine then suspends everyone).
/// When the state outgrows a slot, a larger file is written beside it, synced and renamed over it, and
/// the directory synced. The single-file format of earlier versions (a JSON line and a <c>sha256:</c>
/// line) is still read, and replaced by the slotted file at the next save.
/// </summary>
public sealed class FileSuspensionStateStore : ISuspensionStateStore, IDisposable
{
    // The state holds a handful of records per client; anything this large is not ours.
    private const long MaxFileBytes = 16 * 1024 * 1024;
    private const int MinSlotBytes = 64 * 1024;
    private const string LegacyChecksumPrefix = "sha256:";
    private const int HeaderBytes = 8 + 4 + 4 + 8 + 4 + 32;
    private const int FormatVersion = 1;
    private static readonly byte[] Magic = "SEGCTLST"u8.ToArray();

    private readonly Lock _writeLock = new();

    // The slot file as last read or written: its slot size and the sequence of the state in force.
    private int _slotBytes;
    private ulong _sequence;

    private readonly string? _ranBefore;
    private readonly bool _inService;

    // One process writes a state file: the writer lock (an exclusive flock on STATE.lock beside it) of each state
    // file this process uses, taken at a store's first load or save and held until the last store of the process on
    // that path is disposed (the controller's host disposes its own when it stops). Shared by the stores of one
    // process on that path: the lock is the process's, one controller per process.
    private static readonly Dictionary<string, (SafeFileHandle Handle, int Holders)> WriterLocks = new(StringComparer.Ordinal);
    private static readonly Lock WriterLocksLock = new();
    private string? _writerLock;
    private const int SharingViolation = 32;

    /// <summary>Uses the file at <paramref name="path"/>; its directory is created when missing.</summary>
    /// <param name="path">The state file.</param>
    /// <param name="ranBefore">
    /// Null when nothing shows that a controller ran here before. Otherwise what shows one did (its evidence
    /// store holds its records): a missing file is then a lost state — deleted, or on a volume not mounted —
    /// and is reported unreadable, so every client starts suspended.
    /// </param>
    /// <param name="inService">
    /// The policy says this site's controller is in service (<c>controller.in_service</c>): its state must
    /// exist, and a missing file is reported unreadable (every client starts suspended) whatever the store
    /// shows — an empty data directory is a lost one. Its state is laid out before the first start
    /// (<see cref="LayOut"/>). Off, and with nothing that shows a controller ran here, a missing file is a
    /// first start: laid out empty.
    /// </param>
    public FileSuspensionStateStore(string path, string? ranBefore = null, bool inService = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        _ranBefore = ranBefore;
        _inService = inService;
    }

    /// <summary>The state file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public SuspensionStateLoad Load()
    {
        lock (_writeLock)
        {
            try
            {
                var info = new FileInfo(Path);
                if (!info.Exists && _ranBefore is not null)
                {
                    // Not laid out: an empty state written now would read as valid at the next start.
                    return new SuspensionStateLoad { Error = $"{Path} does not exist, but {_ranBefore}: the suspension state of the controller that ran before is lost" };
                }

                if (!info.Exists && _inService)
                {
                    // Nothing laid out here either: every start says so until the state is put back or a restore saves one.
                    return new SuspensionStateLoad
                    {
                        Error = $"{Path} does not exist, and the policy says this site's controller is in service (controller.in_service: true): "
                            + "its suspension state is lost (the data volume not mounted, the directory wiped or restored from an older backup). "
                            + "Put the state file back and restart, or lift the suspension with the restore; "
                            + "a new site's state is laid out before its first start with 'segctl state init --policy FILE'",
                    };
                }

                if (!info.Exists)
                {
                    // Laid out now, so that a trip only overwrites a slot in place (one data sync) instead of
                    // creating, syncing and renaming a file on the path that must be fastest. A controller
                    // that cannot lay it out could not make a trip durable either: it says so at start.
                    _sequence = 1;
                    Replace(Serialize(SuspensionState.Empty), _sequence);
                    return new SuspensionStateLoad { State = SuspensionState.Empty };
                }

                // Another controller running on this state writes it with its own sequence numbers: a state read
                // from under it, and anything written over its slots, would be neither's. Fail closed, write nothing.
                if (WriterLockProblem() is { } inUse)
                {
                    return new SuspensionStateLoad { Error = inUse };
                }

                if (info.Length > MaxFileBytes)
                {
                    return new SuspensionStateLoad { Error = $"{Path}: {info.Length} bytes, larger than any suspension state" };
                }

                // Never a pipe or a device waited on: a start that cannot read its state says so (every client
                // suspended) instead of hanging; and never past the cap if the file grew since it was looked at.
                var bytes = Policy.BoundedFile.Read(Path, (int)MaxFileBytes);
                if (bytes is null)
                {
                    return new SuspensionStateLoad { Error = $"{Path}: larger than any suspension state" };
                }

                if (bytes.Length > 0 && bytes[0] == (byte)'{')
                {
                    _slotBytes = 0;
                    return ReadLegacy(bytes);
                }

                var slotBytes = bytes.Length / 2;
                var best = -1;
                ulong bestSequence = 0;
                for (var slot = 0; slot < 2 && slotBytes >= HeaderBytes; slot++)
                {
                    if (TryReadSlot(bytes.AsSpan(slot * slotBytes, slotBytes), slotBytes, out var sequence, out _) && (best < 0 || sequence > bestSequence))
                    {
                        best = slot;
                        bestSequence = sequence;
                    }
                }

                if (best < 0)
                {
                    return new SuspensionStateLoad { Error = $"{Path}: neither slot holds a state that matches its checksum" };
                }

                TryReadSlot(bytes.AsSpan(best * slotBytes, slotBytes), slotBytes, out _, out var payload);
                var loaded = Parse(Encoding.UTF8.GetString(payload));
                if (loaded.State is not null)
                {
                    _slotBytes = slotBytes;
                    _sequence = bestSequence;
                }

                return loaded;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or DecoderFallbackException)
            {
                return new SuspensionStateLoad { Error = $"{Path}: {e.Message}" };
            }
        }
    }

    /// <summary>
    /// Lays out the empty state in a file that does not exist yet: a site's first start, where the policy
    /// says the controller is in service. Run by root, the file takes the owner and group of its directory,
    /// so the service user the data directory belongs to can write it.
    /// </summary>
    /// <exception cref="IOException">The file exists, or cannot be written.</exception>
    public void LayOut()
    {
        lock (_writeLock)
        {
            if (System.IO.Path.Exists(Path))
            {
                throw new IOException($"{Path} already exists");
            }

            try
            {
                Replace(Serialize(SuspensionState.Empty), 1, layingOut: true);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new IOException($"{Path}: {e.Message}", e);
            }

            _sequence = 1;
        }
    }

    /// <inheritdoc />
    public void Save(SuspensionState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var payload = Serialize(state);
        lock (_writeLock)
        {
            var sequence = _sequence + 1;
            try
            {
                if (_slotBytes == 0 || HeaderBytes + payload.Length > _slotBytes || !File.Exists(Path))
                {
                    Replace(payload, sequence);
                }
                else
                {
                    if (WriterLockProblem() is { } inUse)
                    {
                        throw new IOException(inUse);
                    }

                    var slot = new byte[HeaderBytes + payload.Length];
                    WriteSlot(slot, _slotBytes, sequence, payload);
                    using var handle = File.OpenHandle(Path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
                    RandomAccess.Write(handle, slot, (long)(sequence & 1) * _slotBytes);
                    SyncData(handle);
                }
            }
            catch (UnauthorizedAccessException e)
            {
                // Permissions changed under the controller (EACCES, EPERM): as much a failed write as a full disk.
                throw new IOException($"{Path}: {e.Message}", e);
            }

            _sequence = sequence;
        }
    }

    private static byte[] Serialize(SuspensionState state) =>
        JsonSerializer.SerializeToUtf8Bytes(state, SuspensionJsonContext.Default.SuspensionState);

    // A new file sized for the state, slot 0 written, synced, renamed over the old one, directory synced.
    // Laying out, it is never renamed over a file that appeared meanwhile, and takes its directory's owner.
    private void Replace(byte[] payload, ulong sequence, bool layingOut = false)
    {
        var slotBytes = MinSlotBytes;
        while (slotBytes < 2 * (HeaderBytes + payload.Length))
        {
            slotBytes *= 2;
        }

        if (2L * slotBytes > MaxFileBytes)
        {
            throw new IOException($"{Path}: a suspension state of {payload.Length} bytes is larger than any this controller keeps");
        }

        var directory = System.IO.Path.GetDirectoryName(Path)!;
        Directory.CreateDirectory(directory);
        if (!layingOut && WriterLockProblem() is { } inUse)
        {
            throw new IOException(inUse);
        }

        var file = new byte[2 * slotBytes];
        WriteSlot(file.AsSpan((int)(sequence & 1) * slotBytes), slotBytes, sequence, payload);
        var temporary = Path + ".tmp";

        // Whatever is left at the temporary name (a crash's partial copy, or a link someone placed there) is
        // unlinked, never written through: the new file is created exclusively (O_CREAT|O_EXCL, which does not
        // follow a link), so a link there cannot make a save overwrite the file it points at. Something that comes
        // back at that name in between fails this save, which is reported like any other that fails.
        File.Delete(temporary);
        using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.None))
        {
            stream.Write(file);
            stream.Flush(flushToDisk: true);
        }

        try
        {
            if (layingOut)
            {
                OwnLikeDirectory(temporary, directory);
            }

            File.Move(temporary, Path, overwrite: !layingOut);
        }
        catch (Exception) when (layingOut)
        {
            File.Delete(temporary);
            throw;
        }

        DirectorySync.Sync(directory);
        _slotBytes = slotBytes;
    }

    private static void WriteSlot(Span<byte> destination, int slotBytes, ulong sequence, ReadOnlySpan<byte> payload)
    {
        Magic.CopyTo(destination);
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], FormatVersion);
        BinaryPrimitives.WriteInt32LittleEndian(destination[12..], slotBytes);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], sequence);
        BinaryPrimitives.WriteInt32LittleEndian(destination[24..], payload.Length);
        payload.CopyTo(destination[HeaderBytes..]);
        Digest(destination[..28], payload, destination.Slice(28, 32));
    }

    private static bool TryReadSlot(ReadOnlySpan<byte> slot, int slotBytes, out ulong sequence, out ReadOnlySpan<byte> payload)
    {
        sequence = 0;
        payload = default;
        if (!slot.StartsWith(Magic)
            || BinaryPrimitives.ReadInt32LittleEndian(slot[8..]) != FormatVersion
            || BinaryPrimitives.ReadInt32LittleEndian(slot[12..]) != slotBytes)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(slot[24..]);
        if (length < 0 || length > slotBytes - HeaderBytes)
        {
            return false;
        }

        Span<byte> digest = stackalloc byte[32];
        Digest(slot[..28], slot.Slice(HeaderBytes, length), digest);
        if (!CryptographicOperations.FixedTimeEquals(digest, slot.Slice(28, 32)))
        {
            return false;
        }

        sequence = BinaryPrimitives.ReadUInt64LittleEndian(slot[16..]);
        payload = slot.Slice(HeaderBytes, length);
        return true;
    }

    private static void Digest(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(header);
        hash.AppendData(payload);
        hash.GetHashAndReset(destination);
    }

    private SuspensionStateLoad ReadLegacy(byte[] bytes)
    {
        var text = Encoding.UTF8.GetString(bytes);
        var newline = text.IndexOf('\n', StringComparison.Ordinal);
        if (newline < 0)
        {
            return new SuspensionStateLoad { Error = $"{Path}: no checksum line" };
        }

        var json = text[..newline];
        var checksumLine = text[(newline + 1)..].TrimEnd('\n', '\r');
        if (!checksumLine.StartsWith(LegacyChecksumPrefix, StringComparison.Ordinal)
            || !string.Equals(checksumLine[LegacyChecksumPrefix.Length..], Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json))), StringComparison.Ordinal))
        {
            return new SuspensionStateLoad { Error = $"{Path}: checksum does not match the content" };
        }

        return Parse(json);
    }

    private SuspensionStateLoad Parse(string json)
    {
        try
        {
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
                // A bring-up owed is only ever of ports named in full, to a client not suspended (a state written
                // before bring-ups were owed has none); anything else is dropped and its ports stay as they are.
                OwedBringUps = new Dictionary<string, OwedBringUp>(
                    (state.OwedBringUps ?? new Dictionary<string, OwedBringUp>()).Where(o =>
                        o.Value is { Restore.Suspension.Id: not null, Ports: not null }
                        && o.Value.Ports.All(p => p is { Switch: not null, Agent: not null, Ports: not null } && p.Ports.All(port => port is not null))
                        && !state.IsSuspended(o.Key)),
                    StringComparer.Ordinal),
            };
            foreach (var (scope, record) in state.Suspensions)
            {
                if (record is null || !string.Equals(scope, record.Scope, StringComparison.Ordinal))
                {
                    return new SuspensionStateLoad { Error = $"{Path}: suspension under '{scope}' does not name that scope" };
                }

                // The checksum says the bytes are as written, not that a controller wrote them so: a record with a
                // field no controller leaves null is no state to start from (the start fails closed, not later on it).
                if (!IsWhole(record))
                {
                    return new SuspensionStateLoad { Error = $"{Path}: suspension under '{scope}' is not whole (a field is missing or null)" };
                }
            }

            return new SuspensionStateLoad { State = state };
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException)
        {
            return new SuspensionStateLoad { Error = $"{Path}: {e.Message}" };
        }
    }

    /// <summary>
    /// Takes (or has) this process's writer lock on the state file; null when held, otherwise why not (another
    /// process holds it: a second controller on the same state). Where the directory does not exist yet, nothing
    /// is taken (the save that creates it takes it).
    /// </summary>
    private string? WriterLockProblem()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        var lockPath = Path + ".lock";
        lock (WriterLocksLock)
        {
            if (_writerLock is not null || !Directory.Exists(System.IO.Path.GetDirectoryName(Path)))
            {
                return null;
            }

            if (WriterLocks.TryGetValue(lockPath, out var held))
            {
                WriterLocks[lockPath] = (held.Handle, held.Holders + 1);
                _writerLock = lockPath;
                return null;
            }

            SafeFileHandle handle;
            try
            {
                // Read-only: a lock file root made (a start as root, 0644) still opens for the service user.
                handle = File.OpenHandle(lockPath, FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite);
            }
            catch (IOException e) when (e.HResult == NativeMethods.EWouldBlock || (e.HResult & 0xFFFF) == SharingViolation)
            {
                // The runtime's own flock at open (shared, for this share mode) met another process's exclusive one (EWOULDBLOCK
                // as the HResult on Linux).
                return InUse(lockPath);
            }
            catch (IOException e)
            {
                return $"{Path}: cannot take the state's writer lock {lockPath}: {e.Message}";
            }
            catch (UnauthorizedAccessException e)
            {
                return $"{Path}: cannot open the state's writer lock {lockPath}: {e.Message}";
            }

            if (NativeMethods.Flock((int)handle.DangerousGetHandle(), NativeMethods.LockEx | NativeMethods.LockNb) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                handle.Dispose();
                return errno == NativeMethods.EWouldBlock ? InUse(lockPath) : $"{Path}: cannot take the state's writer lock {lockPath} (errno {errno})";
            }

            WriterLocks[lockPath] = (handle, 1);
            _writerLock = lockPath;
            return null;
        }
    }

    /// <summary>Lets go of the writer lock, once no other store of this process on the same file holds it.</summary>
    public void Dispose()
    {
        lock (WriterLocksLock)
        {
            if (_writerLock is not { } lockPath || !WriterLocks.TryGetValue(lockPath, out var held))
            {
                return;
            }

            _writerLock = null;
            if (held.Holders > 1)
            {
                WriterLocks[lockPath] = (held.Handle, held.Holders - 1);
                return;
            }

            WriterLocks.Remove(lockPath);
            held.Handle.Dispose();
        }
    }

    private string InUse(string lockPath) =>
        $"{Path} is in use by another controller (it holds {lockPath}): one controller runs on a suspension state; this one writes nothing to it";

    private static bool IsWhole(SuspensionRecord record) =>
        !string.IsNullOrEmpty(record.Id)
        && record.Actor is not null
        && record.Reason is not null
        && record.Stages is not null && record.Stages.All(s => s is not null)
        && record.Ports is null or { Failures: not null }
        && record.Reassertions is not null
        && record.Reassertions.All(r => r is { Clients: not null, Ports: not null, Failures: not null })
        && record.Releases is not null
        && record.Releases.All(r => r is { From: not null, BroughtUp: not null, LeftShut: not null, Failures: not null });

    // Root lays the state out for a service that runs as the data directory's owner (systemd's
    // StateDirectory=): a file left root's would read at start and fail the first trip's write.
    private static void OwnLikeDirectory(string file, string directory)
    {
        if (!OperatingSystem.IsLinux() || NativeMethods.GetEuid() != 0)
        {
            return;
        }

        var buffer = new byte[NativeMethods.StatxBytes];
        if (NativeMethods.Statx(NativeMethods.AtFdCwd, directory, 0, NativeMethods.StatxUid | NativeMethods.StatxGid, buffer) != 0)
        {
            throw new IOException($"cannot read the owner of directory {directory} (errno {Marshal.GetLastPInvokeError()})");
        }

        var owner = BitConverter.ToUInt32(buffer, NativeMethods.StatxUidOffset);
        var group = BitConverter.ToUInt32(buffer, NativeMethods.StatxGidOffset);
        if ((owner != 0 || group != 0) && NativeMethods.Chown(file, owner, group) != 0)
        {
            throw new IOException($"cannot give {file} the owner of {directory} ({owner}:{group}) (errno {Marshal.GetLastPInvokeError()})");
        }
    }

    // The slot's bytes are all that changed; on Linux fdatasync skips the inode's times.
    private static void SyncData(SafeFileHandle handle)
    {
        if (!OperatingSystem.IsLinux())
        {
            using var stream = new FileStream(handle, FileAccess.ReadWrite);
            stream.Flush(flushToDisk: true);
            return;
        }

        if (NativeMethods.Fdatasync((int)handle.DangerousGetHandle()) != 0)
        {
            throw new IOException($"cannot sync the suspension state (errno {Marshal.GetLastPInvokeError()})");
        }
    }
}
