using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SegmentController.Capture.Evidence;
using SegmentController.Capture.Rules;

namespace SegmentController.Capture;

/// <summary>
/// Writes the first frames of each violating flow as a small pcap in the evidence directory, for
/// <c>segctl run</c>. The finding's evidence then names the file and its SHA-256, so the tamper-evident
/// chain vouches for the bytes.
/// </summary>
/// <remarks>
/// Disk use is bounded: the directory holds at most the policy's <c>evidence_max_mib</c> of pcaps
/// (counted at start and as files are written); one file is at most 8 frames of 2 KiB. When the bound
/// is reached no more files are written — the finding says so instead — and nothing is deleted: the
/// chain refers to every file written. Writes are serialized; each file is flushed to disk.
/// </remarks>
internal sealed partial class CaptureEvidenceWriter(ILogger logger)
{
    private const int MaxNameAttempts = 16;

    private readonly Lock _lock = new();
    private string? _directory;
    private long _maxBytes;
    private long _usedBytes;
    private long _sequence;
    private bool _full;
    private string? _unavailable;

    /// <summary>The evidence directory in use (null before <see cref="Configure"/>).</summary>
    public string? Directory
    {
        get
        {
            lock (_lock)
            {
                return _directory;
            }
        }
    }

    /// <summary>Bytes of pcaps in the directory, as counted.</summary>
    public long UsedBytes
    {
        get
        {
            lock (_lock)
            {
                return _usedBytes;
            }
        }
    }

    /// <summary>The evidence directory for a policy: its own setting, else <c>evidence/</c> beside the store.</summary>
    public static string DirectoryFor(Core.Policy.SitePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.Controller.Capture.EvidenceDirectory is { Length: > 0 } configured)
        {
            return Path.GetFullPath(configured);
        }

        var store = Path.GetDirectoryName(Path.GetFullPath(policy.Controller.Store.Path)) ?? Path.GetFullPath(".");
        return Path.Combine(store, "evidence");
    }

    /// <summary>Uses <paramref name="directory"/> (created if missing) with at most <paramref name="maxBytes"/> of pcaps.</summary>
    public void Configure(string directory, long maxBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        lock (_lock)
        {
            var full = Path.GetFullPath(directory);
            if (string.Equals(full, _directory, StringComparison.Ordinal) && maxBytes == _maxBytes && _unavailable is null)
            {
                return;
            }

            _directory = full;
            _maxBytes = maxBytes;
            _full = false;
            try
            {
                System.IO.Directory.CreateDirectory(full);
                _usedBytes = new DirectoryInfo(full).EnumerateFiles("*.pcap").Sum(f => f.Length);
                _unavailable = null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _unavailable = e.Message;
                Log.NotWritten(logger, full, e);
            }
        }
    }

    /// <summary>Writes one violation's frames; the file and its SHA-256, or why there is none.</summary>
    public (string? Path, string? Sha256, string? Note) Write(string interfaceName, Violation violation, IReadOnlyList<EvidenceFrame> frames)
    {
        ArgumentNullException.ThrowIfNull(violation);
        ArgumentNullException.ThrowIfNull(frames);
        using var buffer = new MemoryStream();
        PcapWriter.Write(buffer, frames);
        var bytes = buffer.ToArray();
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
        lock (_lock)
        {
            if (_directory is null || _unavailable is not null)
            {
                return (null, null, $"evidence directory {_directory} is unavailable ({_unavailable ?? "not configured"}): not written");
            }

            if (_usedBytes + bytes.Length > _maxBytes)
            {
                if (!_full)
                {
                    _full = true;
                    Log.Full(logger, _directory, _maxBytes / (1024 * 1024));
                }

                return (null, null, string.Create(CultureInfo.InvariantCulture, $"evidence directory {_directory} holds its limit of {_maxBytes / (1024 * 1024)} MiB: not written"));
            }

            var stamp = new DateTime(violation.FirstTicks, DateTimeKind.Utc).ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
            for (var attempt = 0; attempt < MaxNameAttempts; attempt++)
            {
                var name = string.Create(CultureInfo.InvariantCulture, $"{stamp}-{SafeName(interfaceName)}-{CaptureRuleIds.Of(violation.Rule)}-{++_sequence:D6}.pcap");
                var path = Path.Combine(_directory, name);
                try
                {
                    using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                    {
                        file.Write(bytes);
                        file.Flush(flushToDisk: true);
                    }

                    _usedBytes += bytes.Length;
                    return (path, sha256, null);
                }
                catch (IOException) when (File.Exists(path))
                {
                    // A file of an earlier run has this name: take the next number.
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Log.NotWritten(logger, path, e);
                    return (null, null, $"evidence file {path} could not be written ({e.Message})");
                }
            }

            return (null, null, $"no free evidence file name in {_directory}");
        }
    }

    /// <summary>An interface name as part of a file name: letters, digits, '.', '_' and '-' only.</summary>
    public static string SafeName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var safe = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            safe.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_');
        }

        return safe.Length == 0 ? "_" : safe.ToString();
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.CaptureEvidenceNotWritten, LogLevel.Error, "Capture evidence could not be written to {Path}")]
        public static partial void NotWritten(ILogger logger, string path, Exception exception);

        [LoggerMessage(EventIds.CaptureEvidenceFull, LogLevel.Warning, "Capture evidence directory {Directory} holds its limit of {MaxMiB} MiB: new findings carry no pcap until it is archived")]
        public static partial void Full(ILogger logger, string directory, long maxMiB);
    }
}
