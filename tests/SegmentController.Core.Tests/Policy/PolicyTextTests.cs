using SegmentController.Core.Policy.Loading;

namespace SegmentController.Core.Tests.Policy;

public sealed class PolicyTextTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("30s", 30_000)]
    [InlineData("5m", 300_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("7d", 604_800_000)]
    [InlineData("1h30m", 5_400_000)]
    public void Duration_ParsesUnits(string text, long milliseconds)
    {
        Assert.True(DurationText.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [Theory]
    [InlineData("5")]
    [InlineData("5 minutes")]
    [InlineData("-5s")]
    [InlineData("1.5h")]
    [InlineData("5M")]
    [InlineData("400d")]
    [InlineData("99999999999999999999s")]
    [InlineData("")]
    public void Duration_RejectsWhatIsNotOne(string text)
    {
        Assert.False(DurationText.TryParse(text, out _));
    }

    [Theory]
    [InlineData("vlan", "vlans")]
    [InlineData("VLANs", "vlans")]
    [InlineData("subnet", "subnets")]
    [InlineData("contractend", "contract_end")]
    [InlineData("contract-end", "contract_end")]
    [InlineData("upstream", "upstreams")]
    public void KeySuggester_FindsTheIntendedKey(string typed, string intended)
    {
        string[] known = ["name", "vlans", "subnets", "ports", "macs", "contract_end", "upstreams", "id"];

        Assert.Equal(intended, KeySuggester.Suggest(typed, known));
    }

    [Fact]
    public void KeySuggester_StaysQuietForUnrelatedWords()
    {
        Assert.Null(KeySuggester.Suggest("location", ["name", "vlans", "subnets", "ports"]));
    }

    [Theory]
    [InlineData("00:1b:21:3a:4f:01")]
    [InlineData("00-1B-21-3A-4F-01")]
    [InlineData("001b.213a.4f01")]
    [InlineData("001b213a4f01")]
    public void Mac_AcceptsTheUsualNotations(string text)
    {
        Assert.True(NetworkText.TryParseMac(text, out var mac, out _));
        Assert.Equal("00:1b:21:3a:4f:01", NetworkText.FormatMac(mac));
    }

    [Theory]
    [InlineData("10")]
    [InlineData("10.1")]
    [InlineData("10.0.0.256")]
    [InlineData("010.0.0.1.")]
    [InlineData("fe80::1%eth0")]
    [InlineData("host.example")]
    public void Address_RejectsShorthandAndJunk(string text)
    {
        Assert.False(NetworkText.TryParseAddress(text, out _));
    }

    [Theory]
    [InlineData("010.1.0.0")]
    [InlineData("10.01.0.1")]
    [InlineData("10.0.0.00")]
    [InlineData("192.168.001.1")]
    [InlineData("::ffff:010.0.0.1")]
    public void Address_WithAnOctetWrittenWithALeadingZero_IsRefusedNotReadAsOctal(string text)
    {
        Assert.False(NetworkText.TryParseAddress(text, out _));
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("10.0.0.10")]
    [InlineData("100.64.0.1")]
    public void Address_WithZeroOctets_IsRead(string text)
    {
        Assert.True(NetworkText.TryParseAddress(text, out var address));
        Assert.Equal(text, address.ToString());
    }

    [Theory]
    [InlineData("010.1.0.0/24")]
    [InlineData("10.1.0.00/24")]
    public void Subnet_WithAnOctetWrittenWithALeadingZero_IsRefusedNamingTheValue(string text)
    {
        Assert.False(NetworkText.TryParseSubnet(text, out _, out var error));
        Assert.Equal($"subnet '{text}' {NetworkText.LeadingZeroProblem}", error);
    }

    [Theory]
    [InlineData("5s\n")]
    [InlineData("1h30m\n")]
    public void Duration_WithATrailingLineBreak_IsRefused(string text)
    {
        Assert.False(DurationText.TryParse(text, out _));
    }
}
