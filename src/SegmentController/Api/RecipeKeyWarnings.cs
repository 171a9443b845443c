using System.Collections.Concurrent;

namespace SegmentController.Api;

/// <summary>
/// The credential names already warned, in this run of the controller, that their key does not have the
/// recipe's shape (<see cref="RecipeKeyShape"/>): one warning per name is enough to tell the operator to
/// replace it, and a key used on every request must not fill the log. Bounded by the names the keys file
/// has held.
/// </summary>
internal sealed class RecipeKeyWarnings
{
    private readonly ConcurrentDictionary<string, byte> _warned = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>True the first time it is asked about <paramref name="name"/>, false after.</summary>
    public bool First(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _warned.TryAdd(name, 0);
    }
}
