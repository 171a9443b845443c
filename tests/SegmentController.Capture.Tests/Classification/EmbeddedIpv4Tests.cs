using System.Net;
using SegmentController.Capture.Classification;
using SegmentController.Capture.Decoding;
using SegmentController.Capture.Tests.Support;

namespace SegmentController.Capture.Tests.Classification;

/// <summary>
/// IPv6 addresses that embed a client's IPv4 address belong to that client unless the policy's own IPv6
/// subnets say otherwise. The addresses are written out by hand from the RFCs, not by the code under
/// test: globex's host 10.20.0.21 is 0a14:0015, acme's 10.10.0.11 is 0a0a:000b.
/// </summary>
public sealed class EmbeddedIpv4Tests
{
    private static IpKey Ip(string text) => IpKey.From(IPAddress.Parse(text));

    private static string? ClientOf(PolicyIndex index, string address)
    {
        var client = index.ClientOf(index.AddressOwner(Ip(address)));
        return client < 0 ? null : index.ClientIds[client];
    }

    [Theory]
    [InlineData("::a14:15", "IPv4-compatible ::10.20.0.21")]
    [InlineData("::ffff:0:a14:15", "IPv4-translated (SIIT) ::ffff:0:10.20.0.21")]
    [InlineData("64:ff9b::a14:15", "NAT64 well-known prefix 64:ff9b::/96")]
    [InlineData("64:ff9b:1:7::a14:15", "local-use 64:ff9b:1::/48, /96 translation prefix")]
    [InlineData("64:ff9b:1:7:a:1400:1500:0", "local-use, /64 translation prefix (bits 72-103)")]
    [InlineData("64:ff9b:1:70a:14:15::", "local-use, /56 translation prefix (bits 56-63, 72-95)")]
    [InlineData("64:ff9b:1:a14:0:1500::", "local-use, /48 translation prefix (bits 48-63, 72-87)")]
    [InlineData("2002:a14:15::1", "6to4 2002:AABB:CCDD::/48")]
    [InlineData("2002:a14:15:9:1234::1", "6to4, another subnet and host of the site")]
    [InlineData("fe80::200:5efe:a14:15", "ISATAP ::200:5efe:a.b.c.d, link-local")]
    [InlineData("fe80::5efe:a14:15", "ISATAP ::0:5efe:a.b.c.d, link-local")]
    [InlineData("2001:0:cb00:7101:8000:f227:f5eb:ffea", "Teredo, client address stored inverted")]
    public void AddressEmbedsGlobexIpv4_OwnedByGlobex(string address, string form)
    {
        Assert.True(ClientOf(TestPolicy.Index(), address) == "globex", form);
    }

    [Fact]
    public void IsatapIdUnderAnotherClientsSixToFourPrefix_HostAddressFirst()
    {
        // The 6to4 prefix names acme's router (10.10.0.11); the interface id names globex's host, the end of the packet.
        Assert.Equal("globex", ClientOf(TestPolicy.Index(), "2002:a0a:b:1:0:5efe:a14:15"));
    }

    [Fact]
    public void IsatapIdUnderTheSixToFourPrefixOfTheSitesInfrastructureRouter_TheHostsClient()
    {
        // The site's own 6to4 router (10.99.0.1, infrastructure) serves ISATAP hosts of the site.
        Assert.Equal("globex", ClientOf(TestPolicy.Index(), "2002:a63:1:1:0:5efe:a14:15"));
    }

    [Theory]
    [InlineData("64:ff9b::808:808", "NAT64 of an Internet host")]
    [InlineData("2002:808:808::1", "6to4 of an Internet router")]
    [InlineData("2001:0:cb00:7101:8000:f227:f7f7:f7f7", "Teredo of an Internet host (8.8.8.8)")]
    [InlineData("::", "unspecified (0.0.0.0 is no host)")]
    [InlineData("::1", "loopback (0.0.0.1 is no host)")]
    [InlineData("64:ff9b:1:0:ff0a:1400:1500:0", "local-use with bits 64-71 set: no RFC 6052 layout")]
    [InlineData("64:ff9b:1::a14:15:0", "local-use /96 reading 0.21.0.0 is no host")]
    [InlineData("2001:db8:77:1:0:5eff:a14:15", "not an ISATAP interface id")]
    [InlineData("2001:db8:77:1:0:5efe:a14:15", "ISATAP id under a /64 the policy does not hold: another site's, whose private IPv4 plan is its own")]
    [InlineData("2002:808:808:1:0:5efe:a14:15", "ISATAP id under the 6to4 prefix of an Internet router: that site's host")]
    [InlineData("fe80::a14:15", "link-local: the low 32 bits alone embed nothing")]
    [InlineData("64:ff9b:0:0:1::a14:15", "inside 64:ff9b::/32 but outside the /96 well-known prefix")]
    public void EmbeddedAddressNoClientHolds_Unknown(string address, string form)
    {
        Assert.True(ClientOf(TestPolicy.Index(), address) is null, form);
    }

    [Fact]
    public async Task PolicyListsTheIpv6Prefix_PolicyWinsOverEmbeddedAddress()
    {
        // 2002:a0a:b::/48 embeds acme's 10.10.0.11, but the policy gives the prefix to globex; 64:ff9b::/96
        // embeds globex's 10.20.0.21 everywhere, but the policy puts the translator in infrastructure.
        var policy = TestPolicy.Create();
        var globex = policy.Clients[1];
        var segment = globex.Segments[0] with { Subnets = [.. globex.Segments[0].Subnets, IPNetwork.Parse("2002:a0a:b::/48")] };
        policy = policy with
        {
            Clients = [policy.Clients[0], globex with { Segments = [segment] }],
            Infrastructure = policy.Infrastructure with { Subnets = [.. policy.Infrastructure.Subnets, IPNetwork.Parse("64:ff9b::/96")] },
        };
        var index = await PolicyIndex.BuildAsync(policy, null, TimeSpan.FromSeconds(1), CancellationToken.None);

        Assert.Equal("globex", ClientOf(index, "2002:a0a:b::1"));
        Assert.Equal(Owners.Infrastructure, index.AddressOwner(Ip("64:ff9b::a14:15")));
        Assert.Equal("acme", ClientOf(index, "2002:a0a:c::1"));
        Assert.Equal("acme", ClientOf(TestPolicy.Index(), "2002:a0a:b::1"));
    }

    [Fact]
    public void DirectAddressOwner_ReadsNoEmbeddedForm()
    {
        var index = TestPolicy.Index();

        Assert.Equal(Owners.Unknown, index.DirectAddressOwner(Ip("64:ff9b::a14:15")));
        Assert.Equal("globex", ClientOf(index, "64:ff9b::a14:15"));
    }
}
