using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using SegmentController.Tests.Api;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Hosting;

/// <summary>
/// The real <c>segctl run</c>: with the right to real-time priority (here root's <c>CAP_SYS_NICE</c>) a
/// trip's critical section runs at it; without it (the capability dropped, <c>RLIMIT_RTPRIO</c> 0) the
/// client is still tripped, at normal priority, and both the start-up log and the trip's persist stage
/// say so.
/// </summary>
public sealed class TripPriorityProcessTests : IDisposable
{
    private readonly LoopbackProxySite _site = new("priority");

    public void Dispose() => _site.Dispose();

    [Fact]
    public async Task Permitted_TripsAtRealTimePriority()
    {
        var (persist, output) = await TripUnderAsync([]);

        Assert.False(persist.TryGetProperty("detail", out var detail), $"persist stage detail: {detail}");
        Assert.Contains("Trips run at real-time priority (SCHED_FIFO 1)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutCapability_NoRtprioLimit_TripsAtNormalPriority_AndSaysWhy()
    {
        var (persist, output) = await TripUnderAsync(["prlimit", "--rtprio=0:0", "setpriv", "--inh-caps=-sys_nice", "--bounding-set=-sys_nice"]);

        Assert.True(persist.GetProperty("succeeded").GetBoolean());
        Assert.Contains("normal priority: real-time priority not permitted", persist.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("Trips run at normal priority", output, StringComparison.Ordinal);
    }

    // Runs segctl (through a command that sets its limits and capabilities), trips alpha through the
    // operator API, checks the trip is in force, and returns the trip's persist stage and all segctl printed.
    private async Task<(JsonElement Persist, string Output)> TripUnderAsync(string[] wrapper)
    {
        await using var upstream = await _site.StartUpstreamAsync();
        var keys = new Dictionary<string, string>(StringComparer.Ordinal) { ["alice"] = OperatorApiSite.NewKey() };
        OperatorApiSite.WriteKeys(_site.File("api-keys"), keys, ("alice", "operator"));
        var policy = _site.WritePolicy("priority", new Uri(upstream.Urls.First()).Port, LoopbackProxySite.FreePort());
        await using var segctl = SegctlProcess.StartUnder(wrapper, "run", "--policy", policy, "--management-listen", "127.0.0.1:0");
        var management = await segctl.WaitForManagementAsync(TimeSpan.FromSeconds(90));
        using var api = new HttpClient { BaseAddress = management, Timeout = TimeSpan.FromSeconds(30) };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", keys["alice"]);

        using var response = await api.PostAsync(new Uri("api/v1/clients/alpha/suspend", UriKind.Relative), OperatorApiSite.Reason("priority drill"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        using var status = JsonDocument.Parse(await api.GetStringAsync(new Uri("api/v1/status", UriKind.Relative)));
        var states = status.RootElement.GetProperty("clients").EnumerateArray().ToDictionary(c => c.GetProperty("id").GetString()!, c => c.GetProperty("state").GetString());
        Assert.Equal("suspended", states["alpha"]);
        Assert.Equal("active", states["beta"]);

        using var trip = JsonDocument.Parse(body);
        var persist = trip.RootElement.GetProperty("suspension").GetProperty("stages").EnumerateArray().Single(s => s.GetProperty("stage").GetString() == "persist").Clone();
        return (persist, await segctl.WaitForOutputAsync("Trips run at "));
    }
}
