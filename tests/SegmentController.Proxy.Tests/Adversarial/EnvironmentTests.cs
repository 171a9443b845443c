using System.Net;
using SegmentController.Proxy.Tests.Infrastructure;
using SegmentController.Snmp.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests.Adversarial;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessEnvironment
{
    public const string Name = "process environment";
}

/// <summary>
/// The proxy's attribution and listeners come from the policy alone: ASP.NET Core's environment
/// switches (forwarded headers, extra Kestrel endpoints) must not change who an agent is or where
/// the proxy listens.
/// </summary>
[Collection(ProcessEnvironment.Name)]
public sealed class EnvironmentTests
{
    [Theory]
    [InlineData("ASPNETCORE_FORWARDEDHEADERS_ENABLED")]
    [InlineData("FORWARDEDHEADERS_ENABLED")]
    public async Task ForwardedHeadersSwitchedOnByEnvironment_NeverAttributeBySpoofedHeader(string variable)
    {
        await using (var h = await ProxyHarness.StartAsync(proxyEnvironment: new Dictionary<string, string> { [variable] = "true" }))
        {
            // A source in no segment (and one in globex's) claims to be acme's agent.
            foreach (var source in new[] { ProxyHarness.UnknownAgent, ProxyHarness.GlobexAgent })
            {
                using var agent = h.Agent(source);
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("https://acme.test/spoofed"));
                request.Headers.Add("X-Forwarded-For", ProxyHarness.AcmeAgent);
                request.Headers.Add("X-Forwarded-Proto", "https");
                using var response = await agent.SendAsync(request);
                Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            }

            Assert.DoesNotContain(h.Acme.Hits, hit => hit.Path == "/spoofed");
        }
    }

    [Fact]
    public async Task KestrelEndpointFromEnvironment_NotBound()
    {
        var port = FreePort.Tcp();
        var environment = new Dictionary<string, string>
        {
            ["Kestrel__Endpoints__Extra__Url"] = $"http://127.0.0.1:{port}",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
        };
        await using (var h = await ProxyHarness.StartAsync(proxyEnvironment: environment))
        {
            using var plain = new System.Net.Sockets.TcpClient();
            var connect = await Record.ExceptionAsync(() => plain.ConnectAsync(IPAddress.Loopback, port));
            Assert.NotNull(connect);
        }
    }
}
