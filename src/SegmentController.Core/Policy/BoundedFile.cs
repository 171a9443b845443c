namespace SegmentController.Core.Policy;

/// <summary>
/// Reads the small files a policy names (the policy itself, certificates, keys, CA bundles, secrets) with a cap:
/// a path that names something else (a device such as <c>/dev/zero</c>, a growing log) is never read whole.
/// </summary>
internal static class BoundedFile
{
    /// <summary>The file's bytes, or null when it holds more than <paramref name="maxBytes"/> (read one byte past the cap, no further).</summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">Permission denied, or the path is a directory.</exception>
    public static byte[]? Read(string path, int maxBytes)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var buffer = new byte[maxBytes + 1];
        var total = 0;
        int read;
        while (total < buffer.Length && (read = stream.Read(buffer, total, buffer.Length - total)) > 0)
        {
            total += read;
        }

        return total > maxBytes ? null : buffer.AsSpan(0, total).ToArray();
    }
}
