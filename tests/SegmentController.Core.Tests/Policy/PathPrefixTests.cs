using SegmentController.Core.Policy;

namespace SegmentController.Core.Tests.Policy;

public sealed class PathPrefixTests
{
    [Theory]
    [InlineData("/")]
    [InlineData("/api")]
    [InlineData("/api/v1/")]
    [InlineData("/a-b_c.d~e")]
    [InlineData("/a:b@c!$&'()*+,;=")]
    [InlineData("/v1.2/reports")]
    public void Problem_PlainPath_None(string prefix) => Assert.Null(PathPrefix.Problem(prefix));

    [Theory]
    [InlineData("/x//y", "empty segment")]
    [InlineData("//", "empty segment")]
    [InlineData("/api//", "empty segment")]
    [InlineData("/ws?x", "'?'")]
    [InlineData("/a{id", "'{'")]
    [InlineData("/a}b", "'}'")]
    [InlineData("/{**rest}", "'{'")]
    [InlineData("/a#b", "'#'")]
    [InlineData("/a\\b", "'\\'")]
    [InlineData("/a/../b", "'..' segment")]
    [InlineData("/./a", "'.' segment")]
    [InlineData("/caf%C3%A9", "'%'")]
    [InlineData("/café", "'é'")]
    [InlineData("/a b", "space or control")]
    [InlineData("/a\tb", "space or control")]
    [InlineData("api", "start with '/'")]
    [InlineData("", "start with '/'")]
    public void Problem_NotAPlainPath_SaysWhy(string prefix, string why)
    {
        var problem = PathPrefix.Problem(prefix);

        Assert.NotNull(problem);
        Assert.Contains(why, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Problem_TooLong_SaysSo()
    {
        Assert.Null(PathPrefix.Problem("/" + new string('a', PathPrefix.MaxLength - 1)));
        Assert.Contains("longer than 1024", PathPrefix.Problem("/" + new string('a', PathPrefix.MaxLength)), StringComparison.Ordinal);
    }
}
