using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SegmentController.Cli;
using SegmentController.Hosting;

namespace SegmentController.Tests.Api;

/// <summary>
/// Operator commands pointed at an HTTP server that is not segctl (a wrong port, a proxy's error page):
/// exit 2 with one line that names the URL and says it is not the operator API.
/// </summary>
public sealed class OperatorCommandsForeignServerTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private Uri _url = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.MapFallback("/html/{**rest}", context =>
        {
            context.Response.ContentType = "text/html";
            return context.Response.WriteAsync("<html><body>It works!</body></html>");
        });
        _app.MapFallback("/empty/{**rest}", context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync("{}");
        });
        await _app.StartAsync();
        _url = new Uri(_app.BoundAddresses()[0]);
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    [Theory]
    [InlineData("html", "status")]
    [InlineData("html", "incidents")]
    [InlineData("html", "suspend", "alpha", "--reason", "leak")]
    [InlineData("empty", "status")]
    [InlineData("empty", "audit", "list")]
    [InlineData("empty", "restore", "alpha", "--reason", "fixed")]
    [InlineData("empty", "log", "verify")]
    public async Task NotTheOperatorApi_Exit2NamingTheUrl(string answer, params string[] command)
    {
        var url = new Uri(_url, $"/{answer}/").ToString();
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await CliApplication.InvokeAsync([.. command, "--url", url, "--api-key", "x"], output, error, CancellationToken.None);

        Assert.Equal(CliApplication.ExitError, code);
        var line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith($"segctl: {url} did not answer as segctl's operator API does (", line, StringComparison.Ordinal);
    }
}
