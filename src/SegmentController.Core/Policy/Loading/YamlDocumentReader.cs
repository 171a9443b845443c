using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace SegmentController.Core.Policy.Loading;

/// <summary>
/// Turns policy text into one YAML mapping node with positions. A first pass over the parser's events
/// (iterative, so neither deep nesting nor alias expansion can exhaust the stack or memory) rejects
/// what a policy never needs and what makes loaders fall over: anchors and aliases, more than one
/// document, excessive nesting or node counts, non-scalar keys and duplicate keys. Only text that
/// passes is handed to <see cref="YamlStream"/>.
/// </summary>
internal static partial class YamlDocumentReader
{
    public const int MaxDepth = 32;
    public const int MaxNodes = 200_000;

    public static YamlMappingNode? Read(string text, PolicyDiagnostics diagnostics)
    {
        if (!Prescan(text, diagnostics))
        {
            return null;
        }

        YamlStream stream;
        try
        {
            stream = [];
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            // The prescan saw the same events; this is a defence, not an expected path.
            diagnostics.Add(Position.Of(e.Start), Clean(e));
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException or FormatException or OverflowException)
        {
            diagnostics.Add(new Position(1, 1), "not valid YAML (indent with spaces only, and close every quote and bracket)");
            return null;
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            diagnostics.Add(new Position(1, 1), "the policy is empty; it must start with 'site:'");
            return null;
        }

        var root = stream.Documents[0].RootNode;
        if (root is not YamlMappingNode mapping)
        {
            diagnostics.Add(root, $"the policy must be a mapping of top-level keys (site, controller, infrastructure, switches, clients, ...), found {YamlMap.Describe(root)}");
            return null;
        }

        return mapping;
    }

    private sealed class Frame(bool isMapping)
    {
        public bool IsMapping { get; } = isMapping;

        public bool ExpectKey { get; set; } = true;

        public Dictionary<string, Position> Keys { get; } = new(StringComparer.Ordinal);
    }

    private static bool Prescan(string text, PolicyDiagnostics diagnostics)
    {
        var before = diagnostics.Count;
        var stack = new Stack<Frame>();
        var nodes = 0;
        var documents = 0;
        var lastGood = new Position(1, 1);
        try
        {
            var parser = new Parser(new StringReader(text));
            while (parser.MoveNext())
            {
                var current = parser.Current!;
                lastGood = Position.Of(current.End);
                switch (current)
                {
                    case DocumentStart start when !start.IsImplicit || documents > 0:
                        documents++;
                        if (documents > 1)
                        {
                            diagnostics.Add(Position.Of(start.Start), "a policy file holds one YAML document; remove this '---' and what follows, or split the file");
                            return false;
                        }

                        continue;
                    case DocumentStart:
                        documents++;
                        continue;
                    case AnchorAlias alias:
                        // Aliases are what alias bombs are made of; a policy is short enough to write out.
                        diagnostics.Add(Position.Of(alias.Start), $"aliases ('*{YamlMap.Printable(alias.Value.Value)}') are not allowed in a policy; write each value out so every setting reads where it applies");
                        return false;
                    case MappingEnd or SequenceEnd:
                        stack.TryPop(out _);
                        continue;
                    case NodeEvent node:
                        if (++nodes > MaxNodes)
                        {
                            diagnostics.Add(Position.Of(node.Start), $"the policy has more than {MaxNodes} values; a site policy is far smaller");
                            return false;
                        }

                        if (!node.Anchor.IsEmpty)
                        {
                            diagnostics.Add(Position.Of(node.Start), $"anchors ('&{YamlMap.Printable(node.Anchor.Value)}') are not allowed in a policy; write each value out so every setting reads where it applies");
                        }

                        CheckKey(stack, node, diagnostics);
                        if (node is MappingStart or SequenceStart)
                        {
                            if (stack.Count >= MaxDepth)
                            {
                                diagnostics.Add(Position.Of(node.Start), $"the policy is nested more than {MaxDepth} levels deep");
                                return false;
                            }

                            stack.Push(new Frame(node is MappingStart));
                        }

                        continue;
                    default:
                        continue;
                }
            }
        }
        catch (YamlException e)
        {
            diagnostics.Add(Position.Of(e.Start), Clean(e));
            return false;
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException or FormatException or OverflowException)
        {
            // YamlDotNet's scanner has inputs on which it fails with a non-YAML exception; to the user it
            // is the same broken text, reported after the last part that did parse.
            diagnostics.Add(lastGood, "not valid YAML after this point (indent with spaces only, and close every quote and bracket)");
            return false;
        }

        return diagnostics.Count == before;
    }

    private static void CheckKey(Stack<Frame> stack, ParsingEvent node, PolicyDiagnostics diagnostics)
    {
        if (!stack.TryPeek(out var frame) || !frame.IsMapping)
        {
            return;
        }

        if (!frame.ExpectKey)
        {
            frame.ExpectKey = true;
            return;
        }

        frame.ExpectKey = false;
        var at = Position.Of(node.Start);
        if (node is not Scalar scalar)
        {
            diagnostics.Add(at, "a key must be a single word, not a list or a mapping");
            return;
        }

        if (frame.Keys.TryGetValue(scalar.Value, out var first))
        {
            // The key is not repeated: a secret written where a key goes (a community under `community:`) would be
            // echoed to the console, the log and the evidence store. Its position names it.
            diagnostics.Add(at, $"duplicate key (first given at line {first.Line}, column {first.Column}); each key may appear once per mapping");
        }
        else
        {
            frame.Keys[scalar.Value] = at;
        }
    }

    /// <summary>YamlDotNet prefixes messages with the marks; the error format carries the position already.</summary>
    private static string Clean(YamlException e)
    {
        var message = MarkPrefix().Replace(e.Message, "");
        return $"not valid YAML: {message.TrimEnd('.')} (indent with spaces only, and close every quote and bracket)";
    }

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ")]
    private static partial Regex MarkPrefix();
}
