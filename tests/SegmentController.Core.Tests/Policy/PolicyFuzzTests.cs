using System.Text;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Tests.Policy;

/// <summary>
/// Random truncations and mutations of the example policy: whatever the text, the loader answers with a
/// policy or with errors that carry a position, and never throws.
/// </summary>
public sealed class PolicyFuzzTests
{
    private static readonly string[] Fragments =
    [
        ":", "- ", "[", "]", "{", "}", "&a ", "*a", "!!binary ", "\t", "\"", "'", "#", "\n", "  ", "? ", "|", ">",
        "%YAML 1.2\n", "---\n", "...\n", "~", "null", "0x10", "-1", "99999999999999999999", "1e400", "\u0000", "\uFEFF",
        "Gi1/0/1-99999", "10.0.0.0/33", "::/0", "vlans: [0]", "env: ", "file: ", "<<: *a", "\u202e",
    ];

    [Fact]
    public void MutatedExample_NeverThrows()
    {
        var original = File.ReadAllText(PolicyFiles.Shipped("example-site.yaml"));
        var lines = original.Split('\n');
        var random = new Random(20261122);
        for (var i = 0; i < 1200; i++)
        {
            var text = (i % 6) switch
            {
                0 => original[..random.Next(original.Length)],
                1 => Insert(original, random, Fragments[random.Next(Fragments.Length)]),
                2 => string.Join('\n', lines.Where((_, n) => n != random.Next(lines.Length))),
                3 => Swap(lines, random),
                4 => Insert(Insert(original, random, Fragments[random.Next(Fragments.Length)]), random, Fragments[random.Next(Fragments.Length)]),
                _ => Reindent(lines, random),
            };

            AssertAnswers(text, $"iteration {i}");
        }
    }

    [Fact]
    public void RandomBytes_NeverThrow()
    {
        var random = new Random(7);
        for (var i = 0; i < 500; i++)
        {
            var bytes = new byte[random.Next(1, 512)];
            random.NextBytes(bytes);
            var result = PolicyLoader.Load(bytes, "random.yaml");
            Assert.False(result.IsValid);
            Assert.NotEmpty(result.Errors);
        }
    }

    [Fact]
    public void HostileShapes_AreRefusedWithErrors()
    {
        string[] hostile =
        [
            "site: " + new string('[', 100_000),
            "site: " + string.Concat(Enumerable.Repeat("{a: ", 10_000)),
            string.Concat(Enumerable.Range(0, 50_000).Select(n => $"k{n}: v\n")),
            "clients:\n" + string.Concat(Enumerable.Repeat("  - {id: a, segments: [{name: s, ports: [{switch: x, ports: [p1-1024]}]}]}\n", 400)),
            "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n",
            "key: \"" + new string('x', 3_000_000) + "\"",
        ];

        foreach (var text in hostile)
        {
            var result = AssertAnswers(text, text[..Math.Min(40, text.Length)]);
            Assert.False(result.IsValid);
        }
    }

    private static PolicyLoadResult AssertAnswers(string text, string what)
    {
        PolicyLoadResult? result = null;
        var thrown = Record.Exception(() => result = PolicyLoader.Load(Encoding.UTF8.GetBytes(text), "fuzz.yaml"));

        Assert.True(thrown is null, $"{what}: {thrown}");
        Assert.True(result!.IsValid != (result.Errors.Count > 0), what);
        Assert.True(result.Errors.Count <= 501, what);
        Assert.All(result.Errors, e => Assert.True(e.Line >= 0 && e.Column >= 0 && e.Message.Length > 0));
        return result;
    }

    private static string Insert(string text, Random random, string fragment)
    {
        var at = random.Next(text.Length + 1);
        return text[..at] + fragment + text[at..];
    }

    private static string Swap(string[] lines, Random random)
    {
        var copy = (string[])lines.Clone();
        var (a, b) = (random.Next(copy.Length), random.Next(copy.Length));
        (copy[a], copy[b]) = (copy[b], copy[a]);
        return string.Join('\n', copy);
    }

    private static string Reindent(string[] lines, Random random)
    {
        var copy = (string[])lines.Clone();
        var n = random.Next(copy.Length);
        copy[n] = random.Next(2) == 0 ? " " + copy[n] : copy[n].TrimStart();
        return string.Join('\n', copy);
    }
}
