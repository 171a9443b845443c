using System.Text;
using SegmentController.Storage.Chain;

namespace SegmentController.Storage.Tests.Chain;

/// <summary>The entries a payload holds, as the writer stores and verification re-derives them.</summary>
public sealed class ArrayEntriesTests
{
    [Theory]
    [InlineData("[]", 0)]
    [InlineData("[ ]", 0)]
    [InlineData("[1]", 1)]
    [InlineData("""[{"a":1},{"b":[1,2,{"c":","}]}]""", 2)]
    [InlineData("""["x,\"],y", "z\\"]""", 2)]
    [InlineData("""[[],{},"",0]""", 4)]
    public void BracketedList_ItsTopLevelElements(string payload, int expected) =>
        Assert.Equal(expected, ArrayEntries.Count(Encoding.UTF8.GetBytes(payload)));

    [Theory]
    [InlineData("")]
    [InlineData("{\"a\":[1,2]}")]
    [InlineData("[1,2")]
    [InlineData("1,2]")]
    [InlineData("[1,[2]")]
    [InlineData("[1]]")]
    [InlineData("[\"unterminated]")]
    [InlineData("[\"escape at the end\\]")]
    [InlineData(" [1]")]
    public void AnythingElse_Null(string payload) =>
        Assert.Null(ArrayEntries.Count(Encoding.UTF8.GetBytes(payload)));

    [Fact]
    public void JoinedAccessRecords_OnePerRecord()
    {
        const string record = """{"time":"2026-11-27T01:00:00.1234567+00:00","client":"acme","source":"10.20.0.15","method":"GET","host":"crm.acme.example","path":"/api/v2/customers/{id},[x]","status":200,"bytes_in":0,"bytes_out":18231,"duration_seconds":0.000512,"upstream":"https://crm.acme.example/","route_client":"acme","outcome":"forwarded","note":"say \"hi\", [then] {go}\\"}""";
        var joined = "[" + string.Join(",", Enumerable.Repeat(record, 300)) + "]";
        Assert.Equal(300, ArrayEntries.Count(Encoding.UTF8.GetBytes(joined)));
    }

    /// <summary>
    /// Short byte strings drawn from the characters that matter (and a few that do not), against a plain
    /// character-by-character count: any input the two disagree on is printed.
    /// </summary>
    [Fact]
    public void RandomPayloads_AgreeWithAPlainCount()
    {
        const string alphabet = "[]{},\"\\ a1:\t";
        var random = new Random(20261127);
        for (var n = 0; n < 200_000; n++)
        {
            var chars = new char[random.Next(0, 20)];
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = alphabet[random.Next(alphabet.Length)];
            }

            if (chars.Length >= 2 && random.Next(3) > 0)
            {
                (chars[0], chars[^1]) = ('[', ']');
            }

            var payload = new string(chars);
            var expected = PlainCount(payload);
            var actual = ArrayEntries.Count(Encoding.ASCII.GetBytes(payload));
            Assert.True(expected == actual, $"{payload}: expected {expected?.ToString() ?? "null"}, got {actual?.ToString() ?? "null"}");
        }
    }

    /// <summary>
    /// Lists long enough to be read 64 bytes at a time, strings and backslash runs crossing the blocks'
    /// edges, backslashes outside strings (counted a byte at a time) included: against the plain count.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void LongRandomPayloads_AgreeWithAPlainCount(bool wideVectors)
    {
        // Mostly plain bytes, so that strings and runs stretch over block edges; runs of backslashes drawn whole.
        const string alphabet = "[]{},\"\\ aaaaaaaabbbbcccc1:\t\u00e9";
        var random = new Random(20261128);
        var decided = 0;
        for (var n = 0; n < 100_000; n++)
        {
            var builder = new StringBuilder("[");
            var length = random.Next(60, 400);
            while (builder.Length < length)
            {
                var c = alphabet[random.Next(alphabet.Length)];
                builder.Append(c == '\\' ? new string('\\', random.Next(1, 6)) : c.ToString());
            }

            builder.Append(']');
            var payload = builder.ToString();
            var expected = PlainCount(payload);
            var actual = ArrayEntries.Count(Encoding.UTF8.GetBytes(payload), wideVectors);
            Assert.True(expected == actual, $"{payload}: expected {expected?.ToString() ?? "null"}, got {actual?.ToString() ?? "null"}");
            decided += expected is null ? 0 : 1;
        }

        // Not only refusals: a good share of them are lists.
        Assert.True(decided > 1_000, $"{decided} of the inputs were lists");
    }

    [Theory]
    [InlineData(62, "\"x\\\"y\",1")] // an escaped quote across the first block's edge
    [InlineData(63, "\"\\\\\",1")] // an even run ending at the edge: the quote after it closes the string
    [InlineData(63, "\"\\\\\\\",\"")] // an odd run across the edge: the quote is escaped, the string stays open
    [InlineData(64, "\\,1")] // a backslash outside a string: escapes nothing
    [InlineData(65, "{\"a\":\"],\"}")] // brackets and commas inside a string that crosses the edge
    public void BlockEdges_AgreeWithAPlainCount(int padding, string tail)
    {
        // Around the edge named, then one block further on.
        foreach (var shift in Enumerable.Range(-8, 17).Concat(Enumerable.Range(56, 17)))
        {
            foreach (var lead in new[] { "1,", "\"", "{" })
            {
                var payload = Encoding.UTF8.GetBytes("[" + lead + new string('a', padding + shift) + tail + (lead == "{" ? "}" : "") + "]");
                var expected = PlainCount(Encoding.UTF8.GetString(payload));
                Assert.Equal(expected, ArrayEntries.Count(payload, wideVectors: true));
                Assert.Equal(expected, ArrayEntries.Count(payload, wideVectors: false));
            }
        }
    }

    [Fact]
    public void LongBackslashRuns_AcrossWholeBlocks_AgreeWithAPlainCount()
    {
        for (var run = 1; run < 200; run++)
        {
            foreach (var payload in new[] { "[\"" + new string('\\', run) + "\",1]", "[1,\"x" + new string('\\', run) + "\"]" })
            {
                var bytes = Encoding.UTF8.GetBytes(payload);
                var expected = PlainCount(payload);
                Assert.Equal(expected, ArrayEntries.Count(bytes, wideVectors: true));
                Assert.Equal(expected, ArrayEntries.Count(bytes, wideVectors: false));
            }
        }
    }

    [Fact]
    public void JoinedAccessRecords_WithEscapes_OnePerRecord()
    {
        const string record = """{"path":"/a\\\"b\\","note":"\u00e9 [x], {y}","n":1}""";
        for (var count = 1; count < 40; count++)
        {
            var joined = "[" + string.Join(",", Enumerable.Repeat(record, count)) + "]";
            Assert.Equal(count, ArrayEntries.Count(Encoding.UTF8.GetBytes(joined)));
        }
    }

    // The definition, one character at a time.
    private static int? PlainCount(string payload)
    {
        if (payload.Length < 2 || payload[0] != '[' || payload[^1] != ']')
        {
            return null;
        }

        var inner = payload[1..^1];
        var depth = 0;
        var commas = 0;
        var inString = false;
        var blank = true;
        for (var i = 0; i < inner.Length; i++)
        {
            var c = inner[i];
            blank &= c is ' ' or '\t' or '\r' or '\n';
            if (inString)
            {
                if (c == '\\')
                {
                    // An escape as the last character leaves the string open.
                    if (i + 1 >= inner.Length)
                    {
                        return null;
                    }

                    i++;
                }
                else if (c == '"')
                {
                    inString = false;
                }

                continue;
            }

            switch (c)
            {
                case '"':
                    inString = true;
                    break;
                case '[' or '{':
                    depth++;
                    break;
                case ']' or '}':
                    if (--depth < 0)
                    {
                        return null;
                    }

                    break;
                case ',' when depth == 0:
                    commas++;
                    break;
            }
        }

        if (inString || depth != 0)
        {
            return null;
        }

        return commas > 0 || !blank ? commas + 1 : 0;
    }
}
