namespace SegmentController.Core.Tests.Policy;

public sealed class SubnetOverlapTests
{
    [Theory]
    [InlineData("10.1.0.0/24", "10.1.0.128/25")]
    [InlineData("10.1.0.0/24", "10.1.0.0/24")]
    [InlineData("10.1.0.0/24", "10.0.0.0/8")]
    [InlineData("10.1.0.0/24", "10.1.0.7/32")]
    [InlineData("172.16.0.0/12", "172.31.255.0/24")]
    [InlineData("\"2001:db8:1::/48\"", "\"2001:db8:1:ff::/64\"")]
    [InlineData("\"2001:db8::/32\"", "\"2001:db8:abcd::/48\"")]
    [InlineData("\"fd00:1::/64\"", "\"fd00:1::/64\"")]
    [InlineData("\"2001:db8:8000::/33\"", "\"2001:db8:ffff::/48\"")]
    public void SubnetsOfTwoClients_Overlapping_AreReportedAtTheLaterOne(string first, string second)
    {
        var result = PolicyLoaderTests.Load(PolicyLoaderTests.WithClientSubnets(first, second));

        var overlaps = result.Errors.Where(e => e.Message.Contains(" overlaps ", StringComparison.Ordinal)).ToList();
        var error = Assert.Single(overlaps);
        Assert.Equal(13, error.Line);
        Assert.Contains("of client 'one' (line 12)", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.1.0.0/24", "10.1.1.0/24")]
    [InlineData("10.1.0.0/25", "10.1.0.128/25")]
    [InlineData("10.255.255.255/32", "11.0.0.0/8")]
    [InlineData("\"2001:db8:1::/48\"", "\"2001:db8:2::/48\"")]
    [InlineData("\"fd00:1::/64\"", "\"fd00:1:0:1::/64\"")]
    [InlineData("10.1.0.0/16", "\"::ffff:0:0/96\"")]
    public void SubnetsOfTwoClients_Disjoint_AreAccepted(string first, string second)
    {
        var result = PolicyLoaderTests.Load(PolicyLoaderTests.WithClientSubnets(first, second));

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
    }

    [Fact]
    public void OneClientRepeatingASubnetThousandsOfTimes_Accepted_AndAnotherClientInsideItStillReportedOnce()
    {
        var repeated = string.Join(", ", Enumerable.Repeat("10.0.0.0/8", 20_000));

        Assert.True(PolicyLoaderTests.Load(PolicyLoaderTests.WithClientSubnets(repeated, "172.16.0.0/12")).IsValid);

        var result = PolicyLoaderTests.Load(PolicyLoaderTests.WithClientSubnets(repeated, "10.1.0.0/16"));
        var error = Assert.Single(result.Errors);
        Assert.Contains("subnet 10.1.0.0/16 overlaps 10.0.0.0/8 of client 'one'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SubnetsOfOneClient_Nested_AreAccepted()
    {
        var result = PolicyLoaderTests.Load(PolicyLoaderTests.WithClientSubnets("10.1.0.0/16, 10.1.2.0/24", "10.2.0.0/16"));

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
    }

    [Theory]
    [InlineData("192.168.0.128/25")]
    [InlineData("\"fd00:ffff::/48\"")]
    public void ClientSubnet_InsideInfrastructure_IsReported(string subnet)
    {
        var result = PolicyLoaderTests.Load(PolicyLoaderTests.WithClientSubnets("10.1.0.0/24", subnet));

        var error = Assert.Single(result.Errors);
        Assert.Contains("of the infrastructure (line 2)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OneSubnetOverlappingTwoClients_IsReportedAgainstEach()
    {
        var result = PolicyLoaderTests.Load(PolicyLoaderTests.WithClientSubnets("10.1.0.0/24, 10.2.0.0/24", "10.0.0.0/14"));

        Assert.Equal(2, result.Errors.Count);
        Assert.All(result.Errors, e => Assert.Contains("subnet 10.0.0.0/14 overlaps", e.Message, StringComparison.Ordinal));
    }
}
