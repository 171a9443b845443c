using System.CommandLine;
using System.CommandLine.Parsing;

namespace SegmentController.Cli;

/// <summary>
/// The lines a usage error prints. A value given after an option whose name says it carries a secret
/// (<c>--api-key</c>, <c>--key</c>, <c>--password</c>, <c>--secret</c>, <c>--community</c>, <c>--auth-pass</c>,
/// <c>--priv-pass</c>, …) is never among them, whether or not the command takes that option: a misplaced key
/// would otherwise end up in a terminal's scrollback and a CI log. Nor is what was given with an option the
/// command does not take, whatever its name (a misspelled <c>--api-kye KEY</c>). What was wrong is still said.
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

    /// <summary>
    /// A line for each token that looks like an option (<c>--polcy</c>, <c>--polcy=VALUE</c>) but was taken as one of
    /// the command's positional arguments (a file to check, an id): the parser takes an option no command knows as
    /// an argument where the command has one, and the token after it as the next. The command takes no such option,
    /// so this is a usage error, said without the token after it or the value after <c>=</c> (either may be a
    /// secret, as for any option the command does not take) — where the command would otherwise have gone on and
    /// named them as files it could not read or ids it could not find. Arguments after <c>--</c> are taken as given.
    /// </summary>
    public static IReadOnlyList<(string Token, string Line)> OptionsTakenAsArguments(ParseResult parseResult)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        var tokens = parseResult.Tokens;
        var end = 0;
        while (end < tokens.Count && tokens[end].Type != TokenType.DoubleDash)
        {
            end++;
        }

        var command = CommandPath(parseResult.CommandResult);
        var found = new List<(int Index, string Token, string Line)>();
        for (SymbolResult? current = parseResult.CommandResult; current is CommandResult result; current = result.Parent)
        {
            foreach (var argument in result.Children.OfType<ArgumentResult>())
            {
                foreach (var token in argument.Tokens)
                {
                    var index = IndexOf(tokens, token, end);
                    if (index < 0 || !LooksLikeOption(token.Value))
                    {
                        continue;
                    }

                    var name = OptionName(token.Value);
                    var valueGiven = token.Value.Length > name.Length || (index + 1 < tokens.Count && tokens[index + 1].Type == TokenType.Argument);
                    found.Add((index, token.Value, $"unrecognized option {name} for {command}{(valueGiven ? " (its value is not shown)" : string.Empty)}"));
                }
            }
        }

        return [.. found.OrderBy(f => f.Index).Select(f => (f.Token, f.Line))];
    }

    /// <summary>Where <paramref name="token"/> itself is among the first <paramref name="end"/> of <paramref name="tokens"/>; -1 when it is not.</summary>
    private static int IndexOf(IReadOnlyList<Token> tokens, Token token, int end)
    {
        for (var i = 0; i < end; i++)
        {
            if (ReferenceEquals(tokens[i], token))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>One line per parse error of <paramref name="parseResult"/>, none holding a secret of <paramref name="args"/>.</summary>
    /// <remarks>
    /// An option the command does not take is named, never what was given with it: the token after it and the
    /// value in <c>--name=VALUE</c> are unknown to the command, so any of them may be a secret (a misspelled
    /// <c>--api-kye KEY</c>).
    /// </remarks>
    /// <param name="parseResult">The parse.</param>
    /// <param name="args">The command line as given.</param>
    /// <param name="takenAsArguments">Tokens <see cref="OptionsTakenAsArguments"/> already said are unrecognized options.</param>
    public static IReadOnlyList<string> Lines(ParseResult parseResult, IReadOnlyList<string> args, IReadOnlySet<string>? takenAsArguments = null)
    {
        takenAsArguments ??= new HashSet<string>(StringComparer.Ordinal);
        ArgumentNullException.ThrowIfNull(parseResult);
        ArgumentNullException.ThrowIfNull(args);
        // The tokens too: a response file (@file) may be where the key was given.
        var secrets = SecretValues(args);
        secrets.UnionWith(SecretValues([.. parseResult.Tokens.Select(t => t.Value)]));
        var unmatched = parseResult.UnmatchedTokens.ToHashSet(StringComparer.Ordinal);
        var (unknownOptions, followers) = UnknownOptions(parseResult.Tokens, unmatched);
        var command = CommandPath(parseResult.CommandResult);
        var lines = new List<string>();
        foreach (var error in parseResult.Errors)
        {
            var token = unmatched.FirstOrDefault(t => string.Equals(error.Message, $"Unrecognized command or argument '{t}'.", StringComparison.Ordinal));
            if (token is not null && (secrets.Contains(token) || followers.ContainsKey(token)))
            {
                // Given with an option the command does not take: the option's own line says what was wrong,
                // unless that was taken as another option's value.
                if (followers.TryGetValue(token, out var after) && !unknownOptions.ContainsKey(after) && !followers.ContainsKey(after) && !takenAsArguments.Contains(after))
                {
                    lines.Add($"unrecognized argument for {command} after {after} (not shown)");
                }

                continue;
            }

            if (token is not null && (SecretOptionName(token) ?? (unknownOptions.ContainsKey(token) ? OptionName(token) : null)) is { } name)
            {
                var valueGiven = token.Length > name.Length || (unknownOptions.TryGetValue(token, out var hidesNext) && hidesNext);
                lines.Add($"unrecognized option {name} for {command}{(valueGiven ? " (its value is not shown)" : string.Empty)}");
                continue;
            }

            lines.Add(RedactQuoted(Redact(error.Message, secrets), followers));
        }

        return lines;
    }

    /// <summary>
    /// The unmatched tokens that look like options, each with whether the token after it is hidden, and the
    /// hidden tokens: any argument right after an argument that looks like an option, matched or not, as
    /// what may be its value. One taken as another option's value (<c>--from --xyz KEY</c>) counts too.
    /// </summary>
    private static (Dictionary<string, bool> Options, Dictionary<string, string> Followers) UnknownOptions(IReadOnlyList<Token> tokens, HashSet<string> unmatched)
    {
        var options = new Dictionary<string, bool>(StringComparer.Ordinal);
        // Each hidden token with the one it came after.
        var followers = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (token.Type != TokenType.Argument || !LooksLikeOption(token.Value))
            {
                continue;
            }

            // A hidden token that looks like an option may be one: what follows it is hidden as well.
            var hidesNext = i + 1 < tokens.Count && tokens[i + 1].Type == TokenType.Argument;
            if (hidesNext)
            {
                followers.TryAdd(tokens[i + 1].Value, token.Value);
            }

            if (unmatched.Contains(token.Value))
            {
                options[token.Value] = (options.TryGetValue(token.Value, out var before) && before) || hidesNext;
            }
        }

        foreach (var follower in followers.Keys)
        {
            options.Remove(follower);
        }

        return (options, followers);
    }

    private static bool LooksLikeOption(string token) => token.Length > 1 && token[0] == '-';

    /// <summary>The option name <paramref name="token"/> gives, alone or as name=value or name:value.</summary>
    private static string OptionName(string token)
    {
        var end = token.IndexOfAny(['=', ':']);
        return end < 0 ? token : token[..end];
    }

    /// <summary>The name of the secret option <paramref name="token"/> gives (alone, or as name=value or name:value); null when it gives none.</summary>
    private static string? SecretOptionName(string token)
    {
        var name = OptionName(token);
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

    /// <summary>Hides a token given after an unknown option where a message quotes it (as the value it could not parse).</summary>
    private static string RedactQuoted(string message, Dictionary<string, string> followers)
    {
        foreach (var follower in followers.Keys.OrderByDescending(s => s.Length))
        {
            message = message.Replace($"'{follower}'", $"'{Hidden}'", StringComparison.Ordinal);
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
