using SegmentController.Core.Policy;
using SegmentController.Core.Policy.Loading;

namespace SegmentController.Core.Tests.Policy;

public sealed class PortRangeTests
{
    [Theory]
    [InlineData("Gi1/0/1-12", "Gi1/0/1", "Gi1/0/12", 12)]
    [InlineData("ge-0/0/1-4", "ge-0/0/1", "ge-0/0/4", 4)]
    [InlineData("Ethernet1/1-4", "Ethernet1/1", "Ethernet1/4", 4)]
    [InlineData("swp1-8", "swp1", "swp8", 8)]
    [InlineData("1-24", "1", "24", 24)]
    [InlineData("eth01-12", "eth01", "eth12", 12)]
    [InlineData("Te1/1/2-2", "Te1/1/2", "Te1/1/2", 1)]
    [InlineData("swp1-1024", "swp1", "swp1024", 1024)]
    public void Range_ExpandsToEveryPort(string text, string first, string last, int count)
    {
        Assert.True(PortRangeExpander.TryExpand(text, out var ports, out var error), error);

        Assert.Equal(count, ports.Count);
        Assert.Equal(first, ports[0]);
        Assert.Equal(last, ports[^1]);
        Assert.Equal(count, ports.Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData("Gi1/0/1")]
    [InlineData("ge-0/0/1")]
    [InlineData("Port-channel1")]
    [InlineData("swp49")]
    [InlineData("24")]
    public void SinglePort_IsKeptAsWritten(string text)
    {
        Assert.True(PortRangeExpander.TryExpand(text, out var ports, out _));

        Assert.Equal([text], ports);
    }

    [Theory]
    [InlineData("Gi1/0/12-1", "runs backwards; write Gi1/0/1-12")]
    [InlineData("swp1-1025", "spans 1025 ports; at most 1024 per range")]
    [InlineData("swp1-99999999999", "too large")]
    [InlineData("Gi1/0/1 - 4", "is not a port name")]
    [InlineData("", "empty")]
    [InlineData("Gi1/0/1;reboot", "is not a port name")]
    public void BadRange_IsRejectedWithReason(string text, string reason)
    {
        Assert.False(PortRangeExpander.TryExpand(text, out var ports, out var error));

        Assert.Empty(ports);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Compress_WritesRunsBackAsRanges()
    {
        PortRangeExpander.TryExpand("Gi1/0/1-12", out var a, out _);
        PortRangeExpander.TryExpand("Gi1/0/20", out var b, out _);
        PortRangeExpander.TryExpand("Gi2/0/1-2", out var c, out _);

        Assert.Equal(["Gi1/0/1-12", "Gi1/0/20", "Gi2/0/1-2", "Port-channel1"], PortRanges.Compress([.. a, .. b, .. c, "Port-channel1"]));
    }

    [Fact]
    public void OverlappingRangesOfTwoClients_ReportTheFirstSharedPortOncePerEntry()
    {
        var result = PolicyLoaderTests.Load("""
            site: {id: s, name: S}
            switches:
              - name: sw
                address: 10.0.0.2
                snmp: {user: u, auth: {protocol: SHA-256, pass: {env: A}}}
            clients:
              - id: one
                name: One
                contract_end: 2030-01-01
                segments: [{name: s, vlans: [101], ports: [{switch: sw, ports: [ge-0/0/1-10]}]}]
              - id: two
                name: Two
                contract_end: 2030-01-01
                segments: [{name: s, vlans: [102], ports: [{switch: sw, ports: [GE-0/0/8-12]}]}]
            """);

        var error = Assert.Single(result.Errors);
        Assert.Equal(14, error.Line);
        Assert.StartsWith("port GE-0/0/8 on switch 'sw' is already assigned to client 'one' (line 10)", error.Message, StringComparison.Ordinal);
    }
}
