using SegmentController.Capture.Tests.Support;
using SegmentController.Core.Findings;
using static SegmentController.Capture.Tests.Support.Frames;

namespace SegmentController.Capture.Tests.Rules;

/// <summary>
/// ARP whose sender address is one client's and whose target address is another's: the two share a
/// broadcast domain and one reaches for the other directly — <c>cross-client-flow</c>.
/// </summary>
public sealed class ArpBetweenClientsTests
{
    private static readonly byte[] AgentMac = Mac(TestPolicy.AcmeAgentMac);
    private static readonly byte[] GlobexMac = Mac(TestPolicy.GlobexAgentMac);

    private static byte[] Request(byte[] senderMac, int[] vlans, string sender, string target) =>
        Ethernet(Broadcast, senderMac, vlans, 0x0806, Arp(1, senderMac, sender, new byte[6], target));

    private static byte[] Reply(byte[] senderMac, byte[] targetMac, int[] vlans, string sender, string target) =>
        Ethernet(targetMac, senderMac, vlans, 0x0806, Arp(2, senderMac, sender, targetMac, target));

    [Fact]
    public void UntaggedRequestAcmeForGlobexAddress_CrossClientFlowCritical()
    {
        var finding = Assert.Single(Analysis.Of([Request(AgentMac, [], "10.10.0.11", "10.20.0.21")]).Findings);

        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(Severity.Critical, finding.Severity);
        Assert.Equal(["acme", "globex"], finding.Clients);
        Assert.Equal("arp", finding.Evidence["protocol"]);
        Assert.Equal("10.10.0.11", finding.Evidence["src"]);
        Assert.Equal("10.20.0.21", finding.Evidence["dst"]);
        Assert.StartsWith("ARP between clients", finding.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void ReplyGlobexToAcmeOnGlobexVlan_CrossClientFlowCritical()
    {
        var finding = Assert.Single(Analysis.Of([Reply(GlobexMac, AgentMac, [20], "10.20.0.21", "10.10.0.11")]).Findings);

        Assert.Equal(RuleIds.CrossClientFlow, finding.Rule);
        Assert.Equal(["acme", "globex"], finding.Clients);
        Assert.Equal(20, Assert.Single((IEnumerable<int>)finding.Evidence["vlans"]!));
    }

    [Fact]
    public void RequestRepeated_OneFindingCounted()
    {
        var request = Request(AgentMac, [10], "10.10.0.11", "10.20.0.21");

        var finding = Assert.Single(Analysis.Of([request, request, request]).Findings);

        Assert.Equal(3L, finding.Evidence["packets"]);
    }

    [Fact]
    public void GratuitousArpProbeAndArpWithinAClient_NoFinding()
    {
        var frames = new[]
        {
            Request(AgentMac, [10], "10.10.0.11", "10.10.0.11"),
            Reply(AgentMac, Broadcast, [10], "10.10.0.11", "10.10.0.11"),
            Request(GlobexMac, [], "0.0.0.0", "10.10.0.11"),
            Request(GlobexMac, [20], "0.0.0.0", "10.10.0.12"),
            Request(AgentMac, [10], "10.10.0.11", "10.10.0.1"),
            Request(GlobexMac, [20], "10.20.0.21", "10.20.0.1"),
            Request(AgentMac, [], "10.10.0.11", "172.16.0.1"),
            Request(AgentMac, [], "10.10.0.11", "10.99.0.5"),
        };

        Assert.Empty(Analysis.Of(frames).Findings);
    }
}
