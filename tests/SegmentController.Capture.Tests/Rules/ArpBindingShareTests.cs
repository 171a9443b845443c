using System.Net;
using SegmentController.Capture.Classification;
using SegmentController.Capture.Decoding;
using SegmentController.Capture.Rules;
using SegmentController.Capture.Tests.Support;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using static SegmentController.Capture.Tests.Support.Frames;

namespace SegmentController.Capture.Tests.Rules;

/// <summary>
/// Each client VLAN has its own share of the ARP binding table, and every other VLAN draws on the shared
/// remainder: a flood of claims in one VLAN fills only its share, and the overflow it causes names the
/// clients of that VLAN alone. With a capacity of 30 and the corpus site's two client VLANs (acme's 10,
/// globex's 20), each share and the remainder hold 10 bindings.
/// </summary>
public sealed class ArpBindingShareTests
{
    private const int Capacity = 30;
    private static readonly byte[] GlobexMac = Mac(TestPolicy.GlobexAgentMac);
    private static readonly byte[] SpooferMac = Mac("02:00:00:00:66:66");

    private static byte[] Claim(byte[] mac, string address, params int[] vlans) =>
        Ethernet(Broadcast, mac, vlans, 0x0806, Arp(2, mac, address, Broadcast, address));

    private static byte[] StationMac(int i) => [0x02, 0x00, 0x00, 0x01, (byte)(i >> 8), (byte)i];

    private static void Feed(CaptureAnalyzer analyzer, byte[] frame, long ticks) => analyzer.ProcessFrame(frame, frame.Length, ticks);

    private static CaptureAnalyzer NewAnalyzer(PolicyIndex? index = null, int maxDegraded = 256) =>
        new(index ?? TestPolicy.Index(), "eth-test", new CaptureAnalyzerOptions { ArpBindingCapacity = Capacity, MaxDegradedEvents = maxDegraded });

    /// <summary>Claims of acme's own addresses (named by the policy, so never pushed out while live) on <paramref name="vlans"/>.</summary>
    private static long Flood(CaptureAnalyzer analyzer, long t, int count, string prefix, params int[] vlans)
    {
        for (var i = 1; i <= count; i++)
        {
            Feed(analyzer, Claim(StationMac(i), $"{prefix}.{i / 250}.{(i % 250) + 1}", vlans), t += 10);
        }

        return t;
    }

    private static PolicyIndex IndexOf(SitePolicy policy) =>
        PolicyIndex.BuildAsync(policy, null, TimeSpan.FromSeconds(2), CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>The corpus site with a third client, initech, on VLAN 30 (10.30.0.0/16).</summary>
    private static SitePolicy WithInitech()
    {
        var site = TestPolicy.Create();
        return site with
        {
            Clients =
            [
                .. site.Clients,
                new ClientDefinition
                {
                    Id = "initech",
                    Name = "Initech",
                    ContractEnd = new DateOnly(2030, 1, 1),
                    Segments = [new Segment { Name = "agents", Vlans = [30], Subnets = [IPNetwork.Parse("10.30.0.0/16")] }],
                },
            ],
        };
    }

    [Fact]
    public void FloodInOneClientVlan_FillsOnlyItsShare_OverflowNamesThatClientAlone()
    {
        var analyzer = NewAnalyzer();
        var t = Flood(analyzer, Corpus.Start.Ticks, 200, "10.10", 10);

        // Globex's new host is still remembered: a later conflicting claim of its address is spoofing.
        Feed(analyzer, Claim(GlobexMac, "10.20.0.21", 20), t += 10);
        Feed(analyzer, Claim(SpooferMac, "10.20.0.21", 20), t += 10);

        var findings = analyzer.AllFindings(DateTimeOffset.UnixEpoch);
        var spoof = Assert.Single(findings, f => f.Rule == RuleIds.ArpSpoofing);
        Assert.Equal("10.20.0.21", spoof.Evidence["src"]);
        Assert.Equal(["globex"], spoof.Clients);

        var degraded = Assert.Single(findings, f => f.Rule == RuleIds.CaptureDegraded);
        Assert.Equal(["acme"], degraded.Clients);
        Assert.Equal("arp-overflow", degraded.Evidence["reason"]);
        Assert.Equal(10, degraded.Evidence["vlan"]);
        Assert.Equal(false, degraded.Evidence["shared"]);
        Assert.Equal(190L, degraded.Evidence["suppressed"]);
        Assert.Equal("eth-test", degraded.Evidence["interface"]);
        Assert.Contains("VLAN 10 (acme)", degraded.Summary, StringComparison.Ordinal);
        Assert.Equal(190, analyzer.ArpClaimsUnchecked);
        Assert.True(analyzer.Degraded);
    }

    [Fact]
    public void FloodInAVlanNoClientNames_FillsTheRemainder_OverflowStaysSiteWide()
    {
        var analyzer = NewAnalyzer();

        // A host on an unknown VLAN claims acme's addresses: bindings the policy names, so none makes room.
        var t = Flood(analyzer, Corpus.Start.Ticks, 50, "10.10", 555);
        Feed(analyzer, Claim(GlobexMac, "10.20.0.21", 20), t += 10);
        Feed(analyzer, Claim(SpooferMac, "10.20.0.21", 20), t += 10);

        var findings = analyzer.AllFindings(DateTimeOffset.UnixEpoch);
        Assert.Single(findings, f => f.Rule == RuleIds.ArpSpoofing && (string?)f.Evidence["src"] == "10.20.0.21");
        var degraded = Assert.Single(findings, f => f.Rule == RuleIds.CaptureDegraded);
        Assert.Empty(degraded.Clients);
        Assert.Equal(555, degraded.Evidence["vlan"]);
        Assert.Equal(true, degraded.Evidence["shared"]);
        Assert.Equal(40L, degraded.Evidence["suppressed"]);
    }

    [Fact]
    public void StackedTagsFromAClientVlan_CountInTheOutermostClientVlansShare()
    {
        var analyzer = NewAnalyzer();

        // A host on acme's VLAN 10 puts globex's VLAN 20 inside its own: the outer tag is the switch's.
        var t = Flood(analyzer, Corpus.Start.Ticks, 40, "10.20", 10, 20);
        Feed(analyzer, Claim(GlobexMac, "10.20.7.21", 20), t += 10);
        Feed(analyzer, Claim(SpooferMac, "10.20.7.21", 20), t += 10);

        var findings = analyzer.AllFindings(DateTimeOffset.UnixEpoch);
        Assert.Single(findings, f => f.Rule == RuleIds.ArpSpoofing && (string?)f.Evidence["src"] == "10.20.7.21");
        var degraded = Assert.Single(findings, f => f.Rule == RuleIds.CaptureDegraded);
        Assert.Equal(["acme"], degraded.Clients);
        Assert.Equal(10, degraded.Evidence["vlan"]);
    }

    [Fact]
    public void EveryShareOverflowing_OneOpenEpisodeEach_NoneDroppedBeyondTheEpisodeCap()
    {
        var analyzer = NewAnalyzer(maxDegraded: 2);
        var t = Flood(analyzer, Corpus.Start.Ticks, 11, "10.10", 10);
        t = Flood(analyzer, t, 11, "10.20", 20);
        Flood(analyzer, t, 11, "10.99", 99);

        var degraded = analyzer.AllFindings(DateTimeOffset.UnixEpoch).Where(f => f.Rule == RuleIds.CaptureDegraded).ToArray();
        Assert.Equal(3, degraded.Length);
        Assert.Equal(["acme"], degraded.Single(d => (int)d.Evidence["vlan"]! == 10).Clients);
        Assert.Equal(["globex"], degraded.Single(d => (int)d.Evidence["vlan"]! == 20).Clients);
        Assert.Empty(degraded.Single(d => (int)d.Evidence["vlan"]! == 99).Clients);
        Assert.All(degraded, d => Assert.Equal(1L, d.Evidence["suppressed"]));
    }

    [Fact]
    public void ThousandsOfVlanIdsAndStacks_MemoryStaysWithinCapacityAndEachShareWithinItsSize()
    {
        var bindings = new ArpBindings(64, TimeSpan.FromHours(1));
        bindings.Configure([10, 20]);
        var frame = default(DecodedFrame);
        var random = new Random(7);
        long ticks = 1;
        for (var round = 0; round < 3; round++)
        {
            for (var vlan = 1; vlan < ArpBindings.VlanIds; vlan++)
            {
                // Single tags of every id, then QinQ stacks of up to 8 tags in any order.
                frame.VlanCount = round == 0 ? 1 : random.Next(1, FrameDecoder.MaxVlanTags + 1);
                frame.Vlans[0] = (ushort)vlan;
                for (var i = 1; i < frame.VlanCount; i++)
                {
                    frame.Vlans[i] = (ushort)random.Next(1, ArpBindings.VlanIds);
                }

                var share = bindings.ShareOf(in frame);
                var address = 0x0A0A_0000u + (uint)((round * ArpBindings.VlanIds) + vlan);
                if (!bindings.Conflicts(frame.InnerVlan, address, (ulong)vlan, ticks, out var known) && !known)
                {
                    bindings.TryBind(frame.InnerVlan, address, (ulong)vlan, named: vlan % 2 == 0, share, ticks++);
                }

                Assert.InRange(bindings.Count, 0, 64);
            }
        }

        Assert.Equal(21, bindings.VlanShareSize);
        Assert.Equal(22, bindings.SizeOf(ArpBindings.SharedRemainder));
        Assert.InRange(bindings.CountIn(10), 1, 21);
        Assert.InRange(bindings.CountIn(20), 1, 21);
        Assert.InRange(bindings.CountIn(ArpBindings.SharedRemainder), 1, 22);
        Assert.Equal(bindings.Count, bindings.CountIn(10) + bindings.CountIn(20) + bindings.CountIn(ArpBindings.SharedRemainder));
        Assert.Equal(0, bindings.SizeOf(555));
    }

    [Fact]
    public void ReloadAddsAClientVlan_NewVlanGetsItsRoomFromTheExcessHeldBindingsStillChecked()
    {
        var analyzer = NewAnalyzer();
        var t = Corpus.Start.Ticks;

        // Every share full of live bindings the policy names: 10 of acme's, 10 of globex's, 10 on VLAN 30,
        // which no client segment names yet (the remainder).
        t = Flood(analyzer, t, 10, "10.10", 10);
        t = Flood(analyzer, t, 10, "10.20", 20);
        t = Flood(analyzer, t, 10, "10.30", 30);
        Assert.DoesNotContain(analyzer.AllFindings(DateTimeOffset.UnixEpoch), f => f.Rule == RuleIds.CaptureDegraded);

        // Initech's VLAN 30 gets a share of its own (the three client VLANs' subnets are alike, /16s: 7, 8 and 8
        // of 30 for VLANs 10, 20 and 30, the remainder keeping its least, 7): bindings already held stay
        // where they were made, and the shares now larger than their size give room back as it is needed.
        analyzer.UpdatePolicy(IndexOf(WithInitech()));
        Feed(analyzer, Claim(StationMac(500), "10.30.9.1", 30), t += 10);
        Feed(analyzer, Claim(SpooferMac, "10.30.9.1", 30), t += 10);

        // A binding held before the reload (the newest of acme's, so not yet given back) is still checked.
        Feed(analyzer, Claim(SpooferMac, "10.10.0.11", 10), t += 10);

        var findings = analyzer.AllFindings(DateTimeOffset.UnixEpoch);
        Assert.Equal(
            ["10.10.0.11", "10.30.9.1"],
            findings.Where(f => f.Rule == RuleIds.ArpSpoofing).Select(f => (string)f.Evidence["src"]!).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(findings, f => f.Rule == RuleIds.CaptureDegraded);

        // Initech's share fills at 8 and its overflow names initech alone. The room its claims took came from
        // the remainder's unnamed bindings first (3), then from live hosts of acme (3) and globex (2): those
        // are verification lost, on record under their own clients.
        for (var i = 2; i <= 9; i++)
        {
            Feed(analyzer, Claim(StationMac(500 + i), $"10.30.9.{i}", 30), t += 10);
        }

        var degraded = analyzer.AllFindings(DateTimeOffset.UnixEpoch).Where(f => f.Rule == RuleIds.CaptureDegraded).ToArray();
        Assert.Equal(
            [("acme", 10, 0L, 3L), ("globex", 20, 0L, 2L), ("initech", 30, 1L, 0L)],
            degraded.Select(d => (Assert.Single(d.Clients), (int)d.Evidence["vlan"]!, (long)d.Evidence["suppressed"]!, (long)d.Evidence["bindings_lost"]!)).Order());
    }

    [Fact]
    public void ReloadShrinksAShareFullOfLiveHosts_BindingGivenBack_IsOnRecordAsThatClientsArpOverflow()
    {
        var analyzer = NewAnalyzer();
        var t = Corpus.Start.Ticks;

        // Acme's and globex's shares full of live hosts; the remainder full of addresses no subnet holds.
        t = Flood(analyzer, t, 10, "10.10", 10);
        t = Flood(analyzer, t, 10, "10.20", 20);
        t = Flood(analyzer, t, 10, "172.16", 555);

        // Initech's VLAN 30 takes 8 of 30: acme's share shrinks to 7 and globex's to 8. Initech's first three
        // hosts take the remainder's unnamed bindings, the fourth acme's oldest host, alive a moment ago.
        analyzer.UpdatePolicy(IndexOf(WithInitech()));
        for (var i = 1; i <= 3; i++)
        {
            Feed(analyzer, Claim(StationMac(500 + i), $"10.30.9.{i}", 30), t += 10);
        }

        Assert.DoesNotContain(analyzer.AllFindings(DateTimeOffset.UnixEpoch), f => f.Rule == RuleIds.CaptureDegraded);
        Feed(analyzer, Claim(StationMac(504), "10.30.9.4", 30), t += 10);

        // Until that host claims its address again, a different MAC claiming it would be bound fresh, not
        // found spoofing: the record says acme's verification was lost, and under suspend acme is suspended.
        var degraded = Assert.Single(analyzer.TakeNewFindings(DateTimeOffset.UnixEpoch), f => f.Rule == RuleIds.CaptureDegraded);
        Assert.Equal(["acme"], degraded.Clients);
        Assert.Equal("arp-overflow", degraded.Evidence["reason"]);
        Assert.Equal(10, degraded.Evidence["vlan"]);
        Assert.Equal(false, degraded.Evidence["shared"]);
        Assert.Equal(0L, degraded.Evidence["suppressed"]);
        Assert.Equal(1L, degraded.Evidence["bindings_lost"]);
        Assert.Contains("VLAN 10 (acme): 1 binding(s) of live hosts given up to make room after a policy reload, so not checked for spoofing later", degraded.Summary, StringComparison.Ordinal);
        Assert.True(analyzer.Degraded);
        Assert.Equal(0, analyzer.ArpClaimsUnchecked);
    }

    [Fact]
    public void ReloadTakesAVlanFullOfLiveHostsFromThePolicy_BindingGivenBack_IsOnRecordSiteWide()
    {
        var analyzer = NewAnalyzer();
        var t = Corpus.Start.Ticks;
        t = Flood(analyzer, t, 10, "10.10", 10);
        t = Flood(analyzer, t, 10, "10.20", 20);
        t = Flood(analyzer, t, 10, "172.16", 555);

        // Globex's segment leaves VLAN 20 and initech's VLAN 30 gets a share: the 10 bindings made in VLAN 20's
        // share now count in no share of a client, so a live one given back concerns the whole site.
        var site = WithInitech();
        var globex = site.Clients[1];
        analyzer.UpdatePolicy(IndexOf(site with { Clients = [site.Clients[0], globex with { Segments = [globex.Segments[0] with { Vlans = [] }] }, site.Clients[2]] }));
        for (var i = 1; i <= 6; i++)
        {
            Feed(analyzer, Claim(StationMac(500 + i), $"10.30.9.{i}", 30), t += 10);
        }

        var shared = Assert.Single(analyzer.AllFindings(DateTimeOffset.UnixEpoch), f => f.Rule == RuleIds.CaptureDegraded);
        Assert.Empty(shared.Clients);
        Assert.Equal(true, shared.Evidence["shared"]);
        Assert.Equal(20, shared.Evidence["vlan"]);
        Assert.Equal(6L, shared.Evidence["bindings_lost"]);
    }

    [Fact]
    public void CapacityFromThePolicy_HoldsMoreHostsOfOneVlanThanTheDefaultShare()
    {
        // The corpus site's two /16s: by default each client VLAN's share is about 21,845 of 65,536. A site of
        // 30,000 live hosts on acme's VLAN overflows it; a policy giving 131,072 holds them all.
        var listed = TestPolicy.Create();
        var acme = listed.Clients[0];
        var site = listed with { Clients = [acme with { Segments = [acme.Segments[0] with { Macs = [] }] }, listed.Clients[1]] };
        var byDefault = new CaptureAnalyzer(IndexOf(site), "eth-test");
        var raised = new CaptureAnalyzer(
            IndexOf(site with { Controller = site.Controller with { Capture = site.Controller.Capture with { ArpBindings = 131_072 } } }),
            "eth-test");

        foreach (var analyzer in new[] { byDefault, raised })
        {
            var t = Flood(analyzer, Corpus.Start.Ticks, 30_000, "10.10", 10);
            Feed(analyzer, Claim(SpooferMac, "10.10.120.1", 10), t += 10);
        }

        var overflow = Assert.Single(byDefault.AllFindings(DateTimeOffset.UnixEpoch), f => f.Rule == RuleIds.CaptureDegraded);
        Assert.Equal(["acme"], overflow.Clients);
        // The last host was not remembered, so the spoofer's claim of its address is a first claim, refused too.
        Assert.Equal(30_001L - 21_845, overflow.Evidence["suppressed"]);
        Assert.DoesNotContain(byDefault.AllFindings(DateTimeOffset.UnixEpoch), f => f.Rule == RuleIds.ArpSpoofing);

        // Every host is remembered, the last one too: claiming its address with another MAC is spoofing.
        var findings = raised.AllFindings(DateTimeOffset.UnixEpoch);
        Assert.DoesNotContain(findings, f => f.Rule == RuleIds.CaptureDegraded);
        Assert.Equal("10.10.120.1", Assert.Single(findings, f => f.Rule == RuleIds.ArpSpoofing).Evidence["src"]);
        Assert.Equal(0, raised.ArpClaimsUnchecked);
    }

    [Fact]
    public void ReloadRaisesTheCapacity_SharesGrowAtOnce_BindingsHeldStayChecked()
    {
        // 1,024 bindings: 341 for the remainder, 341 and 342 for the two /16 VLANs.
        var site = TestPolicy.Create();
        SitePolicy WithArpBindings(int capacity) => site with { Controller = site.Controller with { Capture = site.Controller.Capture with { ArpBindings = capacity } } };
        var analyzer = new CaptureAnalyzer(IndexOf(WithArpBindings(1_024)), "eth-test");
        var t = Flood(analyzer, Corpus.Start.Ticks, 400, "10.10", 10);
        var before = Assert.Single(analyzer.TakeNewFindings(DateTimeOffset.UnixEpoch), f => f.Rule == RuleIds.CaptureDegraded);
        Assert.Equal(["acme"], before.Clients);

        // Raised to 4,096 (1,365 for each VLAN's share): 1,000 more of acme's hosts are remembered, and so is
        // every host bound before.
        analyzer.UpdatePolicy(IndexOf(WithArpBindings(4_096)));
        for (var i = 1; i <= 1_000; i++)
        {
            Feed(analyzer, Claim(StationMac(2_000 + i), $"10.10.{100 + (i / 250)}.{(i % 250) + 1}", 10), t += 10);
        }

        Feed(analyzer, Claim(SpooferMac, "10.10.103.250", 10), t += 10);
        Feed(analyzer, Claim(SpooferMac, "10.10.0.2", 10), t += 10);
        var findings = analyzer.AllFindings(DateTimeOffset.UnixEpoch);
        Assert.Equal(
            ["10.10.0.2", "10.10.103.250"],
            findings.Where(f => f.Rule == RuleIds.ArpSpoofing).Select(f => (string)f.Evidence["src"]!).Order(StringComparer.Ordinal));
        var degraded = Assert.Single(findings, f => f.Rule == RuleIds.CaptureDegraded);
        Assert.Equal(400L - 341, degraded.Evidence["suppressed"]);
    }

    [Fact]
    public void ReloadLowersTheCapacity_TableComesDownToIt_LiveBindingsGivenBackAreReported()
    {
        var bindings = new ArpBindings(4_096, TimeSpan.FromHours(1));
        var lost = new List<(int Share, int Vlan)>();
        bindings.LiveBindingDropped = (share, vlan) => lost.Add((share, vlan));
        bindings.Configure([(10, 65_536L), (20, 65_536L)]);
        long ticks = 1;
        for (var i = 0u; i < 1_365; i++)
        {
            Assert.True(bindings.TryBind(10, 0x0A0A_0000u + i, i, named: true, 10, ticks++));
        }

        // Down to 1,024: 341 for VLAN 20. Each of its claims gives back two of VLAN 10's live bindings until
        // the table fits the new capacity.
        bindings.Configure([(10, 65_536L), (20, 65_536L)], 1_024);
        Assert.Equal(1_365, bindings.Count);
        for (var i = 0u; i < 341; i++)
        {
            Assert.True(bindings.TryBind(20, 0x0A14_0000u + i, i, named: true, 20, ticks++));
            Assert.InRange(bindings.Count, 0, 1_365 - (int)i);
        }

        Assert.Equal(1_024, bindings.Count);
        Assert.Equal(341, bindings.CountIn(20));
        Assert.Equal(682, lost.Count);
        Assert.All(lost, l => Assert.Equal((10, 10), l));

        // Once it fits, a claim takes one binding's room, no more.
        Assert.True(bindings.TryBind(ArpBindings.SharedRemainder, 0xC0A8_0001u, 1, named: false, ArpBindings.SharedRemainder, ticks++));
        Assert.Equal(1_024, bindings.Count);
        Assert.Equal(683, lost.Count);
    }

    [Fact]
    public void ReloadTakesAVlanFromItsClient_LaterOverflowThereIsSiteWide()
    {
        var analyzer = NewAnalyzer();
        var t = Flood(analyzer, Corpus.Start.Ticks, 11, "10.20", 20);
        var before = Assert.Single(analyzer.TakeNewFindings(DateTimeOffset.UnixEpoch), f => f.Rule == RuleIds.CaptureDegraded);
        Assert.Equal(["globex"], before.Clients);

        // Globex's segment no longer names VLAN 20: its claims now draw on the shared remainder (15 of 30, as
        // acme's VLAN 10 is the only client VLAN left), and an overflow there concerns the whole site. The
        // episode that named globex stays as it was, to end once quiet.
        var site = TestPolicy.Create();
        var globex = site.Clients[1];
        analyzer.UpdatePolicy(IndexOf(site with { Clients = [site.Clients[0], globex with { Segments = [globex.Segments[0] with { Vlans = [] }] }] }));
        Flood(analyzer, t, 30, "10.10", 20);

        var degraded = analyzer.AllFindings(DateTimeOffset.UnixEpoch).Where(f => f.Rule == RuleIds.CaptureDegraded).ToArray();
        Assert.Equal(2, degraded.Length);
        var after = Assert.Single(degraded, d => d.Key != before.Key);
        Assert.Empty(after.Clients);
        Assert.Equal(true, after.Evidence["shared"]);
        Assert.Equal(20, after.Evidence["vlan"]);
        Assert.Equal(15L, after.Evidence["suppressed"]);
    }

    [Fact]
    public void SharesFollowTheAddressesOfEachVlansSubnets_ASmallVlanKeepsAllItNeeds()
    {
        // A /16 beside two /24s: the /24s get all 256 addresses each, the /16 what is left after the
        // remainder's least (a quarter with three client VLANs).
        var bindings = new ArpBindings(65_536, TimeSpan.FromHours(1));
        bindings.Configure([(10, 65_536L), (20, 256L), (30, 256L)]);
        Assert.Equal(48_640, bindings.SizeOf(10));
        Assert.Equal(256, bindings.SizeOf(20));
        Assert.Equal(256, bindings.SizeOf(30));
        Assert.Equal(16_384, bindings.SizeOf(ArpBindings.SharedRemainder));

        // Room no VLAN needs is split evenly among them; the sizes always add up to the capacity.
        bindings.Configure([(10, 256L), (20, 256L), (30, 256L)]);
        Assert.Equal([16_384, 16_384, 16_384, 16_384], new[] { 10, 20, 30, ArpBindings.SharedRemainder }.Select(bindings.SizeOf));

        // A VLAN listed by two segments adds their addresses up; one whose segments hold no IPv4 address
        // still gets a share of its own.
        bindings.Configure([(10, 40_000L), (10, 40_000L), (20, 0L)]);
        Assert.Equal(65_536, bindings.SizeOf(10) + bindings.SizeOf(20) + bindings.SizeOf(ArpBindings.SharedRemainder));
        Assert.InRange(bindings.SizeOf(20), 1, 21_845);
        Assert.Equal(21_845, bindings.SizeOf(ArpBindings.SharedRemainder));
    }

    [Fact]
    public void ClientVlanOfALargerSubnet_HoldsMoreHostsThanAnEvenSplit_WhileTheSmallVlanKeepsItsRoom()
    {
        // Acme's VLAN 10 holds a /16, globex's VLAN 20 a /24; a capacity of 1,024 keeps 341 for the remainder,
        // gives globex its 256 and acme the other 427 (an even split would give each 341).
        var site = TestPolicy.Create();
        var globex = site.Clients[1];
        var index = IndexOf(site with { Clients = [site.Clients[0], globex with { Segments = [globex.Segments[0] with { Subnets = [IPNetwork.Parse("10.20.0.0/24")] }] }] });
        var analyzer = new CaptureAnalyzer(index, "eth-test", new CaptureAnalyzerOptions { ArpBindingCapacity = 1024 });

        // 400 live hosts of acme, then globex's 250: all remembered, no overflow.
        var t = Flood(analyzer, Corpus.Start.Ticks, 400, "10.10", 10);
        for (var i = 1; i <= 250; i++)
        {
            Feed(analyzer, Claim(StationMac(1000 + i), $"10.20.0.{i}", 20), t += 10);
        }

        Assert.DoesNotContain(analyzer.AllFindings(DateTimeOffset.UnixEpoch), f => f.Rule == RuleIds.CaptureDegraded);

        // Acme's 428th host is one too many for its share; globex's hosts are still checked.
        t = Flood(analyzer, t, 428, "10.10", 10);
        Feed(analyzer, Claim(SpooferMac, "10.20.0.7", 20), t += 10);
        var findings = analyzer.AllFindings(DateTimeOffset.UnixEpoch);
        var degraded = Assert.Single(findings, f => f.Rule == RuleIds.CaptureDegraded);
        Assert.Equal(["acme"], degraded.Clients);
        Assert.Equal(1L, degraded.Evidence["suppressed"]);
        Assert.Single(findings, f => f.Rule == RuleIds.ArpSpoofing && (string?)f.Evidence["src"] == "10.20.0.7");
    }
}
