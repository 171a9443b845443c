using System.Net;
using System.Net.NetworkInformation;
using System.Text;
using SegmentController.Core.Audits;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Core.Incidents;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Tests.Evidence;

/// <summary>What one client may read of another client's switch ports and MACs, in every view that redacts.</summary>
public sealed class ClientRedactorTests
{
    private static readonly DateTimeOffset Detected = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public void IncidentView_OtherClientsSwitchPortReplaced_OwnPortKept()
    {
        var mismatch = PortVlanMismatch();
        var incident = new Incident
        {
            Id = "INC-20260301-080000-002",
            Nature = $"{mismatch.Rule}: {mismatch.Summary}",
            Clients = ["alpha", "beta"],
            OpenedBy = "finding",
            DetectedAt = Detected,
            UpdatedAt = Detected,
            Notices = [new ClientNotice("alpha", Detected, null), new ClientNotice("beta", Detected, null)],
            Findings = [mismatch],
            InvestigationNotes = [new TimelineEntry(Detected, "note", "ana: sw1:Gi1/0/13 was patched into alpha's desk; compare port Gi1/0/14 on sw1 and alpha's sw1 port Gi1/0/1")],
        };

        var alpha = IncidentView.For(incident, "alpha", Policy());
        var alphaJson = Encoding.UTF8.GetString(IncidentJson.ToUtf8(alpha, "notice"));

        foreach (var secret in new[] { "Gi1/0/13", "Gi1/0/14", "beta", "120" })
        {
            Assert.DoesNotContain(secret, alphaJson, StringComparison.Ordinal);
        }

        Assert.Equal($"port-vlan-mismatch: sw1 port {ClientRedactor.AnotherPort} of another client is an access member of VLAN 110, which is alpha's", alpha.Nature);
        Assert.Equal($"ana: sw1:{ClientRedactor.AnotherPort} was patched into alpha's desk; compare port {ClientRedactor.AnotherPort} on sw1 and alpha's sw1 port Gi1/0/1", Assert.Single(alpha.InvestigationNotes).Text);
        var finding = Assert.Single(alpha.Findings);
        Assert.Equal(ClientRedactor.AnotherPort, finding.Evidence["port"]);
        Assert.Equal(ClientRedactor.AnotherPort, finding.Evidence["if_index"]);
        Assert.Equal("sw1", finding.Evidence["switch"]);
        Assert.Equal(110, finding.Evidence["vlan"]);

        // beta's view keeps its own port and hides alpha's VLAN and ports.
        var beta = IncidentView.For(incident, "beta", Policy());
        Assert.Equal($"port-vlan-mismatch: sw1 port Gi1/0/13 of beta is an access member of VLAN {ClientRedactor.AnotherVlan}, which is another client's", beta.Nature);
        Assert.Equal("Gi1/0/13", Assert.Single(beta.Findings).Evidence["port"]);
        Assert.Equal(13, Assert.Single(beta.Findings).Evidence["if_index"]);
    }

    [Fact]
    public void AuditView_OtherClientsSwitchPortInCheckReplaced()
    {
        var report = new AuditReport
        {
            Id = "AUD-20260301-080000-abcd",
            Trigger = "schedule",
            StartedAt = Detected,
            FinishedAt = Detected,
            PolicySha256 = "00",
            Checks =
            [
                new AuditCheck("snmp", "switch sw1 port Gi1/0/13 port-vlan-mismatch", ["alpha", "beta"], AuditOutcome.Fail, PortVlanMismatch().Summary),
                new AuditCheck("snmp", "switch sw2 isolation", [], AuditOutcome.Pass, "ports sw2:Gi1/0/1 and sw2:Gi1/0/2 agree with the policy"),
            ],
            Results =
            [
                new ClientAuditResult("alpha", AuditOutcome.Fail, [], []),
                new ClientAuditResult("beta", AuditOutcome.Fail, [], []),
            ],
        };

        var alpha = AuditView.For(report, "alpha", Policy());

        Assert.Equal($"switch sw1 port {ClientRedactor.AnotherPort} port-vlan-mismatch", alpha.Checks[0].Name);
        Assert.DoesNotContain("Gi1/0/13", alpha.Checks[0].Detail, StringComparison.Ordinal);
        // sw2's Gi1/0/1 is beta's, though alpha has a Gi1/0/1 on sw1: the switch beside the name decides.
        Assert.Equal($"ports sw2:{ClientRedactor.AnotherPort} and sw2:Gi1/0/2 agree with the policy", alpha.Checks[1].Detail);
        Assert.Equal($"ports sw2:Gi1/0/1 and sw2:{ClientRedactor.AnotherPort} agree with the policy", AuditView.For(report, "beta", Policy()).Checks[1].Detail);
    }

    [Fact]
    public void PortNameOwnOnOneSwitchAnotherClientsOnAnother_DecidedByTheSwitchNamed_KeptWhenNoneIs()
    {
        var redactor = new ClientRedactor("alpha", [], Policy());

        Assert.Equal("sw1 port Gi1/0/1 and sw1:Gi1/0/1", redactor.Redact("sw1 port Gi1/0/1 and sw1:Gi1/0/1"));
        Assert.Equal($"sw2 port {ClientRedactor.AnotherPort}, sw2:{ClientRedactor.AnotherPort}, port {ClientRedactor.AnotherPort} on switch sw2", redactor.Redact("sw2 port Gi1/0/1, sw2:Gi1/0/1, port Gi1/0/1 on switch sw2"));
        Assert.Equal("port Gi1/0/1 was down", redactor.Redact("port Gi1/0/1 was down"));
        // A longer name that starts with another client's port name is not that port.
        Assert.Equal("sw1 port Gi1/0/130", redactor.Redact("sw1 port Gi1/0/130"));
    }

    [Fact]
    public void PortNamedByDigitsAlone_ReplacedOnlyWhereTheTextSaysPort()
    {
        var redactor = new ClientRedactor("alpha", [], Policy());

        Assert.Equal($"sw3 port {ClientRedactor.AnotherPort} saw 7 MACs in 7 minutes", redactor.Redact("sw3 port 7 saw 7 MACs in 7 minutes"));
        Assert.Equal($"trunk {ClientRedactor.AnotherPort} carries it", redactor.Redact("trunk 7 carries it"));
    }

    [Fact]
    public void OtherClientsListedMac_ReplacedInTextAndEvidence_AndAMacLearnedInItsVlan()
    {
        var redactor = new ClientRedactor("alpha", ["beta"], Policy());

        Assert.Equal($"{ClientRedactor.AnotherMac} and {ClientRedactor.AnotherMac} and 02:00:00:00:01:01", redactor.Redact("02:00:00:00:02:02 and 0200.0000.0202 and 02:00:00:00:01:01"));

        var foreignMac = Finding.Create(
            RuleIds.ForeignMac,
            ["alpha", "beta"],
            "sw1 port Gi1/0/9 has 2 MACs learned in VLAN 110, 120 (alpha, beta) on a port that is neither theirs nor a trunk",
            new Dictionary<string, object?>(StringComparer.Ordinal) { ["switch"] = "sw1", ["port"] = "Gi1/0/9", ["if_index"] = 9, ["vlan"] = new object?[] { 110, 120 }, ["mac"] = "02:00:00:00:0a:0b", ["count"] = 2 },
            Detected);
        var view = redactor.Redact(foreignMac);
        Assert.Equal(ClientRedactor.AnotherMac, view.Evidence["mac"]);
        Assert.Equal("Gi1/0/9", view.Evidence["port"]);
        Assert.Equal(new object?[] { 110, ClientRedactor.AnotherVlan }, (object?[])view.Evidence["vlan"]!);

        // alpha's own listed MAC, and one learned in alpha's VLAN alone, are alpha's to read.
        Assert.Equal("02:00:00:00:01:01", redactor.Redact(foreignMac with { Evidence = new Dictionary<string, object?> { ["vlan"] = new object?[] { 110, 120 }, ["mac"] = "02:00:00:00:01:01" } }).Evidence["mac"]);
        Assert.Equal("02:00:00:00:0a:0b", redactor.Redact(foreignMac with { Evidence = new Dictionary<string, object?> { ["vlan"] = 110, ["mac"] = "02:00:00:00:0a:0b" } }).Evidence["mac"]);
        Assert.Equal(ClientRedactor.AnotherMac, redactor.Redact(foreignMac with { Evidence = new Dictionary<string, object?> { ["src"] = "02:00:00:00:02:02" } }).Evidence["src"]);
    }

    [Fact]
    public void FindingReadBackFromItsRecord_IfIndexAsLong_StillReplaced()
    {
        // An incident rebuilt from the store holds findings read back from JSON: numbers are longs there.
        var view = new ClientRedactor("alpha", ["beta"], Policy()).Redact(PortVlanMismatch() with
        {
            Evidence = new Dictionary<string, object?> { ["switch"] = "sw1", ["port"] = "Gi1/0/13", ["if_index"] = 13L, ["vlan"] = 110L },
        });
        Assert.Equal(ClientRedactor.AnotherPort, view.Evidence["if_index"]);
    }

    private static Finding PortVlanMismatch() => Finding.Create(
        RuleIds.PortVlanMismatch,
        ["alpha", "beta"],
        "sw1 port Gi1/0/13 of beta is an access member of VLAN 110, which is alpha's",
        new Dictionary<string, object?>(StringComparer.Ordinal) { ["switch"] = "sw1", ["port"] = "Gi1/0/13", ["if_index"] = 13, ["vlan"] = 110 },
        Detected);

    private static SitePolicy Policy() => new()
    {
        Site = new SiteInfo { Id = "s", Name = "s" },
        Controller = new ControllerSettings(),
        Infrastructure = new InfrastructureSettings(),
        Switches = [],
        Sha256 = "00",
        Clients =
        [
            Client("alpha", "Alpha Insurance", "10.1.0.0/24", 110, "02:00:00:00:01:01", ("sw1", ["Gi1/0/1", "Gi1/0/2", "Gi1/0/130"]), ("sw2", ["Gi1/0/2"])),
            Client("beta", "Beta Telecom", "10.2.0.0/24", 120, "02:00:00:00:02:02", ("sw1", ["Gi1/0/13", "Gi1/0/14"]), ("sw2", ["Gi1/0/1"]), ("sw3", ["7"])),
        ],
    };

    private static ClientDefinition Client(string id, string name, string subnet, int vlan, string mac, params (string Switch, string[] Ports)[] ports) => new()
    {
        Id = id,
        Name = name,
        ContractEnd = new DateOnly(2030, 1, 1),
        Segments =
        [
            new Segment
            {
                Name = "agents",
                Vlans = [vlan],
                Subnets = [IPNetwork.Parse(subnet)],
                Ports = ports.Select(p => new PortAssignment { Switch = p.Switch, Ports = p.Ports }).ToArray(),
                Macs = [PhysicalAddress.Parse(mac)],
            },
        ],
    };
}
