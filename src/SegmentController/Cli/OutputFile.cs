using System.Runtime.InteropServices;
using SegmentController.Core.Policy;

namespace SegmentController.Cli;

/// <summary>
/// A file a command writes (<c>--out FILE</c>): whole or not at all. The output goes into a new file beside it,
/// is synced, and is then renamed into its place, so a failed or interrupted write leaves no partial file and a
/// file of that name as it was. Only a regular file is ever replaced: the rename swaps a directory entry, and a
/// device (<c>/dev/null</c>), named pipe or socket given as the file would be replaced by a regular file of
/// that name, which for someone running as root breaks the system. A symbolic link to a file keeps the link:
/// the file it names is replaced.
/// </summary>
internal static class OutputFile
{
    /// <summary>The name that means standard output, as for most tools.</summary>
    public const string StandardOutput = "-";

    /// <summary>
    /// The path to put the output in place of for <paramref name="file"/> (the file a link names, or the path
    /// itself), or null with <paramref name="problem"/> saying why nothing can be written there.
    /// </summary>
    public static string? Target(string file, out string? problem)
    {
        ArgumentException.ThrowIfNullOrEmpty(file);
        var full = Path.GetFullPath(file);
        if (BoundedFile.NotRegularReason(full) is { } reason)
        {
            problem = $"{reason} (for standard output leave out --out, or give -)";
            return null;
        }

        var info = new FileInfo(full);
        if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is { } final)
        {
            full = final.FullName;
        }

        var directory = Path.GetDirectoryName(full) ?? "/";
        if (!Directory.Exists(directory))
        {
            problem = File.Exists(directory) ? $"{directory} is not a directory" : $"directory {directory} does not exist";
            return null;
        }

        problem = null;
        return full;
    }

    /// <summary>
    /// Writes <paramref name="target"/> (from <see cref="Target"/>) whole or not at all. Ctrl-C (SIGINT) or SIGTERM
    /// while it is written cancels the write: the partial file is removed and nothing is put in place; a second
    /// one ends the process at once, the partial file removed first.
    /// </summary>
    /// <param name="target">The file.</param>
    /// <param name="write">Writes the output.</param>
    /// <param name="notice">
    /// Told, one line each, of the partial files of <paramref name="target"/> an earlier write that was killed or
    /// crashed left beside it, removed first (a link or directory of such a name is named and left).
    /// </param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="OutputFileException">The file cannot be made, written, synced or put in place, or the write was interrupted.</exception>
    public static T WriteWhole<T>(string target, Func<Stream, CancellationToken, T> write, Action<string>? notice, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        foreach (var line in Core.PartialFiles.RemoveLeftovers(target, "output"))
        {
            notice?.Invoke(line);
        }

        var directory = Path.GetDirectoryName(target) ?? "/";
        var partial = Core.PartialFiles.NewNameFor(target);
        FileStream stream;
        try
        {
            // A new file is its owner's alone: an export holds a client's evidence. A file it replaces keeps its mode.
            stream = Core.OwnerOnlyFile.CreateNew(partial, FileAccess.Write, 64 * 1024);
        }
        catch (UnauthorizedAccessException)
        {
            throw new OutputFileException($"permission denied: no file can be made in {directory}");
        }
        catch (IOException e)
        {
            throw new OutputFileException(e);
        }

        using var interrupted = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        void Interrupt(PosixSignalContext context)
        {
            if (interrupted.IsCancellationRequested)
            {
                // The second signal: the process ends now, without the rest of the write unwinding.
                File.Delete(partial);
                return;
            }

            context.Cancel = true;
            interrupted.Cancel();
        }

        using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
        using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);
        try
        {
            T result;
            using (var output = new OutputFileStream(stream))
            {
                result = write(output, interrupted.Token);
                output.Sync();
            }

            interrupted.Token.ThrowIfCancellationRequested();
            try
            {
                // The replacement keeps the permissions an earlier file of that name was given.
                if (!OperatingSystem.IsWindows() && File.Exists(target))
                {
                    File.SetUnixFileMode(partial, File.GetUnixFileMode(target));
                }

                File.Move(partial, target, overwrite: true);
            }
            catch (UnauthorizedAccessException)
            {
                throw new OutputFileException($"permission denied: {target} cannot be replaced");
            }
            catch (IOException e)
            {
                throw new OutputFileException(e);
            }

            return result;
        }
        catch (OperationCanceledException) when (interrupted.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new OutputFileException("interrupted");
        }
        finally
        {
            File.Delete(partial);
        }
    }

    /// <summary>The partial file's stream: a write or sync that fails is the output file's failure, said as such.</summary>
    private sealed class OutputFileStream(FileStream inner) : WriteOnlyStream
    {
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            try
            {
                inner.Write(buffer);
            }
            catch (IOException e)
            {
                throw new OutputFileException(e);
            }
        }

        public override void Flush() => Guard(inner.Flush);

        public void Sync() => Guard(() => inner.Flush(flushToDisk: true));

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                try
                {
                    inner.Dispose();
                }
                catch (IOException)
                {
                    // Only after a failure already reported: a completed write was synced before.
                }
            }

            base.Dispose(disposing);
        }

        private static void Guard(Action action)
        {
            try
            {
                action();
            }
            catch (IOException e) when (e is not OutputFileException)
            {
                throw new OutputFileException(e);
            }
        }
    }
}
