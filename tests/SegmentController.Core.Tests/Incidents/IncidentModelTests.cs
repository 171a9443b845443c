using SegmentController.Core.Findings;
using SegmentController.Core.Incidents;

namespace SegmentController.Core.Tests.Incidents;

public sealed class IncidentModelTests
{
    private static readonly DateTimeOffset Detected = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public void NoticeDue_EightHoursAfterDetection_GivenOnceEveryClientHasIt()
    {
        var incident = Sample();
        Assert.Equal(Detected.AddHours(8), incident.NoticeDueAt);
        Assert.Null(incident.NoticeOnTime);
        Assert.Null(incident.NoticeGivenAt);

        var alphaOnly = Given(incident, ("alpha", Detected.AddHours(1)));
        Assert.Null(alphaOnly.NoticeGivenAt);
        Assert.True(alphaOnly.NoticeFor("alpha")!.OnTime);

        var both = Given(incident, ("alpha", Detected.AddHours(1)), ("beta", Detected.AddHours(7.9)));
        Assert.Equal(Detected.AddHours(7.9), both.NoticeGivenAt);
        Assert.True(both.NoticeOnTime);
        Assert.False(Given(incident, ("alpha", Detected.AddHours(1)), ("beta", Detected.AddHours(8.1))).NoticeOnTime);

        // A client brought in later has its own clock.
        var late = incident with { Notices = [.. incident.Notices, new ClientNotice("gamma", Detected.AddHours(3), null)] };
        Assert.Equal(Detected.AddHours(11), late.NoticeFor("gamma")!.DueAt);
    }

    [Fact]
    public void Json_RoundTrips_EveryField()
    {
        var incident = Given(Sample(), ("alpha", Detected.AddMinutes(1))) with
        {
            ApproximateRecordsConcerned = 42,
            RecordsConcernedByClient = new Dictionary<string, long> { ["alpha"] = 40, ["beta"] = 2 },
            WindowStart = Detected.AddHours(-24),
            LikelyConsequences = "customer names seen by the wrong team",
            MeasuresTaken = [new TimelineEntry(Detected.AddSeconds(1), "measure", "alpha suspended; sw1 port 3 shut")],
            InvestigationNotes = [new TimelineEntry(Detected.AddMinutes(30), "note", "ana: cable moved during works")],
            Notifications = [new NotificationAttempt(Detected.AddMinutes(1), "alpha-soc", new Uri("https://soc.example/hook"), 1, true, "HTTP 200", "alpha")],
        };

        var read = IncidentJson.Read(IncidentJson.ToUtf8(incident, "opened"));

        Assert.Equal(incident.Id, read.Id);
        Assert.Equal(incident.Clients, read.Clients);
        Assert.Equal(incident.Notices, read.Notices);
        Assert.Null(read.NoticeGivenAt);
        Assert.Equal(42, read.ApproximateRecordsConcerned);
        Assert.Equal(incident.RecordsConcernedByClient, read.RecordsConcernedByClient);
        Assert.Equal(incident.LikelyConsequences, read.LikelyConsequences);
        Assert.Equal(incident.MeasuresTaken, read.MeasuresTaken);
        Assert.Equal(incident.InvestigationNotes, read.InvestigationNotes);
        Assert.Equal(incident.Notifications, read.Notifications);
        Assert.Equal(RuleIds.CrossClientFlow, Assert.Single(read.Findings).Rule);
    }

    [Fact]
    public void Json_RecordWrittenBeforeNoticesWerePerClient_ReadsOneClockForAll()
    {
        var legacy = """
            {"event":"notification","id":"INC-20260301-080000-001","status":"open","nature":"n","clients":["alpha","beta"],"opened_by":"finding",
             "detected_at":"2026-03-01T08:00:00.0000000Z","notice_due_at":"2026-03-01T16:00:00.0000000Z","notice_given_at":"2026-03-01T08:01:00.0000000Z",
             "approximate_records_concerned":3,"window_start":null,"likely_consequences":"","investigation_notes":[],"measures_taken":[],"findings":[],
             "notifications":[{"at":"2026-03-01T08:01:00.0000000Z","contact":"soc","url":"https://soc.example/hook","attempt":1,"delivered":true,"outcome":"HTTP 200"}],
             "timeline":[],"updated_at":"2026-03-01T08:01:00.0000000Z"}
            """u8.ToArray();

        var read = IncidentJson.Read(legacy);

        Assert.Equal(["alpha", "beta"], read.Notices.Select(n => n.Client));
        Assert.All(read.Notices, n => Assert.Equal(Detected.AddMinutes(1), n.GivenAt));
        Assert.Equal(Detected.AddMinutes(1), read.NoticeGivenAt);
        Assert.Null(read.Notifications[0].Client);
    }

    [Fact]
    public void Markdown_HasEveryStandardField()
    {
        var markdown = IncidentReport.Markdown(Sample() with { ApproximateRecordsConcerned = 7 }, Detected.AddHours(1));
        foreach (var field in new[] { "Nature:", "Clients concerned:", "Detected at:", "Notice due at:", "Notice given at:", "Approximate number of records concerned:", "Likely consequences:", "## Notice per client", "## Measures taken", "## Investigation notes", "## Findings", "## Notifications", "## Timeline" })
        {
            Assert.Contains(field, markdown, StringComparison.Ordinal);
        }

        Assert.Contains("420 minutes left", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_Garbage_FormatException()
    {
        Assert.Throws<FormatException>(() => IncidentJson.Read("{\"id\":3}"u8.ToArray()));
        Assert.Throws<FormatException>(() => IncidentJson.Read("not json"u8.ToArray()));
    }

    private static Incident Given(Incident incident, params (string Client, DateTimeOffset At)[] given) =>
        incident with { Notices = incident.Notices.Select(n => given.FirstOrDefault(g => g.Client == n.Client) is { Client: not null } g ? n with { GivenAt = g.At } : n).ToArray() };

    private static Incident Sample() => new()
    {
        Id = "INC-20260301-080000-001",
        Nature = "cross-client-flow: alpha talks to beta",
        Clients = ["alpha", "beta"],
        OpenedBy = "finding",
        DetectedAt = Detected,
        Notices = [new ClientNotice("alpha", Detected, null), new ClientNotice("beta", Detected, null)],
        UpdatedAt = Detected,
        Findings = [Finding.Create(RuleIds.CrossClientFlow, ["alpha", "beta"], "alpha talks to beta", new Dictionary<string, object?> { ["packets"] = 3L }, Detected)],
    };
}
