namespace SegmentController.Core.Policy;

/// <summary>
/// The policy in force, read from a file. A reload that fails leaves the last good policy in force
/// and returns every error; readers see either the old or the new policy, never a mix, because a
/// <see cref="SitePolicy"/> is immutable and swapped in with one reference write.
/// </summary>
public sealed class PolicyProvider : IReloadablePolicyProvider
{
    private readonly Lock _reloadLock = new();
    private volatile SitePolicy _current;

    /// <summary>Wraps a policy already loaded from <paramref name="path"/>.</summary>
    public PolicyProvider(string path, SitePolicy initial)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(initial);
        Path = path;
        _current = initial;
    }

    /// <summary>The policy file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public SitePolicy Current => _current;

    /// <inheritdoc />
    public event EventHandler<SitePolicy>? PolicyChanged;

    /// <summary>Loads <paramref name="path"/>; the errors when it does not validate.</summary>
    public static PolicyProvider? TryOpen(string path, out IReadOnlyList<PolicyError> errors)
    {
        var result = PolicyLoader.LoadFile(path);
        errors = result.Errors;
        return result.Policy is null ? null : new PolicyProvider(path, result.Policy);
    }

    /// <summary>
    /// Reads the file again. Returns no errors when the new policy is in force (or unchanged); otherwise
    /// every error as <c>file:line:col: message</c>, and the policy in force stays.
    /// </summary>
    public IReadOnlyList<string> Reload() => ReloadDetailed().Select(e => e.ToString()).ToArray();

    /// <summary>As <see cref="Reload"/>, with structured errors.</summary>
    public IReadOnlyList<PolicyError> ReloadDetailed()
    {
        SitePolicy? applied = null;
        PolicyLoadResult result;
        lock (_reloadLock)
        {
            result = PolicyLoader.LoadFile(Path);
            if (result.Policy is { } policy && policy.Sha256 != _current.Sha256)
            {
                _current = policy;
                applied = policy;
            }
        }

        // Raised outside the lock: a handler that reloads again must not deadlock.
        if (applied is not null)
        {
            PolicyChanged?.Invoke(this, applied);
        }

        return result.Errors;
    }
}
