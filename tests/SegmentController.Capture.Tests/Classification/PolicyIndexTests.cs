using System.Net;
using SegmentController.Capture.Classification;
using SegmentController.Capture.Decoding;
using SegmentController.Capture.Tests.Support;
using SegmentController.Core.Policy;

namespace SegmentController.Capture.Tests.Classification;

public sealed class PolicyIndexTests
{
    private static IpKey Ip(string text) => IpKey.From(IPAddress.Parse(text));

    private static string[] Clients(PolicyIndex index, ReadOnlySpan<int> clients)
    {
        var names = new string[clients.Length];
        for (var i = 0; i < clients.Length; i++)
        {
            names[i] = index.ClientIds[clients[i]];
        }

        return names;
    }

    [Theory]
    [InlineData("10.10.0.11", "acme")]
    [InlineData("10.20.255.255", "globex")]
    [InlineData("2001:db8:10::1", "acme")]
    [InlineData("2001:db8:20:ffff::1", "globex")]
    [InlineData("10.99.0.5", null)]
    [InlineData("8.8.8.8", null)]
    [InlineData("fe80::1", null)]
    public void AddressOwner_LongestPrefixClient(string address, string? client)
    {
        var index = TestPolicy.Index();

        var owner = index.ClientOf(index.AddressOwner(Ip(address)));

        Assert.Equal(client, owner < 0 ? null : index.ClientIds[owner]);
    }

    [Fact]
    public async Task NestedPrefixes_LongestWins()
    {
        var policy = TestPolicy.Create() with
        {
            Infrastructure = TestPolicy.Create().Infrastructure with { Subnets = [IPNetwork.Parse("10.10.5.0/24"), IPNetwork.Parse("10.0.0.0/8")] },
        };
        var index = await PolicyIndex.BuildAsync(policy, null, TimeSpan.FromSeconds(1), CancellationToken.None);

        Assert.Equal(Owners.Infrastructure, index.AddressOwner(Ip("10.10.5.7")));
        Assert.Equal("acme", index.ClientIds[index.ClientOf(index.AddressOwner(Ip("10.10.6.7")))]);
        Assert.Equal(Owners.Infrastructure, index.AddressOwner(Ip("10.30.0.1")));
    }

    [Fact]
    public async Task NestedIpv6Prefixes_LongestWins()
    {
        // acme holds 2001:db8:10::/48; infrastructure claims a /64 inside it and the whole /32 around it.
        var policy = TestPolicy.Create() with
        {
            Infrastructure = TestPolicy.Create().Infrastructure with
            {
                Subnets = [IPNetwork.Parse("2001:db8:10:5::/64"), IPNetwork.Parse("2001:db8::/32"), IPNetwork.Parse("2001:db8:10:5:1::/80")],
            },
        };
        var index = await PolicyIndex.BuildAsync(policy, null, TimeSpan.FromSeconds(1), CancellationToken.None);

        Assert.Equal(Owners.Infrastructure, index.AddressOwner(Ip("2001:db8:10:5::7")));
        Assert.Equal(Owners.Infrastructure, index.AddressOwner(Ip("2001:db8:10:5:1::9")));
        Assert.Equal("acme", index.ClientIds[index.ClientOf(index.AddressOwner(Ip("2001:db8:10:6::7")))]);
        Assert.Equal("acme", index.ClientIds[index.ClientOf(index.AddressOwner(Ip("2001:db8:10:ffff:ffff:ffff:ffff:ffff")))]);
        Assert.Equal("globex", index.ClientIds[index.ClientOf(index.AddressOwner(Ip("2001:db8:20::1")))]);
        Assert.Equal(Owners.Infrastructure, index.AddressOwner(Ip("2001:db8:30::1")));
        Assert.Equal(Owners.Unknown, index.AddressOwner(Ip("2001:db9::1")));
        Assert.Equal(Owners.Unknown, index.AddressOwner(Ip("10.30.0.1")));
    }

    [Fact]
    public async Task UpstreamAddressSharedByTwoClients_BothListed()
    {
        var policy = TestPolicy.Create();
        var globex = policy.Clients[1] with
        {
            Upstreams = [.. policy.Clients[1].Upstreams, new Upstream { Name = "saas", Hosts = ["saas.example"], Destinations = [new Uri("https://192.0.2.10/")] }],
        };
        policy = policy with { Clients = [policy.Clients[0], globex] };

        var index = await PolicyIndex.BuildAsync(policy, null, TimeSpan.FromSeconds(1), CancellationToken.None);

        Assert.Equal(["acme", "globex"], Clients(index, index.UpstreamClients(Ip("192.0.2.10"))));
    }

    [Fact]
    public void Vlans_MappedToSegmentsInfrastructureOrUnknown()
    {
        var index = TestPolicy.Index();

        Assert.Equal("acme", index.ClientIds[index.ClientOf(index.VlanOwner(10))]);
        Assert.Equal(Owners.Infrastructure, index.VlanOwner(99));
        Assert.Equal(Owners.Unknown, index.VlanOwner(300));
        Assert.Equal(Owners.Unknown, index.VlanOwner(5000));
    }

    [Fact]
    public void UpstreamLiterals_IPv4AndBracketedIPv6Resolved()
    {
        var index = TestPolicy.Index();

        Assert.Equal(["acme"], Clients(index, index.UpstreamClients(Ip("192.0.2.10"))));
        Assert.Equal(["globex"], Clients(index, index.UpstreamClients(Ip("2001:db8:ffff::20"))));
        Assert.True(index.UpstreamClients(Ip("192.0.2.11")).IsEmpty);
        Assert.True(index.IsProxy(Ip("10.99.0.5")));
        Assert.Empty(index.Warnings);
    }

    [Fact]
    public async Task UpstreamHostname_ResolvedAtBuild()
    {
        var policy = TestPolicy.Create(upstreamHost: "https://localhost/");

        var index = await PolicyIndex.BuildAsync(policy, null, TimeSpan.FromSeconds(5), CancellationToken.None);

        Assert.Equal(["acme"], Clients(index, index.UpstreamClients(Ip("127.0.0.1"))));
    }

    [Fact]
    public async Task UpstreamHostnameResolverHangs_WarningAfterTimeout()
    {
        var policy = TestPolicy.Create(upstreamHost: "https://crm.acme.invalid/");

        var index = await PolicyIndex.BuildAsync(
            policy,
            (_, ct) => Task.Delay(Timeout.Infinite, ct).ContinueWith(_ => Array.Empty<IPAddress>(), TaskScheduler.Default),
            TimeSpan.FromMilliseconds(100),
            CancellationToken.None);

        var warning = Assert.Single(index.Warnings);
        Assert.Contains("crm.acme.invalid", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnresolvableHostname_Warning()
    {
        var policy = TestPolicy.Create(upstreamHost: "https://no-such-host.invalid/");

        var index = await PolicyIndex.BuildAsync(policy, null, TimeSpan.FromSeconds(5), CancellationToken.None);

        Assert.Contains(index.Warnings, w => w.Contains("no-such-host.invalid", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SameVlanInTwoClients_FirstKeptAndWarned()
    {
        var policy = TestPolicy.Create();
        var globex = policy.Clients[1] with { Segments = [policy.Clients[1].Segments[0] with { Vlans = [10] }] };
        policy = policy with { Clients = [policy.Clients[0], globex] };

        var index = await PolicyIndex.BuildAsync(policy, null, TimeSpan.FromSeconds(1), CancellationToken.None);

        Assert.Equal("acme", index.ClientIds[index.ClientOf(index.VlanOwner(10))]);
        Assert.Contains(index.Warnings, w => w.Contains("VLAN 10", StringComparison.Ordinal));
    }

    [Fact]
    public void CaptureSettingsCarried()
    {
        var index = TestPolicy.Index(qinq: true);

        Assert.True(index.Capture.QinQ);
        Assert.IsType<SitePolicy>(index.Policy);
    }
}
