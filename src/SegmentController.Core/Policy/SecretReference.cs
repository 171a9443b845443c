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
                    return System.IO.File.ReadAllText(Name).TrimEnd('\r', '\n');
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new SecretUnavailableException($"secret file {Name} cannot be read: {e.Message}", e);
                }
            default:
                throw new SecretUnavailableException($"unknown secret source {Source}");
        }
    }

    /// <summary>A description safe to print (never the value).</summary>
    public override string ToString() => Source == SecretSource.Environment ? $"env:{Name}" : $"file:{Name}";
}
