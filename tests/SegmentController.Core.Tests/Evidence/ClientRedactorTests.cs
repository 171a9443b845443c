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

        // alpha's own listed MAC is alpha's to read; one learned in alpha's VLAN alone, on a port of a finding
        // shared with beta, may be either's: it is not known to be alpha's.
        Assert.Equal("02:00:00:00:01:01", redactor.Redact(foreignMac with { Evidence = new Dictionary<string, object?> { ["vlan"] = new object?[] { 110, 120 }, ["mac"] = "02:00:00:00:01:01" } }).Evidence["mac"]);
        Assert.Equal(ClientRedactor.UnlistedMac, redactor.Redact(foreignMac with { Evidence = new Dictionary<string, object?> { ["vlan"] = 110, ["mac"] = "02:00:00:00:0a:0b" } }).Evidence["mac"]);
        Assert.Equal(ClientRedactor.AnotherMac, redactor.Redact(foreignMac with { Evidence = new Dictionary<string, object?> { ["src"] = "02:00:00:00:02:02" } }).Evidence["src"]);
    }

    [Fact]
    public void NonIpFlowOfTwoClients_EveryMacNotListedForTheReader_Replaced_ListedOwnKept()
    {
        // A non-IP flow's stations are named by MAC alone, in the summary and as src/dst; none of them listed.
        var hopping = Finding.Create(
            RuleIds.VlanHopping,
            ["alpha", "beta"],
            "Stacked VLAN tags (alpha, beta): 02:00:00:00:0a:0b → 02:00:00:00:0c:0d, then 0200.0000.0c0e and 02:00:00:00:01:01 and 02:00:00:00:02:02",
            new Dictionary<string, object?>(StringComparer.Ordinal) { ["vlans"] = new object?[] { 110, 120 }, ["src"] = "02:00:00:00:0a:0b", ["dst"] = "0200.0000.0c0d", ["protocol"] = "0x88b5", ["packets"] = 3 },
            Detected);

        var alpha = new ClientRedactor("alpha", hopping.Clients, Policy()).Redact(hopping);
        Assert.Equal($"Stacked VLAN tags (alpha, another client): {ClientRedactor.UnlistedMac} → {ClientRedactor.UnlistedMac}, then {ClientRedactor.UnlistedMac} and 02:00:00:00:01:01 and {ClientRedactor.AnotherMac}", alpha.Summary);
        Assert.Equal(ClientRedactor.UnlistedMac, alpha.Evidence["src"]);
        Assert.Equal(ClientRedactor.UnlistedMac, alpha.Evidence["dst"]);
        Assert.Equal("0x88b5", alpha.Evidence["protocol"]);

        var beta = new ClientRedactor("beta", hopping.Clients, Policy()).Redact(hopping);
        Assert.EndsWith($"and {ClientRedactor.AnotherMac} and 02:00:00:00:02:02", beta.Summary, StringComparison.Ordinal);

        // Evidence of the reader alone (its own finding in its own notice) keeps what no other client lists.
        var own = new ClientRedactor("alpha", ["alpha"], Policy());
        Assert.Equal($"02:00:00:00:0a:0b and {ClientRedactor.AnotherMac}", own.Redact("02:00:00:00:0a:0b and 02:00:00:00:02:02"));
    }

    [Fact]
    public void OtherClientsUpstreamHostNames_ReplacedExactAndWhereANameHoldsThem_OwnKept()
    {
        var policy = PolicyWithUpstreams();
        var alpha = new ClientRedactor("alpha", ["alpha", "globex"], policy);

        Assert.Equal(
            $"10.1.0.5 asked for {ClientRedactor.AnotherHost}/customers, {ClientRedactor.AnotherHost}:8443, {ClientRedactor.AnotherHost} and https://{ClientRedactor.AnotherHost}/x; its own crm.alpha.example and reports.alpha.example. Not example.org or crm.globex.examples.",
            alpha.Redact("10.1.0.5 asked for crm.globex.example/customers, api.crm.globex.example:8443, eu.apps.globex.net and https://backend.globex.internal/x; its own crm.alpha.example and reports.alpha.example. Not example.org or crm.globex.examples."));
        Assert.Equal(ClientRedactor.AnotherHost + ".", alpha.Redact("CRM.Globex.Example."));

        var request = Finding.Create(
            RuleIds.CrossClientRequest,
            ["alpha"],
            "10.1.0.5 in alpha's segment requested crm.globex.example/customers, which belongs to globex",
            new Dictionary<string, object?>(StringComparer.Ordinal) { ["src"] = "10.1.0.5", ["host"] = "crm.globex.example", ["sni"] = "api.crm.globex.example", ["path"] = "/customers", ["target_client"] = "globex" },
            Detected);
        var view = alpha.Redact(request);
        Assert.Equal($"10.1.0.5 in alpha's segment requested {ClientRedactor.AnotherHost}/customers, which belongs to another client", view.Summary);
        Assert.Equal(ClientRedactor.AnotherHost, view.Evidence["host"]);
        Assert.Equal(ClientRedactor.AnotherHost, view.Evidence["sni"]);
        Assert.Equal(ClientRedactor.AnotherClient, view.Evidence["target_client"]);

        // globex reads its own host names; alpha's are another client's to it.
        var globex = new ClientRedactor("globex", ["alpha", "globex"], policy);
        Assert.Equal($"crm.globex.example and {ClientRedactor.AnotherHost}", globex.Redact("crm.globex.example and crm.alpha.example"));
    }

    [Fact]
    public void FindingView_OfACrossClientRequest_RequesterNamesNothingOfTheTarget_TargetNothingOfTheRequester()
    {
        var policy = PolicyWithUpstreams();
        var request = Finding.Create(
            RuleIds.CrossClientRequest,
            ["alpha"],
            "10.1.0.5 in alpha's segment requested crm.globex.example/customers, which belongs to globex",
            new Dictionary<string, object?>(StringComparer.Ordinal) { ["src"] = "10.1.0.5", ["method"] = "GET", ["host"] = "crm.globex.example", ["path"] = "/customers", ["target_client"] = "globex" },
            Detected);
        Assert.Equal(["globex"], request.Targets);
        Assert.Equal(["alpha", "globex"], request.Concerned);

        var alpha = Encoding.UTF8.GetString(FindingRecords.ToUtf8(FindingView.For(request, "alpha", policy)).Span);
        Assert.DoesNotContain("globex", alpha, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("\"clients\":[\"alpha\"]", alpha, StringComparison.Ordinal);

        // The client asked of is told of the attempt on its system, naming nothing of the requester, and the finding is not its own.
        var globex = FindingView.For(request, "globex", policy);
        var globexJson = Encoding.UTF8.GetString(FindingRecords.ToUtf8(globex).Span);
        Assert.Empty(globex.Clients);
        Assert.Equal("globex", globex.Evidence["target_client"]);
        Assert.Equal("crm.globex.example", globex.Evidence["host"]);
        Assert.Equal(ClientRedactor.AnotherAddress, globex.Evidence["src"]);
        Assert.DoesNotContain("alpha", globexJson, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("10.1.0.", globexJson, StringComparison.Ordinal);
    }

    [Fact]
    public void FindingView_OfAnotherClientsCertificatePresented_RequesterReadsNeitherItsSubjectNorItsFingerprint_OwnerReadsBoth()
    {
        // The subject names no client: only whose certificate it is (the target's) tells it is not the requester's to read.
        var policy = PolicyWithUpstreams();
        var presented = Finding.Create(
            RuleIds.CrossClientRequest,
            ["alpha"],
            "10.1.0.5 in alpha's segment presented the client certificate of globex (CN=agent-17, O=Contact Centre) and asked for crm.alpha.example/",
            new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["src"] = "10.1.0.5",
                ["host"] = "crm.alpha.example",
                ["target_client"] = "globex",
                ["certificate_subject"] = "CN=agent-17, O=Contact Centre",
                ["certificate_sha256"] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            },
            Detected);

        var alpha = FindingView.For(presented, "alpha", policy);
        var alphaJson = Encoding.UTF8.GetString(FindingRecords.ToUtf8(alpha).Span);
        Assert.Equal(ClientRedactor.AnotherCertificate, alpha.Evidence["certificate_subject"]);
        Assert.Equal(ClientRedactor.AnotherCertificate, alpha.Evidence["certificate_sha256"]);
        Assert.DoesNotContain("agent-17", alphaJson, StringComparison.Ordinal);
        Assert.DoesNotContain("9f86d081", alphaJson, StringComparison.Ordinal);
        Assert.DoesNotContain("globex", alphaJson, StringComparison.OrdinalIgnoreCase);

        var globex = FindingView.For(presented, "globex", policy);
        Assert.Equal("CN=agent-17, O=Contact Centre", globex.Evidence["certificate_subject"]);
        Assert.Equal("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", globex.Evidence["certificate_sha256"]);
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

    [Fact]
    public void NarrowedToOneOtherClient_ReplacesWhatIsThatClientsAlone_NarrowedToNoneChangesNothing()
    {
        var policy = Policy() with { Clients = [.. Policy().Clients, Client("gamma", "Gamma Bank", "10.3.0.0/24", 130, "02:00:00:00:03:03", ("sw1", ["Gi1/0/30"]))] };
        var redactor = new ClientRedactor("alpha", ["alpha"], policy);
        const string Text = "Beta Telecom's 10.2.0.9 on VLAN 120 and sw1 port Gi1/0/13, 02:00:00:00:02:02; gamma's 10.3.0.4 on VLAN 130; alpha's 10.1.0.5";

        Assert.Equal(["beta", "gamma"], redactor.Others);
        Assert.Equal(
            $"another client's {ClientRedactor.AnotherAddress} on VLAN {ClientRedactor.AnotherVlan} and sw1 port {ClientRedactor.AnotherPort}, {ClientRedactor.AnotherMac}; gamma's 10.3.0.4 on VLAN 130; alpha's 10.1.0.5",
            redactor.Only(["beta"]).Redact(Text));
        Assert.Equal(
            $"Beta Telecom's 10.2.0.9 on VLAN 120 and sw1 port Gi1/0/13, 02:00:00:00:02:02; another client's {ClientRedactor.AnotherAddress} on VLAN {ClientRedactor.AnotherVlan}; alpha's 10.1.0.5",
            redactor.Only(["gamma"]).Redact(Text));
        Assert.Equal(Text, redactor.Only([]).Redact(Text));
        Assert.Empty(redactor.Only([]).Others);

        // A client the redactor does not know of is not made another by narrowing to it.
        Assert.Equal(Text, redactor.Only(["alpha", "delta"]).Redact(Text));
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

    /// <summary>alpha with its CRM, globex with a CRM, a wildcard and a destination named apart from its hosts.</summary>
    private static SitePolicy PolicyWithUpstreams()
    {
        var policy = Policy();
        return policy with
        {
            Clients =
            [
                policy.Clients[0] with { Upstreams = [Upstream("crm", ["crm.alpha.example", "*.alpha.example"], "https://10.9.0.1:8443")] },
                Client("globex", "Globex", "10.3.0.0/24", 130, "02:00:00:00:03:03", ("sw1", ["Gi1/0/30"])) with
                {
                    Upstreams = [Upstream("crm", ["crm.globex.example"], "https://backend.globex.internal"), Upstream("apps", ["*.apps.globex.net"], "https://10.9.0.2")],
                },
            ],
        };
    }

    private static Upstream Upstream(string name, string[] hosts, string destination) => new()
    {
        Name = name,
        Hosts = hosts,
        Destinations = [new Uri(destination)],
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
