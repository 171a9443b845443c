using SegmentController.Capture.Tests.Support;
using SegmentController.Core.Findings;
using static SegmentController.Capture.Tests.Support.Frames;

namespace SegmentController.Capture.Tests.Rules;

/// <summary>
/// A priority tag (VID 0) outside a VLAN tag keeps one VLAN id, but it is two tag headers: the
/// double-tagging hop with the outer tag a priority tag, taken by the switch for its port's VLAN. A
/// priority tag inside the innermost VLAN tag, or priority tags alone, hop nowhere.
/// </summary>
public sealed class PriorityTagStackTests
{
    // globex's own addresses: the frame breaks no address rule, only its tag stack gives it away.
    private static byte[] GlobexSpoofed(int[] vlans, ushort[]? tpids = null) =>
        Ethernet(Mac(TestPolicy.GlobexAgentMac), Mac(TestPolicy.AcmeAgentMac), vlans, 0x0800, Ipv4("10.20.0.99", "10.20.0.21", 17, Udp(5000, 6000, new byte[16])), tpids: tpids);

    public static TheoryData<int[], ushort[]> Stacks() => new()
    {
        { [0, 20], [0x8100, 0x8100] },
        { [0, 20], [0x88A8, 0x8100] },
        { [0, 20], [0x9100, 0x8100] },
        { [0, 0, 20], [0x8100, 0x8100, 0x8100] },
    };

    [Theory]
    [MemberData(nameof(Stacks))]
    public void PriorityTagStackedWithClientVlan_VlanHoppingCritical(int[] vlans, ushort[] tpids)
    {
        var report = Analysis.Of([GlobexSpoofed(vlans, tpids)]);

        Assert.Equal(0, report.DecodeErrors);
        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.VlanHopping, finding.Rule);
        Assert.Equal(Severity.Critical, finding.Severity);
        Assert.Equal(["globex"], finding.Clients);
        Assert.Equal(new[] { 20 }, finding.Evidence["vlans"]);
        Assert.Equal(vlans.Length, finding.Evidence["vlan_depth"]);
        Assert.False(finding.Evidence.ContainsKey("vlans_truncated"));
        Assert.Contains($"{vlans.Length} deep, priority tags included", finding.Summary, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { 20, 0 })]
    [InlineData(new[] { 20, 0, 0 })]
    [InlineData(new[] { 0, 0 })]
    public void PriorityTagsInsideTheInnermostVlanTagOrAlone_NoFinding(int[] vlans)
    {
        // A device's priority-tagged frame tagged again by the switch (20/0), or priority tags alone: once the
        // outer tag is taken off, a priority tag means the VLAN the frame is already in.
        Assert.Empty(Analysis.Of([GlobexSpoofed(vlans)]).Findings);
    }

    [Fact]
    public void PriorityTagInsideAStackOfTwoVlans_StillVlanHopping()
    {
        var finding = Assert.Single(Analysis.Of([GlobexSpoofed([10, 0, 20])]).Findings);

        Assert.Equal(RuleIds.VlanHopping, finding.Rule);
        Assert.Equal(new[] { 10, 20 }, finding.Evidence["vlans"]);
        Assert.Equal(3, finding.Evidence["vlan_depth"]);
    }

    [Fact]
    public void SameFlowTaggedThenBehindPriorityTag_TheStackedFrameJudgedApart()
    {
        var report = Analysis.Of([GlobexSpoofed([20]), GlobexSpoofed([0, 20])]);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(RuleIds.VlanHopping, finding.Rule);
        Assert.Equal(1L, finding.Evidence["packets"]);
    }

    [Fact]
    public void SinglePriorityTag_NoFinding()
    {
        Assert.Empty(Analysis.Of([GlobexSpoofed([0])]).Findings);
    }

    [Fact]
    public void PriorityTagStackSiteRunsQinQ_NoVlanHopping()
    {
        Assert.Empty(Analysis.Of([GlobexSpoofed([0, 20])], TestPolicy.Index(qinq: true)).Findings);
    }
}
