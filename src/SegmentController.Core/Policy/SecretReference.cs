using System.Text;

namespace SegmentController.Core.Policy;

/// <summary>
/// Where a secret lives — an environment variable or a file — never the secret itself.
/// </summary>
public sealed record SecretReference
{
    /// <summary>The kind of store.</summary>
    public required SecretSource Source { get; init; }

    /// <summary>The variable name or the file path.</summary>
    public required string Name { get; init; }

    /// <summary>Reads the secret. Trailing newlines of files are dropped.</summary>
    /// <exception cref="SecretUnavailableException">The variable is unset or the file unreadable.</exception>
    public string Resolve()
    {
        switch (Source)
        {
            case SecretSource.Environment:
                var value = System.Environment.GetEnvironmentVariable(Name);
                return string.IsNullOrEmpty(value)
                    ? throw new SecretUnavailableException($"environment variable {Name} is not set")
                    : value;
            case SecretSource.File:
                try
                {
                    return ReadBounded(Name).TrimEnd('\r', '\n');
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new SecretUnavailableException($"secret file {Name} cannot be read: {e.Message}", e);
                }
            default:
                throw new SecretUnavailableException($"unknown secret source {Source}");
        }
    }

    /// <summary>
    /// The largest secret file read. A secret is a passphrase or a key of a few hundred bytes; the cap keeps a path
    /// that names something else (a device such as <c>/dev/zero</c>, a log) from being read without end.
    /// </summary>
    public const int MaxFileBytes = 64 * 1024;

    /// <summary>The file's text, at most <see cref="MaxFileBytes"/>.</summary>
    private static string ReadBounded(string path)
    {
        var bytes = BoundedFile.Read(path, MaxFileBytes) ?? throw new IOException($"it is larger than {MaxFileBytes / 1024} KiB");

        // As File.ReadAllText: UTF-8 unless a byte order mark says otherwise.
        using var reader = new StreamReader(new MemoryStream(bytes), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }

    /// <summary>A description safe to print (never the value).</summary>
    public override string ToString() => Source == SecretSource.Environment ? $"env:{Name}" : $"file:{Name}";
}
