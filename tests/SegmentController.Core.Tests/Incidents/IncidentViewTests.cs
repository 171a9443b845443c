using System.Net;
using System.Text;
using SegmentController.Core.Findings;
using SegmentController.Core.Incidents;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Tests.Incidents;

/// <summary>What one client's notice may carry of an incident that concerns another client too.</summary>
public sealed class IncidentViewTests
{
    private static readonly DateTimeOffset Detected = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ClientView_CarriesItsOwnPart_AndNothingThatIdentifiesTheOtherClient()
    {
        var incident = CrossClientIncident();

        var json = Encoding.UTF8.GetString(IncidentJson.ToUtf8(IncidentView.For(incident, "alpha", Policy()), "notice"));

        // Nothing of beta: not its id or name, not its address or VLAN, not its measures, attempts or count.
        foreach (var secret in new[] { "beta", "Beta Telecom", "10.2.0.9", "VLAN 120", "beta-soc", "\"beta\"", "[120" })
        {
            Assert.DoesNotContain(secret, json, StringComparison.Ordinal);
        }

        var view = IncidentView.For(incident, "alpha", Policy());
        Assert.Equal(["alpha"], view.Clients);
        Assert.Equal(["alpha"], view.Notices.Select(n => n.Client));
        Assert.Equal(7, view.ApproximateRecordsConcerned);
        var finding = Assert.Single(view.Findings);
        Assert.Equal(["alpha"], finding.Clients);
        Assert.Equal("10.1.0.5", finding.Evidence["src"]);
        Assert.Equal(IncidentView.AnotherAddress, finding.Evidence["dst"]);
        Assert.Equal(new object?[] { 110L, IncidentView.AnotherVlan }, (object?[])finding.Evidence["vlans"]!);
        Assert.Contains("another client", finding.Summary, StringComparison.Ordinal);
        Assert.Contains("10.1.0.5", finding.Summary, StringComparison.Ordinal);
        Assert.Single(view.Notifications);
        Assert.Contains(view.MeasuresTaken, m => m.Text.StartsWith("suspended alpha", StringComparison.Ordinal));
        Assert.DoesNotContain(view.MeasuresTaken, m => m.Text.Contains("another client", StringComparison.Ordinal) && m.Text.StartsWith("suspended", StringComparison.Ordinal) && !m.Text.Contains("alpha", StringComparison.Ordinal));
        Assert.Contains(view.InvestigationNotes, n => n.Text == "ana: the flow went from alpha's VLAN to another client's file server");

        // And beta's view says nothing of alpha.
        var betaJson = Encoding.UTF8.GetString(IncidentJson.ToUtf8(IncidentView.For(incident, "beta", Policy()), "notice"));
        foreach (var secret in new[] { "alpha", "Alpha Insurance", "10.1.0.5", "alpha-soc" })
        {
            Assert.DoesNotContain(secret, betaJson, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ClientConcernedLater_ItsViewIsDetectedAndDueWhenItsOwnClockSays()
    {
        // beta came in with a finding observed 40 minutes after alpha's part was detected.
        var betaDetected = Detected.AddMinutes(40);
        var incident = CrossClientIncident() with
        {
            Notices = [new ClientNotice("alpha", Detected, null), new ClientNotice("beta", betaDetected, null)],
            WindowStart = Detected.AddHours(-24),
        };

        var beta = IncidentView.For(incident, "beta", Policy());
        Assert.Equal(betaDetected, beta.DetectedAt);
        Assert.Equal(betaDetected.AddHours(8), beta.NoticeDueAt);
        Assert.Equal(betaDetected.AddHours(-24), beta.WindowStart);
        var report = IncidentReport.Markdown(beta, betaDetected);
        Assert.Contains("**Notice due at:** " + IncidentJson.Iso(betaDetected.AddHours(8)), report, StringComparison.Ordinal);
        Assert.DoesNotContain(IncidentJson.Iso(Detected.AddHours(8)), report, StringComparison.Ordinal);

        var alpha = IncidentView.For(incident, "alpha", Policy());
        Assert.Equal(Detected, alpha.DetectedAt);
        Assert.Equal(Detected.AddHours(-24), alpha.WindowStart);
    }

    [Fact]
    public void WordsThatOnlyContainAnId_AreLeftAlone()
    {
        var incident = CrossClientIncident() with { Nature = "alphabet soup at betamax: beta's port" };
        var view = IncidentView.For(incident, "alpha", Policy());
        Assert.Equal("alphabet soup at betamax: another client's port", view.Nature);
    }

    [Fact]
    public void OtherClientNamedWithACapital_IsReplacedToo()
    {
        var incident = CrossClientIncident() with
        {
            InvestigationNotes = [new TimelineEntry(Detected, "note", "ana: Beta's agent at desk 12 opened alpha's CRM; BETA TELECOM confirmed")],
        };

        var view = IncidentView.For(incident, "alpha", Policy());

        var note = Assert.Single(view.InvestigationNotes).Text;
        Assert.DoesNotContain("Beta", note, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("ana: another client's agent at desk 12 opened alpha's CRM; another client confirmed", note);
    }

    [Fact]
    public void ListOfVlans_EveryOtherClientsVlanInItIsReplaced()
    {
        var finding = Finding.Create(
            RuleIds.UnassignedPortInClientVlan,
            ["alpha", "beta"],
            "sw1 port ge-0/0/9, which the policy gives to no client, is a member of VLAN 110, 120 (alpha, beta)",
            new Dictionary<string, object?> { ["switch"] = "sw1", ["port"] = "ge-0/0/9" },
            Detected);
        var incident = CrossClientIncident() with { Nature = $"{finding.Rule}: {finding.Summary}", Findings = [finding] };

        var view = IncidentView.For(incident, "alpha", Policy());

        Assert.Equal($"{finding.Rule}: sw1 port ge-0/0/9, which the policy gives to no client, is a member of VLAN 110, {IncidentView.AnotherVlan} (alpha, another client)", view.Nature);
        Assert.DoesNotContain("120", Assert.Single(view.Findings).Summary, StringComparison.Ordinal);

        // A stacked tag as capture describes it: outer/inner.
        var hopping = incident with { Nature = "vlan-hopping: Stacked VLAN tags (2 deep) where the site runs no QinQ (alpha, beta): tcp 10.1.0.5:49152 → 10.1.0.6:445 on VLAN 110/120" };
        Assert.EndsWith($"on VLAN 110/{IncidentView.AnotherVlan}", IncidentView.For(hopping, "alpha", Policy()).Nature, StringComparison.Ordinal);
    }

    [Fact]
    public void OtherClientsAddressAtTheEndOfASentence_IsReplaced()
    {
        var incident = CrossClientIncident() with
        {
            InvestigationNotes = [new TimelineEntry(Detected, "note", "ana: the agent's PC reached 10.2.0.9. It then tried 10.2.0.10, 10.2.0.11; and 10.2.0.12!")],
        };

        var note = Assert.Single(IncidentView.For(incident, "alpha", Policy()).InvestigationNotes).Text;

        foreach (var address in new[] { "10.2.0.9", "10.2.0.10", "10.2.0.11", "10.2.0.12" })
        {
            Assert.DoesNotContain(address, note, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void IncidentReadBackFromTheStore_ItsFindingsVlansAreStillReplaced()
    {
        // After a restart the notice is built from the incident as recorded (its JSON), not as first made.
        var recorded = IncidentJson.Read(IncidentJson.ToUtf8(CrossClientIncident(), "opened"));

        var json = Encoding.UTF8.GetString(IncidentJson.ToUtf8(IncidentView.For(recorded, "alpha", Policy()), "notice"));

        Assert.DoesNotContain("120", json, StringComparison.Ordinal);
        var finding = Assert.Single(IncidentView.For(recorded, "alpha", Policy()).Findings);
        Assert.Equal(new object?[] { 110L, IncidentView.AnotherVlan }, (object?[])finding.Evidence["vlans"]!);
    }

    [Fact]
    public void OneClientIncident_OperatorsWordsNameAnotherClient_ViewRedactsThemAllKeepsEveryEntry_OthersNamedIsThatClientAlone()
    {
        var policy = ThreeClientPolicy();
        var incident = OneClientIncident() with
        {
            Nature = "traffic from beta (Beta Telecom) 10.2.0.9 reached alpha on VLAN 120",
            LikelyConsequences = "alpha's CRM records read from Beta's 10.2.0.9",
            InvestigationNotes = [new TimelineEntry(Detected, "note", "ana: Beta Telecom confirmed the flow")],
            Timeline =
            [
                new TimelineEntry(Detected, "opened", "opened by ana"),
                new TimelineEntry(Detected, "note", "ana: Beta Telecom confirmed the flow"),
                new TimelineEntry(Detected, "notification", "alpha: notice given by other means, recorded by ana: phoned alpha about beta"),
                new TimelineEntry(Detected, "closed", "closed by ana: beta re-patched 10.2.0.9"),
            ],
        };

        var view = IncidentView.For(incident, "alpha", policy);

        Assert.Equal($"traffic from another client (another client) {IncidentView.AnotherAddress} reached alpha on VLAN {IncidentView.AnotherVlan}", view.Nature);
        Assert.Equal($"alpha's CRM records read from another client's {IncidentView.AnotherAddress}", view.LikelyConsequences);

        // On the client's own incident a note that speaks of the other client alone is still the client's: kept, redacted.
        Assert.Equal("ana: another client confirmed the flow", Assert.Single(view.InvestigationNotes).Text);
        Assert.Equal(
            ["opened by ana", "ana: another client confirmed the flow", "alpha: notice given by other means, recorded by ana: phoned alpha about another client", $"closed by ana: another client re-patched {IncidentView.AnotherAddress}"],
            view.Timeline.Select(e => e.Text));
        var json = Encoding.UTF8.GetString(IncidentJson.ToUtf8(view, "notice"));
        foreach (var secret in new[] { "beta", "Telecom", "10.2.0.9", "120" })
        {
            Assert.DoesNotContain(secret, json, StringComparison.OrdinalIgnoreCase);
        }

        Assert.Equal(["beta"], IncidentView.OthersNamed(incident, "alpha", policy));
        Assert.Equal(["beta", "gamma"], IncidentView.OthersNamed(incident with { LikelyConsequences = "gamma's 10.3.0.7 too" }, "alpha", policy));
    }

    [Fact]
    public void OneClientIncident_WordsNameNoOtherClient_ViewIsTheIncidentAsRecorded_OthersNamedNone()
    {
        var incident = OneClientIncident();

        Assert.Empty(IncidentView.OthersNamed(incident, "alpha", ThreeClientPolicy()));
        Assert.Equal(IncidentJson.ToUtf8(incident, "opened"), IncidentJson.ToUtf8(IncidentView.For(incident, "alpha", ThreeClientPolicy()), "opened"));
    }

    private static Incident OneClientIncident() => new()
    {
        Id = "INC-20260301-080000-002",
        Nature = "laptop with alpha's call recordings stolen from the floor",
        Clients = ["alpha"],
        OpenedBy = "ana",
        DetectedAt = Detected,
        UpdatedAt = Detected,
        Notices = [new ClientNotice("alpha", Detected, null)],
        ApproximateRecordsConcerned = 7,
        RecordsConcernedByClient = new Dictionary<string, long> { ["alpha"] = 7 },
        LikelyConsequences = "names and call audio of up to 40 customers",
        InvestigationNotes = [new TimelineEntry(Detected, "note", "ana: disk encrypted, 10.1.0.5 logged out")],
        MeasuresTaken = [new TimelineEntry(Detected, "measure", "suspended alpha (operator) by ana")],
        Timeline = [new TimelineEntry(Detected, "opened", "opened by ana"), new TimelineEntry(Detected, "closed", "closed by ana: laptop recovered")],
    };

    private static SitePolicy ThreeClientPolicy() => Policy() with { Clients = [.. Policy().Clients, Client("gamma", "Gamma Bank", "10.3.0.0/24", 130)] };

    private static Incident CrossClientIncident() => new()
    {
        Id = "INC-20260301-080000-001",
        Nature = "cross-client-flow: Traffic between clients (alpha, beta): tcp 10.1.0.5:49152 → 10.2.0.9:445 on VLAN 120",
        Clients = ["alpha", "beta"],
        OpenedBy = "finding",
        DetectedAt = Detected,
        UpdatedAt = Detected,
        Notices = [new ClientNotice("alpha", Detected, null), new ClientNotice("beta", Detected, null)],
        ApproximateRecordsConcerned = 9,
        RecordsConcernedByClient = new Dictionary<string, long> { ["alpha"] = 7, ["beta"] = 2 },
        Findings =
        [
            Finding.Create(
                RuleIds.CrossClientFlow,
                ["alpha", "beta"],
                "Traffic between clients (alpha, beta): tcp 10.1.0.5:49152 → 10.2.0.9:445 on VLAN 120",
                new Dictionary<string, object?> { ["src"] = "10.1.0.5", ["dst"] = "10.2.0.9", ["vlans"] = new object?[] { 110L, 120L }, ["packets"] = 12L },
                Detected),
            Finding.Create(RuleIds.PortVlanMismatch, ["beta"], "beta's port ge-0/0/7 is in VLAN 110", new Dictionary<string, object?>(), Detected),
        ],
        MeasuresTaken =
        [
            new TimelineEntry(Detected, "measure", "suspended alpha (finding, cross-client-flow) by capture"),
            new TimelineEntry(Detected, "measure", "suspended beta (finding, cross-client-flow) by capture"),
            new TimelineEntry(Detected, "measure", "switch ports of beta shut and read back down"),
        ],
        InvestigationNotes = [new TimelineEntry(Detected, "note", "ana: the flow went from alpha's VLAN to beta's file server")],
        Notifications =
        [
            new NotificationAttempt(Detected, "alpha-soc", new Uri("https://soc.alpha.example/hook"), 1, true, "HTTP 200", "alpha"),
            new NotificationAttempt(Detected, "beta-soc", new Uri("https://soc.beta.example/hook"), 1, false, "HTTP 503", "beta"),
        ],
        Timeline =
        [
            new TimelineEntry(Detected, "notification", "alpha: alpha-soc <https://soc.alpha.example/hook> attempt 1: delivered (HTTP 200)"),
            new TimelineEntry(Detected, "notification", "beta: beta-soc <https://soc.beta.example/hook> attempt 1: failed (HTTP 503)"),
        ],
    };

    private static SitePolicy Policy() => new()
    {
        Site = new SiteInfo { Id = "s", Name = "s" },
        Controller = new ControllerSettings(),
        Infrastructure = new InfrastructureSettings(),
        Switches = [],
        Sha256 = "00",
        Clients =
        [
            Client("alpha", "Alpha Insurance", "10.1.0.0/24", 110),
            Client("beta", "Beta Telecom", "10.2.0.0/24", 120),
        ],
    };

    private static ClientDefinition Client(string id, string name, string subnet, int vlan) => new()
    {
        Id = id,
        Name = name,
        ContractEnd = new DateOnly(2030, 1, 1),
        Segments = [new Segment { Name = "agents", Vlans = [vlan], Subnets = [IPNetwork.Parse(subnet)] }],
    };
}
