using System.Security.Cryptography;
using System.Text;
using SegmentController.Core.Policy;

namespace SegmentController.Api;

/// <summary>
/// The API keys file, re-read at once when its size or modification time changes and its content
/// compared by SHA-256 at most every <see cref="ContentRecheckInterval"/> otherwise, so keys rotate
/// and are revoked without a restart whatever the rewrite kept. One credential per line: <c>NAME ROLE[,ROLE…] sha256:HEX</c> (SHA-256 of the key) or
/// <c>NAME ROLE[,ROLE…] cert-sha256:HEX</c> (SHA-256 fingerprint of a client certificate); <c>#</c>
/// starts a comment. Lines that do not parse are reported and ignored; the others are in force — a typo
/// never keeps a revoked key alive.
/// </summary>
/// <remarks>Concurrency: the parsed snapshot is immutable and swapped under a lock on reload or recheck.</remarks>
internal sealed partial class ApiKeyFile
{
    /// <summary>
    /// How long the content is trusted without being read again when size and modification time say it
    /// did not change. A rewrite that keeps both (same length, mtime set back, a coarse file system clock)
    /// takes effect within this interval; one that changes either takes effect at once.
    /// </summary>
    public static readonly TimeSpan ContentRecheckInterval = TimeSpan.FromSeconds(2);

    // A keys file holds a few dozen lines; anything bigger is not one.
    private const long MaxFileBytes = 1024 * 1024;

    private const long NeverReadLength = -1;
    private const long MissingLength = -2;
    private const long UnreadableLength = -3;

    private readonly string? _path;
    private readonly ILogger? _logger;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private Snapshot _snapshot = new(DateTime.MinValue, NeverReadLength, null, DateTimeOffset.MinValue, [], []);

    /// <summary>Reads keys from <paramref name="path"/>; null means no key file and so nobody authenticates.</summary>
    public ApiKeyFile(string? path, ILogger? logger = null, TimeProvider? time = null)
    {
        _path = path is null ? null : Path.GetFullPath(path);
        _logger = logger;
        _time = time ?? TimeProvider.System;
        if (_path is null && logger is not null)
        {
            Log.Problem(logger, "controller.management.api_keys_file is not set: every operator API call is refused");
        }
    }

    /// <summary>Problems found in the file at its last read, as <c>file:line: message</c>.</summary>
    public IReadOnlyList<string> Errors => Current().Errors;

    /// <summary>The credentials in force now.</summary>
    public IReadOnlyList<ApiCredential> Credentials => Current().Credentials;

    /// <summary>The credential whose key hashes to the presented one, compared in constant time.</summary>
    public ApiCredential? FindByKey(string presentedKey)
    {
        ArgumentNullException.ThrowIfNull(presentedKey);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presentedKey));
        return Find(hash, certificate: false);
    }

    /// <summary>The credential pinned to this client certificate's SHA-256 fingerprint.</summary>
    public ApiCredential? FindByCertificate(ReadOnlySpan<byte> certificateDer) =>
        Find(SHA256.HashData(certificateDer), certificate: true);

    /// <summary>Parses the file's text; exposed for tests of the format.</summary>
    public static (IReadOnlyList<ApiCredential> Credentials, IReadOnlyList<string> Errors) Parse(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        var credentials = new List<ApiCredential>();
        var errors = new List<string>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var hashIndex = raw.IndexOf('#', StringComparison.Ordinal);
            var line = (hashIndex >= 0 ? raw[..hashIndex] : raw).Trim();
            if (line.Length == 0)
            {
                continue;
            }

            var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length != 3)
            {
                errors.Add($"{source}:{lineNumber}: expected 'NAME ROLE[,ROLE] sha256:HEX' (3 fields), found {fields.Length}");
                continue;
            }

            var (name, roleList, credential) = (fields[0], fields[1], fields[2]);
            if (!IsValidName(name))
            {
                errors.Add($"{source}:{lineNumber}: name must be 1-64 characters of letters, digits, '.', '_', '-', '@'");
                continue;
            }

            var roles = roleList.Split(',', StringSplitOptions.RemoveEmptyEntries);
            var unknown = roles.FirstOrDefault(r => !ApiRoles.All.Contains(r));
            if (roles.Length == 0 || unknown is not null)
            {
                errors.Add($"{source}:{lineNumber}: unknown role '{unknown}'; roles are {string.Join(", ", ApiRoles.All.Order(StringComparer.Ordinal))}");
                continue;
            }

            bool isCertificate;
            string hex;
            if (credential.StartsWith("sha256:", StringComparison.Ordinal))
            {
                (isCertificate, hex) = (false, credential["sha256:".Length..]);
            }
            else if (credential.StartsWith("cert-sha256:", StringComparison.Ordinal))
            {
                (isCertificate, hex) = (true, credential["cert-sha256:".Length..].Replace(":", "", StringComparison.Ordinal));
            }
            else
            {
                errors.Add($"{source}:{lineNumber}: credential must be sha256:HEX or cert-sha256:HEX (never a key in clear)");
                continue;
            }

            if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
            {
                errors.Add($"{source}:{lineNumber}: expected 64 hex digits of SHA-256");
                continue;
            }

            // A person may hold a key and a client certificate, one line each, under one name: approvals
            // count names, so two credentials never make two approvers.
            if (!names.Add((isCertificate ? "cert:" : "key:") + name))
            {
                errors.Add($"{source}:{lineNumber}: '{name}' has a {(isCertificate ? "certificate" : "key")} line already; one line per operator and credential kind");
                continue;
            }

            credentials.Add(new ApiCredential(name, new HashSet<string>(roles, StringComparer.Ordinal), isCertificate, Convert.FromHexString(hex)));
        }

        return (credentials, errors);
    }

    private ApiCredential? Find(byte[] hash, bool certificate)
    {
        // Every entry is compared (no early exit) so timing does not tell which hash prefix matched.
        ApiCredential? found = null;
        foreach (var entry in Current().Credentials)
        {
            if (CryptographicOperations.FixedTimeEquals(entry.Sha256, hash) && entry.IsCertificate == certificate)
            {
                found = entry;
            }
        }

        return found;
    }

    private Snapshot Current()
    {
        if (_path is null)
        {
            return _snapshot;
        }

        var (modified, length) = Stat(_path);
        var now = _time.GetUtcNow();
        var current = Volatile.Read(ref _snapshot);
        if (IsFresh(current, modified, length, now))
        {
            return current;
        }

        lock (_lock)
        {
            current = _snapshot;
            if (IsFresh(current, modified, length, now))
            {
                return current;
            }

            byte[]? content = null;
            string? problem = null;
            try
            {
                if (length > MaxFileBytes)
                {
                    problem = $"{_path}: {length} bytes, larger than any keys file";
                }
                else if (length >= 0)
                {
                    // Read as every file the policy names: a regular file, never a pipe or a device waited on
                    // (the check runs on a request's path), and no further than the cap if it grew meanwhile.
                    content = BoundedFile.Read(_path, (int)MaxFileBytes);
                    if (content is null)
                    {
                        problem = $"{_path}: larger than any keys file";
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Unreadable: nobody authenticates until it is readable again (deny by default).
                problem = $"{_path}: {e.Message}";
            }

            var hash = content is null ? null : SHA256.HashData(content);
            if (hash is not null && current.ContentSha256 is not null && CryptographicOperations.FixedTimeEquals(hash, current.ContentSha256))
            {
                // The same keys (a touch, or a copy of the same file): nothing to parse or report again.
                var same = current with { Modified = modified, Length = length, ContentCheckedAt = now };
                Volatile.Write(ref _snapshot, same);
                return same;
            }

            Snapshot next;
            if (content is not null)
            {
                var (credentials, errors) = Parse(Encoding.UTF8.GetString(content), _path);
                next = new Snapshot(modified, length, hash, now, credentials, errors);
            }
            else
            {
                next = new Snapshot(modified, length, null, now, [], problem is null ? [] : [problem]);
            }

            Volatile.Write(ref _snapshot, next);
            if (_logger is not null && (next.ContentSha256 is not null || !SameErrors(current, next)))
            {
                foreach (var error in next.Errors)
                {
                    Log.Problem(_logger, error);
                }

                if (length == MissingLength && current.Length != MissingLength)
                {
                    Log.Problem(_logger, $"{_path}: no such file; every operator API call is refused until it exists");
                }
            }

            return next;
        }
    }

    private static (DateTime Modified, long Length) Stat(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, MissingLength);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (DateTime.MinValue, UnreadableLength);
        }
    }

    /// <summary>Same size and time, and compared recently (a clock set back counts as not recently).</summary>
    private static bool IsFresh(Snapshot snapshot, DateTime modified, long length, DateTimeOffset now)
    {
        var age = now - snapshot.ContentCheckedAt;
        return snapshot.Modified == modified && snapshot.Length == length && age >= TimeSpan.Zero && age < ContentRecheckInterval;
    }

    private static bool SameErrors(Snapshot a, Snapshot b) => a.Errors.SequenceEqual(b.Errors, StringComparer.Ordinal);

    private static bool IsValidName(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '@');

    private static partial class Log
    {
        [LoggerMessage(ApiEventIds.KeysFileProblem, LogLevel.Error, "API keys file: {Problem}")]
        public static partial void Problem(ILogger logger, string problem);
    }

    /// <summary>What was read: the file's modification time and length, its content's SHA-256 (null when unreadable or absent) and when it was last compared.</summary>
    private sealed record Snapshot(DateTime Modified, long Length, byte[]? ContentSha256, DateTimeOffset ContentCheckedAt, IReadOnlyList<ApiCredential> Credentials, IReadOnlyList<string> Errors);
}
