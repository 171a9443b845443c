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
