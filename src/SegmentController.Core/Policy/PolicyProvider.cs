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
    private volatile Func<SitePolicy, IEnumerable<string>>[] _admissions = [];

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

    /// <summary>
    /// Adds a check a reloaded policy must pass against the running controller's state, beyond the file's
    /// own validation (the kill switch: no suspended client may leave the policy). It returns the reasons
    /// to refuse the policy, none to accept it; a refused policy changes nothing.
    /// </summary>
    public void AddAdmission(Func<SitePolicy, IEnumerable<string>> check)
    {
        ArgumentNullException.ThrowIfNull(check);
        lock (_reloadLock)
        {
            _admissions = [.. _admissions, check];
        }
    }

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
        IReadOnlyList<PolicyError> errors;
        lock (_reloadLock)
        {
            var result = PolicyLoader.LoadFile(Path);
            errors = result.Errors;
            if (result.Policy is { } policy && policy.Sha256 != _current.Sha256)
            {
                var refused = _admissions.SelectMany(check => check(policy)).Select(m => new PolicyError { File = Path, Message = m }).ToArray();
                if (refused.Length > 0)
                {
                    errors = refused;
                }
                else
                {
                    _current = policy;
                    applied = policy;
                }
            }
        }

        // Raised outside the lock: a handler that reloads again must not deadlock. Every handler hears
        // it even when one throws (each takes its part of the new policy: a proxy left on the old one
        // while capture runs on the new would be worse than either); the failures come after.
        if (applied is not null && PolicyChanged is { } changed)
        {
            List<Exception>? failures = null;
            foreach (var handler in changed.GetInvocationList().Cast<EventHandler<SitePolicy>>())
            {
                try
                {
                    handler(this, applied);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    (failures ??= []).Add(e);
                }
            }

            if (failures is not null)
            {
                throw failures.Count == 1 ? failures[0] : new AggregateException("components failed to take the new policy", failures);
            }
        }

        return errors;
    }
}
