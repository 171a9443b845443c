using SegmentController.Core.Findings;
using SegmentController.Core.Incidents;

namespace SegmentController.Core.Tests.Incidents;

public sealed class IncidentModelTests
{
    private static readonly DateTimeOffset Detected = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public void NoticeDue_EightHoursAfterDetection()
    {
        var incident = Sample();
        Assert.Equal(Detected.AddHours(8), incident.NoticeDueAt);
        Assert.Null(incident.NoticeOnTime);
        Assert.True((incident with { NoticeGivenAt = Detected.AddHours(7.9) }).NoticeOnTime);
        Assert.False((incident with { NoticeGivenAt = Detected.AddHours(8.1) }).NoticeOnTime);
    }

    [Fact]
    public void Json_RoundTrips_EveryField()
    {
        var incident = Sample() with
        {
            NoticeGivenAt = Detected.AddMinutes(1),
            ApproximateRecordsConcerned = 42,
            WindowStart = Detected.AddHours(-24),
            LikelyConsequences = "customer names seen by the wrong team",
            MeasuresTaken = [new TimelineEntry(Detected.AddSeconds(1), "measure", "alpha suspended; sw1 port 3 shut")],
            InvestigationNotes = [new TimelineEntry(Detected.AddMinutes(30), "note", "ana: cable moved during works")],
            Notifications = [new NotificationAttempt(Detected.AddMinutes(1), "alpha-soc", new Uri("https://soc.example/hook"), 1, true, "HTTP 200")],
        };

        var read = IncidentJson.Read(IncidentJson.ToUtf8(incident, "opened"));

        Assert.Equal(incident.Id, read.Id);
        Assert.Equal(incident.Clients, read.Clients);
        Assert.Equal(incident.NoticeGivenAt, read.NoticeGivenAt);
        Assert.Equal(42, read.ApproximateRecordsConcerned);
        Assert.Equal(incident.LikelyConsequences, read.LikelyConsequences);
        Assert.Equal(incident.MeasuresTaken, read.MeasuresTaken);
        Assert.Equal(incident.InvestigationNotes, read.InvestigationNotes);
        Assert.Equal(incident.Notifications, read.Notifications);
        Assert.Equal(RuleIds.CrossClientFlow, Assert.Single(read.Findings).Rule);
    }

    [Fact]
    public void Markdown_HasEveryStandardField()
    {
        var markdown = IncidentReport.Markdown(Sample() with { ApproximateRecordsConcerned = 7 }, Detected.AddHours(1));
        foreach (var field in new[] { "Nature:", "Clients concerned:", "Detected at:", "Notice due at:", "Notice given at:", "Approximate number of records concerned:", "Likely consequences:", "## Measures taken", "## Investigation notes", "## Findings", "## Notifications", "## Timeline" })
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

    private static Incident Sample() => new()
    {
        Id = "INC-20260301-080000-001",
        Nature = "cross-client-flow: alpha talks to beta",
        Clients = ["alpha", "beta"],
        OpenedBy = "finding",
        DetectedAt = Detected,
        UpdatedAt = Detected,
        Findings = [Finding.Create(RuleIds.CrossClientFlow, ["alpha", "beta"], "alpha talks to beta", new Dictionary<string, object?> { ["packets"] = 3L }, Detected)],
    };
}
