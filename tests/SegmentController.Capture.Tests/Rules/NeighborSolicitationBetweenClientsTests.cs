using System.Net;
using SegmentController.Capture.Tests.Support;
using SegmentController.Core.Findings;
using static SegmentController.Capture.Tests.Support.Frames;

namespace SegmentController.Capture.Tests.Rules;

/// <summary>
/// An ICMPv6 neighbour solicitation is IPv6's ARP request: sent to a solicited-node group, it resolves its target
/// address. One client's segment soliciting another client's address shares a link with it and reaches for it
/// directly — <c>cross-client-flow</c>, as ARP between clients is.
/// </summary>
public sealed class NeighborSolicitationBetweenClientsTests
{
    private static readonly byte[] AgentMac = Mac(TestPolicy.AcmeAgentMac);
    private static readonly byte[] GlobexMac = Mac(TestPolicy.GlobexAgentMac);

    /// <summary>A neighbour solicitation for <paramref name="target"/>, sent to its solicited-node group.</summary>
    private static byte[] Solicit(byte[] senderMac, int[] vlans, string source, string target)
    {
        var message = new byte[32];
        message[0] = 135;
        IPAddress.Parse(target).TryWriteBytes(message.AsSpan(8), out _);
        message[24] = 1;
        message[25] = 1;
        senderMac.CopyTo(message, 26);
        var targetBytes = IPAddress.Parse(target).GetAddressBytes();
        var group = $"ff02::1:ff{targetBytes[13]:x2}:{targetBytes[14]:x2}{targetBytes[15]:x2}";
        var groupMac = new byte[] { 0x33, 0x33, 0xff, targetBytes[13], targetBytes[14], targetBytes[15] };
        var packet = Ipv6(source, group, 58, message);
        packet[7] = 255;
        return Ethernet(groupMac, senderMac, vlans, 0x86DD, packet);
    }

    public static TheoryData<string, int[]> AcmeSources() => new()
    {
        { "2001:db8:10::11", [10] },
        { "2001:db8:10::11", [] },
        // A link-local source names no client: acme's VLAN says whose segment solicits.
        { "fe80::200:ff:fe00:1001", [10] },
    };

    [Theory]
    [MemberData(nameof(AcmeSources))]
    public void AcmeSolicitsGlobexAddress_CrossClientFlowCritical(string source, int[] vlans)
    {
        var report = Analysis.Of([Solicit(AgentMac, vlans, source, "2001:db8:20::21")]);

        Assert.Equal(0, report.DecodeErrors);
        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(Severity.Critical, finding.Severity);
        Assert.Equal(["acme", "globex"], finding.Clients);
        Assert.Equal("icmpv6", finding.Evidence["protocol"]);
        Assert.Equal(source, finding.Evidence["src"]);
        Assert.Equal("2001:db8:20::21", finding.Evidence["dst"]);
        Assert.StartsWith("Neighbour solicitation between clients", finding.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void SolicitationsForTwoTargetsSharingASolicitedNodeGroup_TheForeignOneStillJudged()
    {
        // 2001:db8:10::21 and 2001:db8:20::21 share ff02::1:ff00:21: the first must not settle the second.
        var report = Analysis.Of([Solicit(AgentMac, [10], "2001:db8:10::11", "2001:db8:10::21"), Solicit(AgentMac, [10], "2001:db8:10::11", "2001:db8:20::21")]);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal("2001:db8:20::21", finding.Evidence["dst"]);
    }

    [Fact]
    public void DuplicateAddressDetectionAndSolicitationsWithinAClient_NoFinding()
    {
        var frames = new[]
        {
            // Duplicate address detection (from ::) resolves nobody, as an ARP probe does not.
            Solicit(AgentMac, [10], "::", "2001:db8:20::21"),
            Solicit(AgentMac, [10], "2001:db8:10::11", "2001:db8:10::1"),
            Solicit(AgentMac, [10], "fe80::200:ff:fe00:1001", "fe80::1"),
            Solicit(GlobexMac, [20], "2001:db8:20::21", "2001:db8:20::1"),
            Solicit(AgentMac, [10], "2001:db8:10::11", "2001:db8:99::53"),
        };

        var report = Analysis.Of(frames);

        Assert.Equal(0, report.DecodeErrors);
        Assert.Empty(report.Findings);
    }
}
