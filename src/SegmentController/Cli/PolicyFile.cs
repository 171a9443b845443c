using SegmentController.Core.Policy;
using SegmentController.Logging;

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

    /// <summary>
    /// Opens the policy and writes its errors, if any, to <paramref name="error"/>: escaped, since they quote
    /// the file (shown, never obeyed by the reader's terminal or journal). The caller says what not loading means.
    /// </summary>
    public static async Task<Opened> OpenReportingAsync(string path, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var opened = Open(path);
        foreach (var message in opened.Errors)
        {
            await error.WriteLineAsync(PrintableText.Escape(message));
        }

        return opened;
    }

    /// <summary>The outcome: a provider, or the errors (and whether the file could not be read at all).</summary>
    public sealed record Opened(IReloadablePolicyProvider? Provider, IReadOnlyList<string> Errors, bool Unreadable);
}
