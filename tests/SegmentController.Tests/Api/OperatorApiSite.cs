using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using SegmentController.Cli;
using SegmentController.Hosting;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Api;

/// <summary>
/// A controller on 127.0.0.1:0 built by <see cref="ControllerHost"/> exactly as <c>segctl run</c> builds
/// it, with a keys file of one operator, two approvers, a viewer and an auditor. Real HTTP, real store.
/// </summary>
internal sealed class OperatorApiSite : IAsyncDisposable
{
    private OperatorApiSite(string directory, WebApplication app, Uri url, Dictionary<string, string> keys)
    {
        Directory = directory;
        App = app;
        Url = url;
        Keys = keys;
    }

    public string Directory { get; }

    public WebApplication App { get; }

    public Uri Url { get; }

    /// <summary>Plain keys by operator name.</summary>
    public Dictionary<string, string> Keys { get; }

    public string KeysFile => Path.Combine(Directory, "api-keys");

    public string StorePath => Path.Combine(Directory, "segctl.db");

    /// <param name="prepare">Called with the site's directory before the policy is written.</param>
    /// <param name="map">Called with the built application before it starts (extra endpoints).</param>
    /// <param name="configure">Last changes to the services (a store that holds some records back, say).</param>
    public static async Task<OperatorApiSite> StartAsync(Action<string>? prepare = null, Action<WebApplication>? map = null, Action<IServiceCollection>? configure = null)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("segctl-api-").FullName;
        prepare?.Invoke(directory);
        var keys = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["alice"] = NewKey(),
            ["bob"] = NewKey(),
            ["carol"] = NewKey(),
            ["val"] = NewKey(),
            ["audra"] = NewKey(),
        };
        var keysFile = Path.Combine(directory, "api-keys");
        WriteKeys(keysFile, keys, ("alice", "operator"), ("bob", "approver"), ("carol", "approver,viewer"), ("val", "viewer"), ("audra", "auditor"));
        var opened = PolicyFile.Open(TestSite.WritePolicy(directory, apiKeysFile: keysFile));
        Assert.NotNull(opened.Provider);
        var app = ControllerHost.Build(opened.Provider, ["127.0.0.1:0"], configure);
        map?.Invoke(app);
        await app.StartAsync();
        return new OperatorApiSite(directory, app, new Uri(app.BoundAddresses()[0]), keys);
    }

    public static string NewKey() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public static string Line(string name, string roles, string key) =>
        $"{name} {roles} sha256:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))}";

    public static void WriteKeys(string path, IReadOnlyDictionary<string, string> keys, params (string Name, string Roles)[] entries)
    {
        var lines = new List<string> { "# name roles credential" };
        lines.AddRange(entries.Select(e => Line(e.Name, e.Roles, keys[e.Name])));
        File.WriteAllLines(path, lines);
    }

    public HttpClient Client(string? user)
    {
        var client = new HttpClient { BaseAddress = Url };
        if (user is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Keys[user]);
        }

        return client;
    }

    public static StringContent Reason(string reason) =>
        new($$"""{"reason":"{{reason}}"}""", Encoding.UTF8, "application/json");

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
