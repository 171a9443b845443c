using System.Net;
using System.Text;
using SegmentController.Core.Policy.Loading;
using SegmentController.Core.Policy.Validation;

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
    public void TwentyThousandClientsClaimingOneBlock_AreCheckedAndReportedUpToTheCap()
    {
        var facts = new PolicyFacts();
        for (var i = 0; i < 20_000; i++)
        {
            facts.Subnets.Add(new Claim<IPNetwork>($"c{i}", IPNetwork.Parse("10.0.0.0/8"), new Position(3 + i, 73)));
        }

        var diagnostics = new PolicyDiagnostics();
        new SubnetOverlapRule().Check(facts, diagnostics);

        var errors = diagnostics.ToErrors("test.yaml");
        Assert.Equal(PolicyDiagnostics.MaxErrors + 1, errors.Count);
        Assert.Equal("test.yaml:4:73: subnet 10.0.0.0/8 overlaps 10.0.0.0/8 of client 'c0' (line 3); subnets of different clients and of the infrastructure must not overlap", errors[0].ToString());
        Assert.Equal($"more than {PolicyDiagnostics.MaxErrors} errors; the rest are not shown", errors[^1].Message);
    }

    [Fact]
    public void ManyClientsClaimingNestedBlocks_PolicyIsCheckedAndReportsTheOverlaps()
    {
        // As many clients as the 200,000-value cap lets a file hold, each claiming 10.0.0.0/8 through 10.0.0.0/32.
        var yaml = new StringBuilder("site: {id: s1, name: S}\nclients:\n");
        var subnets = string.Join(", ", Enumerable.Range(8, 25).Select(p => $"10.0.0.0/{p}"));
        for (var i = 0; i < 4_000; i++)
        {
            yaml.Append(System.Globalization.CultureInfo.InvariantCulture, $"  - {{id: c{i}, name: n, contract_end: 2029-01-01, segments: [{{name: a, subnets: [{subnets}]}}]}}\n");
        }

        var result = PolicyLoaderTests.Load(yaml.ToString());

        Assert.Null(result.Policy);
        Assert.Equal(PolicyDiagnostics.MaxErrors + 1, result.Errors.Count);
        Assert.Equal("subnet 10.0.0.0/8 overlaps 10.0.0.0/8 of client 'c0' (line 3); subnets of different clients and of the infrastructure must not overlap", result.Errors[0].Message);
        Assert.Equal(4, result.Errors[0].Line);
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
