using SegmentController.Core.Policy;

namespace SegmentController.Core;

/// <summary>
/// The new file a whole-or-nothing writer fills beside its target, <c>.NAME.GUID.partial</c> (the GUID as 32
/// lower-case hex digits), synced and then renamed into place. A crash between its creation and the rename
/// leaves it behind, and nothing else ever removes it: for a signing key, a second copy of the private key.
/// </summary>
public static class PartialFiles
{
    private const string Suffix = ".partial";
    private const int GuidDigits = 32;

    /// <summary>A new, unused name for the file that becomes <paramref name="target"/> (a full path).</summary>
    public static string NewNameFor(string target)
    {
        ArgumentException.ThrowIfNullOrEmpty(target);
        var directory = Path.GetDirectoryName(target) ?? "/";
        return Path.Combine(directory, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}{Suffix}");
    }

    /// <summary>
    /// Removes the partial files of <paramref name="target"/> a writer left beside it: the regular files named
    /// exactly as <see cref="NewNameFor"/> names them for that target, and nothing else. An entry of such a name
    /// that is not a regular file (a symbolic link, a directory, a pipe) is no file the writer made: it is left
    /// as it is, never followed. Returns one line for each such entry, saying what was done with it and why;
    /// none when there was nothing. A file a write still has open (another process's, now) is no leftover: it is
    /// left, and not mentioned.
    /// </summary>
    /// <param name="target">The file the writer makes.</param>
    /// <param name="what">What the file holds, as the lines name it (<c>signing key</c>).</param>
    public static IReadOnlyList<string> RemoveLeftovers(string target, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(target);
        ArgumentException.ThrowIfNullOrEmpty(what);
        var full = Path.GetFullPath(target);
        var name = Path.GetFileName(full);
        var directory = Path.GetDirectoryName(full);
        if (name.Length == 0 || directory is null)
        {
            return [];
        }

        List<string> leftovers;
        try
        {
            // Every entry, hidden ones too (the names start with a dot); the name is compared whole, never as a pattern.
            var options = new EnumerationOptions { AttributesToSkip = 0, RecurseSubdirectories = false, IgnoreInaccessible = false };
            leftovers = Directory.EnumerateFileSystemEntries(directory, "*", options)
                .Where(entry => IsPartialOf(Path.GetFileName(entry.AsSpan()), name))
                .Order(StringComparer.Ordinal)
                .ToList();
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [$"partial {what} files left beside {full} by an interrupted write could not be looked for: {e.Message}"];
        }

        var lines = new List<string>(leftovers.Count);
        foreach (var leftover in leftovers)
        {
            if (BoundedFile.EntryNotRegularReason(leftover, out var exists) is { } reason)
            {
                lines.Add($"{leftover} is named as a partial {what} file an interrupted write leaves, but {reason}: left as it is");
                continue;
            }

            if (!exists || WriteUnderWay(leftover))
            {
                continue;
            }

            try
            {
                // unlink(2): a link put there since it was looked at is removed itself, never what it names.
                File.Delete(leftover);
                lines.Add($"removed {leftover}, a partial {what} file an interrupted write left behind");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                lines.Add($"{leftover}, a partial {what} file an interrupted write left behind, could not be removed: {e.Message}");
            }
        }

        return lines;
    }

    /// <summary>
    /// Whether a writer has <paramref name="path"/> open now: it writes with <see cref="FileShare.None"/>, which the
    /// runtime takes as an exclusive flock(2) until it closes the file, just before the rename. Opened without
    /// following a link and without waiting (O_NOFOLLOW, O_NONBLOCK); one that cannot be opened is not in use.
    /// </summary>
    private static bool WriteUnderWay(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        var fd = Suspension.NativeMethods.Open(path, Suspension.NativeMethods.ORdOnly | Suspension.NativeMethods.ONoFollow | Suspension.NativeMethods.ONonBlock | Suspension.NativeMethods.OCloExec);
        if (fd < 0)
        {
            return false;
        }

        try
        {
            return Suspension.NativeMethods.Flock(fd, Suspension.NativeMethods.LockEx | Suspension.NativeMethods.LockNb) != 0
                && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Suspension.NativeMethods.EWouldBlock;
        }
        finally
        {
            // Closing the only descriptor that holds the lock releases it.
            _ = Suspension.NativeMethods.Close(fd);
        }
    }

    /// <summary>Whether <paramref name="entry"/> is <c>.NAME.GUID.partial</c> for <paramref name="name"/>.</summary>
    private static bool IsPartialOf(ReadOnlySpan<char> entry, string name)
    {
        if (entry.Length != 1 + name.Length + 1 + GuidDigits + Suffix.Length
            || entry[0] != '.'
            || !entry.Slice(1, name.Length).SequenceEqual(name)
            || entry[1 + name.Length] != '.'
            || !entry.EndsWith(Suffix, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in entry.Slice(2 + name.Length, GuidDigits))
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return true;
    }
}
