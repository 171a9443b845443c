using System.CommandLine;
using System.CommandLine.Parsing;

namespace SegmentController.Cli;

/// <summary>
/// The lines a usage error prints. A value given after an option whose name says it carries a secret
/// (<c>--api-key</c>, <c>--key</c>, <c>--password</c>, <c>--secret</c>, <c>--community</c>, <c>--auth-pass</c>,
/// <c>--priv-pass</c>, …) is never among them, whether or not the command takes that option: a misplaced key
/// would otherwise end up in a terminal's scrollback and a CI log. What was wrong is still said.
/// </summary>
internal static class ParseErrorText
{
    /// <summary>What appears in an error line in place of a secret.</summary>
    public const string Hidden = "(hidden)";

    private static readonly string[] SecretWords = ["key", "pass", "secret", "token", "community", "credential"];

    /// <summary>Whether <paramref name="option"/> (with its leading dashes) names an option that carries a secret.</summary>
    public static bool IsSecretOption(string option)
    {
        ArgumentNullException.ThrowIfNull(option);
        if (!option.StartsWith('-'))
        {
            return false;
        }

        var name = option.TrimStart('-');
        return name.Length > 0 && SecretWords.Any(word => name.Contains(word, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>One line per parse error of <paramref name="parseResult"/>, none holding a secret of <paramref name="args"/>.</summary>
    public static IReadOnlyList<string> Lines(ParseResult parseResult, IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        ArgumentNullException.ThrowIfNull(args);
        // The tokens too: a response file (@file) may be where the key was given.
        var secrets = SecretValues(args);
        secrets.UnionWith(SecretValues([.. parseResult.Tokens.Select(t => t.Value)]));
        var unmatched = parseResult.UnmatchedTokens.ToHashSet(StringComparer.Ordinal);
        var command = CommandPath(parseResult.CommandResult);
        var lines = new List<string>();
        foreach (var error in parseResult.Errors)
        {
            var token = unmatched.FirstOrDefault(t => string.Equals(error.Message, $"Unrecognized command or argument '{t}'.", StringComparison.Ordinal));
            if (token is not null && secrets.Contains(token))
            {
                // The value of a secret option the command does not take: the option's own line says what was wrong.
                continue;
            }

            if (token is not null && SecretOptionName(token) is { } name)
            {
                var valueGiven = token.Length > name.Length;
                lines.Add($"unrecognized option {name} for {command}{(valueGiven ? " (its value is not shown)" : string.Empty)}");
                continue;
            }

            lines.Add(Redact(error.Message, secrets));
        }

        return lines;
    }

    /// <summary>The name of the secret option <paramref name="token"/> gives (alone, or as name=value or name:value); null when it gives none.</summary>
    private static string? SecretOptionName(string token)
    {
        var end = token.IndexOfAny(['=', ':']);
        var name = end < 0 ? token : token[..end];
        return IsSecretOption(name) ? name : null;
    }

    /// <summary>Every token that is the value of a secret option, as the next token or after = or :.</summary>
    private static HashSet<string> SecretValues(IReadOnlyList<string> args)
    {
        var secrets = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (IsSecretOption(arg))
            {
                if (i + 1 < args.Count && args[i + 1].Length > 0)
                {
                    secrets.Add(args[i + 1]);
                }

                continue;
            }

            if (SecretOptionName(arg) is { } name && arg.Length > name.Length + 1)
            {
                secrets.Add(arg[(name.Length + 1)..]);
                secrets.Add(arg);
            }
        }

        return secrets;
    }

    private static string Redact(string message, HashSet<string> secrets)
    {
        // Longest first, so a secret that holds a shorter one is hidden whole.
        foreach (var secret in secrets.OrderByDescending(s => s.Length))
        {
            message = message.Replace(secret, Hidden, StringComparison.Ordinal);
        }

        return message;
    }

    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? current = result; current is CommandResult command; current = command.Parent)
        {
            if (command.Parent is null)
            {
                break;
            }

            names.Insert(0, command.Command.Name);
        }

        return names.Count == 0 ? "segctl" : $"'{string.Join(' ', names)}'";
    }
}
