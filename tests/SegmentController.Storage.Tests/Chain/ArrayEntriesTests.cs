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
}
