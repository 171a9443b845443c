using SegmentController.Core.Policy;

namespace SegmentController.Cli;

/// <summary>Opens a policy file for a command: a provider when it validates, every error otherwise.</summary>
internal static class PolicyFile
{
    public static Opened Open(string path)
    {
        var result = PolicyLoader.LoadFile(path);
        return result.Policy is null
            ? new Opened(null, result.Errors.Select(e => e.ToString()).ToArray(), result.Unreadable)
            : new Opened(new PolicyProvider(path, result.Policy), [], Unreadable: false);
    }

    /// <summary>The outcome: a provider, or the errors (and whether the file could not be read at all).</summary>
    public sealed record Opened(IReloadablePolicyProvider? Provider, IReadOnlyList<string> Errors, bool Unreadable);
}
