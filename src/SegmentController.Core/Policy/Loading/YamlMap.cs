using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SegmentController.Core.Policy.Loading;

/// <summary>A YAML mapping whose keys were checked against the keys a policy section accepts.</summary>
internal sealed class YamlMap
{
    private readonly Dictionary<string, (YamlScalarNode Key, YamlNode Value)> _entries;

    private YamlMap(YamlMappingNode node, string section, Dictionary<string, (YamlScalarNode Key, YamlNode Value)> entries)
    {
        Node = node;
        Section = section;
        _entries = entries;
    }

    /// <summary>The mapping itself (its position is where "missing key" errors point).</summary>
    public YamlMappingNode Node { get; }

    /// <summary>What the mapping describes, for messages ("segment", "switch").</summary>
    public string Section { get; }

    /// <summary>
    /// Checks that <paramref name="node"/> is a mapping and reports every key not in
    /// <paramref name="keys"/> with the nearest known key; returns null when it is not a mapping.
    /// With <paramref name="quoteUnknownKeys"/> false an unknown key is reported at its position
    /// without being repeated (where a secret may have been written as the key).
    /// </summary>
    public static YamlMap? Open(YamlNode node, string section, IReadOnlyCollection<string> keys, PolicyDiagnostics diagnostics, bool quoteUnknownKeys = true)
    {
        if (node is not YamlMappingNode mapping)
        {
            diagnostics.Add(node, $"{section} must be a mapping of keys ({string.Join(", ", keys)}), found {Describe(node)}");
            return null;
        }

        var entries = new Dictionary<string, (YamlScalarNode, YamlNode)>(StringComparer.Ordinal);
        foreach (var (keyNode, value) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode key || key.Value is null)
            {
                diagnostics.Add(keyNode, "a key must be a single word, not a list or a mapping");
                continue;
            }

            if (!keys.Contains(key.Value) && !quoteUnknownKeys)
            {
                diagnostics.Add(key, $"unknown key in {section} (not repeated here: it may be the secret itself); known keys: {string.Join(", ", keys)}");
                continue;
            }

            if (!keys.Contains(key.Value))
            {
                var suggestion = KeySuggester.Suggest(key.Value, keys);
                diagnostics.Add(key, suggestion is null
                    ? $"unknown key '{Printable(key.Value)}' in {section}; known keys: {string.Join(", ", keys)}"
                    : $"unknown key '{Printable(key.Value)}' in {section} (did you mean '{suggestion}'?)");
                continue;
            }

            entries[key.Value] = (key, value);
        }

        return new YamlMap(mapping, section, entries);
    }

    /// <summary>The value of <paramref name="key"/>, or null when absent or written empty (<c>key:</c>, <c>~</c>, <c>null</c>).</summary>
    public YamlNode? this[string key] => _entries.TryGetValue(key, out var entry) && !IsNull(entry.Value) ? entry.Value : null;

    /// <summary>True when the key is present at all, even with an empty value.</summary>
    public bool Has(string key) => _entries.ContainsKey(key);

    /// <summary>The key node, for errors about the key rather than its value.</summary>
    public YamlNode? KeyNode(string key) => _entries.TryGetValue(key, out var entry) ? entry.Key : null;

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        _ when IsNull(node) => "nothing",
        YamlScalarNode => "a single value",
        _ => "something else",
    };

    /// <summary>Makes user text safe to echo in a one-line message: no control characters, bounded length.</summary>
    public static string Printable(string? value)
    {
        if (value is null)
        {
            return "";
        }

        var builder = new StringBuilder(Math.Min(value.Length, 80));
        foreach (var c in value)
        {
            if (builder.Length >= 64)
            {
                builder.Append('…');
                break;
            }

            builder.Append(char.IsControl(c) ? '?' : c);
        }

        return builder.ToString();
    }

    /// <summary>
    /// <see cref="Printable"/> for a URL, host or address, with whatever could be a user name and
    /// password (everything after the scheme up to the last '@') replaced by <c>***</c>. Text that does
    /// not parse cannot be told apart from user-info, so any '@' counts.
    /// </summary>
    public static string PrintableWithoutUserInfo(string? value)
    {
        if (value is null)
        {
            return "";
        }

        var at = value.LastIndexOf('@');
        if (at < 0)
        {
            return Printable(value);
        }

        var scheme = value.IndexOf("://", StringComparison.Ordinal);
        var start = scheme >= 0 && scheme < at ? scheme + 3 : 0;
        return Printable(string.Concat(value.AsSpan(0, start), "***", value.AsSpan(at)));
    }
}
