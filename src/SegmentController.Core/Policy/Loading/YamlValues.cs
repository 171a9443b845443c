using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace SegmentController.Core.Policy.Loading;

/// <summary>
/// Reads typed values out of checked mappings. Every failure is reported at the node that caused it
/// and answered with null, so reading carries on and the whole file is judged in one pass.
/// </summary>
internal sealed partial class YamlValues(PolicyDiagnostics diagnostics)
{
    public const string SecretHint = "reference it as {env: NAME} or {file: PATH}";

    private static readonly string[] SecretKeys = ["env", "file"];

    public PolicyDiagnostics Diagnostics { get; } = diagnostics;

    /// <summary>Opens a sub-section; reports a missing required one at the parent mapping.</summary>
    public YamlMap? Section(YamlMap parent, string key, string section, IReadOnlyCollection<string> keys, bool required = false)
    {
        var node = parent[key];
        if (node is null)
        {
            if (required)
            {
                Missing(parent, key);
            }

            return null;
        }

        return YamlMap.Open(node, section, keys, Diagnostics);
    }

    public void Missing(YamlMap map, string key)
    {
        if (map.Has(key))
        {
            Diagnostics.Add(map.KeyNode(key)!, $"'{key}' in {map.Section} has no value");
        }
        else
        {
            Diagnostics.Add(map.Node, $"missing required key '{key}' in {map.Section}");
        }
    }

    /// <summary>A single value; null when absent (reported if required) or not a single value.</summary>
    public YamlScalarNode? Scalar(YamlMap map, string key, bool required = false)
    {
        var node = map[key];
        if (node is null)
        {
            if (required)
            {
                Missing(map, key);
            }

            return null;
        }

        if (node is not YamlScalarNode scalar)
        {
            Diagnostics.Add(node, $"'{key}' in {map.Section} must be a single value, found {YamlMap.Describe(node)}");
            return null;
        }

        return scalar;
    }

    public string? Text(YamlMap map, string key, bool required = false, int maxLength = 256)
    {
        var scalar = Scalar(map, key, required);
        if (scalar?.Value is null)
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(scalar.Value))
        {
            if (required)
            {
                Diagnostics.Add(scalar, $"'{key}' in {map.Section} has no value");
            }

            return null;
        }

        if (scalar.Value.Length > maxLength || scalar.Value.Any(char.IsControl))
        {
            Diagnostics.Add(scalar, $"'{key}' in {map.Section} must be one line of at most {maxLength} characters");
            return null;
        }

        return scalar.Value;
    }

    /// <summary>A name that becomes an identifier (metric label, record key).</summary>
    public string? Identifier(YamlMap map, string key, string what, bool required = true)
    {
        var scalar = Scalar(map, key, required);
        if (scalar?.Value is null)
        {
            return null;
        }

        if (!IdentifierPattern().IsMatch(scalar.Value))
        {
            Diagnostics.Add(scalar, $"{what} '{YamlMap.Printable(scalar.Value)}' must be 1-63 letters, digits, '.', '-' or '_', starting with a letter or digit");
            return null;
        }

        return scalar.Value;
    }

    public int? Int(YamlMap map, string key, int min, int max, bool required = false)
    {
        var scalar = Scalar(map, key, required);
        if (scalar?.Value is null)
        {
            return null;
        }

        if (!int.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            Diagnostics.Add(scalar, $"'{key}' in {map.Section} must be a whole number from {min} to {max}, found '{YamlMap.Printable(scalar.Value)}'");
            return null;
        }

        return value;
    }

    public double? Fraction(YamlMap map, string key)
    {
        var scalar = Scalar(map, key);
        if (scalar?.Value is null)
        {
            return null;
        }

        if (!double.TryParse(scalar.Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value is < 0 or > 1 || double.IsNaN(value))
        {
            Diagnostics.Add(scalar, $"'{key}' in {map.Section} must be a fraction from 0 to 1 (0.001 is 0.1%), found '{YamlMap.Printable(scalar.Value)}'");
            return null;
        }

        return value;
    }

    public bool? Bool(YamlMap map, string key)
    {
        var scalar = Scalar(map, key);
        if (scalar?.Value is null)
        {
            return null;
        }

        if (bool.TryParse(scalar.Value, out var value))
        {
            return value;
        }

        Diagnostics.Add(scalar, $"'{key}' in {map.Section} must be true or false, found '{YamlMap.Printable(scalar.Value)}'");
        return null;
    }

    /// <summary>A duration (<see cref="DurationText"/>) of at least <paramref name="min"/> and at most <paramref name="max"/>
    /// (less than <see cref="DurationText.Max"/> where a timer runs on it); null when absent or invalid (reported).</summary>
    public TimeSpan? Duration(YamlMap map, string key, TimeSpan min, TimeSpan? max = null)
    {
        var scalar = Scalar(map, key);
        if (scalar?.Value is null)
        {
            return null;
        }

        if (!DurationText.TryParse(scalar.Value, out var value))
        {
            Diagnostics.Add(scalar, $"'{YamlMap.Printable(scalar.Value)}' is not a valid duration for '{key}' in {map.Section}; {DurationText.Hint} (at most {DurationText.Format(DurationText.Max)})");
            return null;
        }

        if (value < min)
        {
            Diagnostics.Add(scalar, $"'{key}' in {map.Section} must be at least {DurationText.Format(min)}, found '{YamlMap.Printable(scalar.Value)}'");
            return null;
        }

        if (max is { } most && value > most)
        {
            Diagnostics.Add(scalar, $"'{key}' in {map.Section} must be at most {DurationText.Format(most)}, found '{YamlMap.Printable(scalar.Value)}'");
            return null;
        }

        return value;
    }

    public T? Choice<T>(YamlMap map, string key, IReadOnlyDictionary<string, T> choices)
        where T : struct
    {
        var scalar = Scalar(map, key);
        if (scalar?.Value is null)
        {
            return null;
        }

        if (choices.TryGetValue(scalar.Value, out var value))
        {
            return value;
        }

        var suggestion = KeySuggester.Suggest(scalar.Value, choices.Keys);
        Diagnostics.Add(scalar, $"'{YamlMap.Printable(scalar.Value)}' is not a valid value for '{key}' in {map.Section}; use one of: {string.Join(", ", choices.Keys)}"
            + (suggestion is null ? "" : $" (did you mean '{suggestion}'?)"));
        return null;
    }

    /// <summary>
    /// The items of a list. A single value stands for a list of one (<c>vlans: 110</c>), which is how
    /// people write a list with one entry.
    /// </summary>
    public IReadOnlyList<YamlNode> Items(YamlMap map, string key, bool required = false)
    {
        var node = map[key];
        if (node is null)
        {
            if (required)
            {
                Missing(map, key);
            }

            return [];
        }

        switch (node)
        {
            case YamlSequenceNode sequence:
                if (required && sequence.Children.Count == 0)
                {
                    Diagnostics.Add(sequence, $"'{key}' in {map.Section} must list at least one entry");
                }

                return sequence.Children.Where(c => !YamlMap.IsNull(c)).ToList();
            case YamlScalarNode:
                return [node];
            default:
                Diagnostics.Add(node, $"'{key}' in {map.Section} must be a list, found {YamlMap.Describe(node)}");
                return [];
        }
    }

    /// <summary>The items of a list of single values; anything else is reported.</summary>
    public IReadOnlyList<YamlScalarNode> ScalarItems(YamlMap map, string key, bool required = false)
    {
        var result = new List<YamlScalarNode>();
        foreach (var item in Items(map, key, required))
        {
            if (item is YamlScalarNode { Value: not null } scalar)
            {
                result.Add(scalar);
            }
            else
            {
                Diagnostics.Add(item, $"each entry of '{key}' in {map.Section} must be a single value, found {YamlMap.Describe(item)}");
            }
        }

        return result;
    }

    /// <summary>
    /// A secret reference: <c>{env: NAME}</c> or <c>{file: PATH}</c>. A value written in place of the
    /// reference is the secret itself; the message says so without repeating it.
    /// </summary>
    public SecretReference? Secret(YamlMap map, string key, bool required = false)
    {
        var node = map[key];
        if (node is null)
        {
            if (required)
            {
                Missing(map, key);
            }

            return null;
        }

        if (node is YamlScalarNode)
        {
            Diagnostics.Add(node, $"secret written inline in '{key}'; {SecretHint}");
            return null;
        }

        // A secret written as a key ({Sup3rS3cret}) is a key like any other to YAML: it is not echoed.
        var secret = YamlMap.Open(node, $"secret reference '{key}'", SecretKeys, Diagnostics, quoteUnknownKeys: false);
        if (secret is null)
        {
            return null;
        }

        var env = secret["env"];
        var file = secret["file"];
        if (env is not null && file is not null)
        {
            Diagnostics.Add(secret.Node, $"secret reference '{key}' names both env and file; use one");
            return null;
        }

        if (env is null && file is null)
        {
            Diagnostics.Add(secret.Node, $"secret reference '{key}' must name env or file; {SecretHint}");
            return null;
        }

        if (env is not null)
        {
            if (env is not YamlScalarNode { Value: { } name } || !EnvironmentName().IsMatch(name))
            {
                // Not echoed: someone may have put the secret where the variable name belongs.
                Diagnostics.Add(env, $"'env' in '{key}' must be an environment variable name (letters, digits and '_', not starting with a digit)");
                return null;
            }

            return new SecretReference { Source = SecretSource.Environment, Name = name };
        }

        if (file is not YamlScalarNode { Value: { Length: > 0 and <= 4096 } path } || path.Any(char.IsControl))
        {
            Diagnostics.Add(file!, $"'file' in '{key}' must be a file path");
            return null;
        }

        return new SecretReference { Source = SecretSource.File, Name = path };
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}\z")]
    private static partial Regex IdentifierPattern();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]{0,127}\z")]
    private static partial Regex EnvironmentName();
}
