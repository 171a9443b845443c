using SegmentController.Capture.Rules;
using SegmentController.Capture.Tests.Support;
using SegmentController.Core.Findings;
using static SegmentController.Capture.Tests.Support.Frames;

namespace SegmentController.Capture.Tests.Rules;

/// <summary>
/// The ARP binding table is bounded without letting a flood of claims flush the bindings a spoofer
/// would want gone. Globex's VLAN 20 lists no MACs, so the flood itself raises nothing else.
/// </summary>
public sealed class ArpBindingTableTests
{
    private static readonly byte[] GlobexMac = Mac(TestPolicy.GlobexAgentMac);
    private static readonly byte[] SpooferMac = Mac("02:00:00:00:66:66");

    private static byte[] Claim(byte[] mac, string address) =>
        Ethernet(Broadcast, mac, [20], 0x0806, Arp(2, mac, address, Broadcast, address));

    private static byte[] StationMac(int i) => [0x02, 0x00, 0x00, 0x01, (byte)(i >> 8), (byte)i];

    private static void Feed(CaptureAnalyzer analyzer, byte[] frame, long ticks) => analyzer.ProcessFrame(frame, frame.Length, ticks);

    [Fact]
    public void FloodOfClaimsOutsideThePolicy_ClientHostBindingKeptSpoofDetected()
    {
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "eth-test", new CaptureAnalyzerOptions { ArpBindingCapacity = 16 });
        var t = Corpus.Start.Ticks;
        Feed(analyzer, Claim(GlobexMac, "10.20.0.21"), t);
        for (var i = 0; i < 200; i++)
        {
            Feed(analyzer, Claim(StationMac(i), $"172.16.{i / 250}.{(i % 250) + 1}"), t += 10);
        }

        Feed(analyzer, Claim(SpooferMac, "10.20.0.21"), t += 10);

        var finding = Assert.Single(analyzer.AllFindings(DateTimeOffset.UnixEpoch));
        Assert.Equal(RuleIds.ArpSpoofing, finding.Rule);
        Assert.Equal("10.20.0.21", finding.Evidence["src"]);
        Assert.Equal(["globex"], finding.Clients);
        Assert.Equal(0, analyzer.ArpClaimsUnchecked);
    }

    [Fact]
    public void FloodOfClaimsOutsideThePolicy_OldestOutsideBindingsMakeRoom()
    {
        // VLAN 20 has a third of the capacity (acme's VLAN 10 and the shared remainder the rest): 4 bindings.
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "eth-test", new CaptureAnalyzerOptions { ArpBindingCapacity = 12 });
        var t = Corpus.Start.Ticks;
        Feed(analyzer, Claim(StationMac(1), "172.16.0.1"), t);
        Feed(analyzer, Claim(StationMac(2), "172.16.0.2"), t += 10);
        Feed(analyzer, Claim(StationMac(3), "172.16.0.3"), t += 10);
        Feed(analyzer, Claim(StationMac(4), "172.16.0.4"), t += 10);
        Feed(analyzer, Claim(StationMac(5), "172.16.0.5"), t += 10);

        // 172.16.0.1 was the oldest and made room for .5, so its new claim is a first one (and makes room in
        // turn, from .2); .3 is still bound.
        Feed(analyzer, Claim(SpooferMac, "172.16.0.1"), t += 10);
        Feed(analyzer, Claim(SpooferMac, "172.16.0.3"), t += 10);

        var finding = Assert.Single(analyzer.AllFindings(DateTimeOffset.UnixEpoch));
        Assert.Equal(RuleIds.ArpSpoofing, finding.Rule);
        Assert.Equal("172.16.0.3", finding.Evidence["src"]);
    }

    [Fact]
    public void TableFullOfClientBindings_NewClaimNotRememberedReportedHeldBindingsKept()
    {
        // VLAN 20's share is a third of the capacity: 16 bindings.
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "eth-test", new CaptureAnalyzerOptions { ArpBindingCapacity = 48 });
        var t = Corpus.Start.Ticks;
        for (var i = 1; i <= 16; i++)
        {
            Feed(analyzer, Claim(StationMac(i), $"10.20.1.{i}"), t += 10);
        }

        Feed(analyzer, Claim(StationMac(17), "10.20.1.17"), t += 10);
        Feed(analyzer, Claim(StationMac(18), "10.20.1.18"), t += 10);
        Feed(analyzer, Claim(SpooferMac, "10.20.1.1"), t += 10);

        var findings = analyzer.AllFindings(DateTimeOffset.UnixEpoch);
        var spoof = Assert.Single(findings, f => f.Rule == RuleIds.ArpSpoofing);
        Assert.Equal("10.20.1.1", spoof.Evidence["src"]);
        var degraded = Assert.Single(findings, f => f.Rule == RuleIds.CaptureDegraded);
        Assert.Equal(Severity.High, degraded.Severity);
        Assert.Equal("arp-overflow", degraded.Evidence["reason"]);
        Assert.Equal(["globex"], degraded.Clients);
        Assert.Equal(20, degraded.Evidence["vlan"]);
        Assert.Equal(2L, degraded.Evidence["suppressed"]);
        Assert.Equal(true, degraded.Evidence["ongoing"]);
        Assert.Equal(2, analyzer.ArpClaimsUnchecked);
        Assert.Equal(2, findings.Count);

        // Spoofing of the addresses not remembered goes unseen: capture health says so.
        Assert.True(analyzer.Degraded);
    }

    [Fact]
    public void ClientBindingIdleBeyondTimeout_MakesRoomAndEpisodeEndsWhenRefusalsStop()
    {
        var options = new CaptureAnalyzerOptions
        {
            // VLAN 20's share: 4 bindings.
            ArpBindingCapacity = 12,
            ArpBindingIdleTimeout = TimeSpan.FromMinutes(1),
            FlowIdleTimeout = TimeSpan.FromMinutes(5),
        };
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "eth-test", options);
        var t0 = Corpus.Start.Ticks;
        for (var i = 1; i <= 4; i++)
        {
            Feed(analyzer, Claim(StationMac(i), $"10.20.1.{i}"), t0 + i);
        }

        Feed(analyzer, Claim(StationMac(5), "10.20.1.5"), t0 + TimeSpan.FromSeconds(30).Ticks);
        for (var i = 2; i <= 4; i++)
        {
            Feed(analyzer, Claim(StationMac(i), $"10.20.1.{i}"), t0 + TimeSpan.FromSeconds(90).Ticks + i);
        }

        var later = t0 + TimeSpan.FromMinutes(2).Ticks;
        Feed(analyzer, Claim(StationMac(5), "10.20.1.5"), later);
        Feed(analyzer, Claim(SpooferMac, "10.20.1.5"), later + 1);
        Feed(analyzer, Claim(SpooferMac, "10.20.1.2"), later + 2);

        var findings = analyzer.AllFindings(DateTimeOffset.UnixEpoch);
        Assert.Equal(
            ["10.20.1.2", "10.20.1.5"],
            findings.Where(f => f.Rule == RuleIds.ArpSpoofing).Select(f => (string)f.Evidence["src"]!).Order(StringComparer.Ordinal));
        var degraded = Assert.Single(findings, f => f.Rule == RuleIds.CaptureDegraded);
        Assert.Equal(true, degraded.Evidence["ongoing"]);
        Assert.Equal(1L, degraded.Evidence["suppressed"]);
        Assert.True(analyzer.Degraded);

        // Five minutes without a refused claim (the last at 30 s) end the episode.
        Feed(analyzer, Claim(StationMac(2), "10.20.1.2"), t0 + TimeSpan.FromSeconds(335).Ticks);
        degraded = Assert.Single(analyzer.AllFindings(DateTimeOffset.UnixEpoch), f => f.Rule == RuleIds.CaptureDegraded);
        Assert.Equal(false, degraded.Evidence["ongoing"]);
        Assert.Equal(1L, degraded.Evidence["suppressed"]);
        Assert.False(analyzer.Degraded);
    }

    [Fact]
    public void RefusalsUnderSustainedPressure_OneEpisode()
    {
        // VLAN 20's share: 2 bindings.
        var options = new CaptureAnalyzerOptions { ArpBindingCapacity = 6, ArpBindingIdleTimeout = TimeSpan.FromMinutes(1) };
        var analyzer = new CaptureAnalyzer(TestPolicy.Index(), "eth-test", options);
        var t = Corpus.Start.Ticks;
        var second = TimeSpan.TicksPerSecond;

        // Every 20 s a new client address is claimed while the share holds two: two are refused, then two
        // find an idle binding to replace, and so on.
        for (var i = 1; i <= 12; i++)
        {
            Feed(analyzer, Claim(StationMac(i), $"10.20.2.{i}"), t + (i * 20 * second));
        }

        var degraded = Assert.Single(analyzer.AllFindings(DateTimeOffset.UnixEpoch), f => f.Rule == RuleIds.CaptureDegraded);
        Assert.Equal(6, analyzer.ArpClaimsUnchecked);
        Assert.Equal(analyzer.ArpClaimsUnchecked, degraded.Evidence["suppressed"]);
    }

    [Fact]
    public void HundredThousandClaims_TableNeverExceedsCapacity()
    {
        var bindings = new ArpBindings(1024, TimeSpan.FromHours(1));
        for (uint i = 0; i < 100_000; i++)
        {
            Assert.False(bindings.Conflicts(20, 0xAC10_0000 + i, i, i, out var known));
            Assert.False(known);
            Assert.True(bindings.TryBind(20, 0xAC10_0000 + i, i, named: false, ArpBindings.SharedRemainder, i));
        }

        Assert.Equal(1024, bindings.Count);
        Assert.Equal(100_000 - 1024, bindings.Evicted);
    }
}
