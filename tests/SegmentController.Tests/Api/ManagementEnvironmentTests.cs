using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SegmentController.Snmp.Tests.Infrastructure;

namespace SegmentController.Tests.Api;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ManagementProcessEnvironment
{
    public const string Name = "management process environment";
}

/// <summary>
/// The management listener's addresses and the caller's address come from the policy and the socket
/// alone: ASP.NET Core's environment switches (forwarded headers, extra Kestrel endpoints), found in some
/// container images, change neither.
/// </summary>
[Collection(ManagementProcessEnvironment.Name)]
public sealed class ManagementEnvironmentTests
{
    [Theory]
    [InlineData("ASPNETCORE_FORWARDEDHEADERS_ENABLED")]
    [InlineData("FORWARDEDHEADERS_ENABLED")]
    public async Task ForwardedHeadersSwitchedOnByEnvironment_FailedAuthenticationsStillCountedBySocketAddress(string variable)
    {
        await using var site = await StartWithAsync(new Dictionary<string, string> { [variable] = "true" });
        using var wrong = new HttpClient { BaseAddress = site.Url };
        wrong.DefaultRequestHeaders.Authorization = new("Bearer", OperatorApiSite.NewKey());

        // Each attempt claims another address: the limit counts the connection's, not the claim.
        HttpStatusCode last = default;
        for (var i = 0; i < 11; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "api/v1/status");
            request.Headers.Add("X-Forwarded-For", $"198.51.100.{i + 1}");
            using var attempt = await wrong.SendAsync(request);
            last = attempt.StatusCode;
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, last);
    }

    [Fact]
    public async Task KestrelEndpointFromEnvironment_NotBound()
    {
        var port = FreePort.Tcp();
        await using var site = await StartWithAsync(new Dictionary<string, string>
        {
            ["Kestrel__Endpoints__Extra__Url"] = $"http://127.0.0.1:{port}",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
        });

        using var plain = new TcpClient();
        Assert.NotNull(await Record.ExceptionAsync(() => plain.ConnectAsync(IPAddress.Loopback, port)));
        Assert.Single(site.App.Urls);
    }

    [Fact]
    public async Task LogLevelFromEnvironment_StillApplies()
    {
        await using var site = await StartWithAsync(new Dictionary<string, string> { ["Logging__LogLevel__SegmentController"] = "Debug" });
        var loggers = site.App.Services.GetRequiredService<ILoggerFactory>();
        Assert.True(loggers.CreateLogger("SegmentController.Capture.CaptureService").IsEnabled(LogLevel.Debug));
        Assert.False(loggers.CreateLogger("Microsoft.AspNetCore.Hosting").IsEnabled(LogLevel.Debug));
    }

    /// <summary>The site built while <paramref name="environment"/> is set (and only then).</summary>
    private static async Task<OperatorApiSite> StartWithAsync(Dictionary<string, string> environment)
    {
        foreach (var (name, value) in environment)
        {
            Environment.SetEnvironmentVariable(name, value);
        }

        try
        {
            return await OperatorApiSite.StartAsync();
        }
        finally
        {
            foreach (var name in environment.Keys)
            {
                Environment.SetEnvironmentVariable(name, null);
            }
        }
    }
}
