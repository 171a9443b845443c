using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using SegmentController.Api;
using SegmentController.Tests.Audits;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Api;

/// <summary>
/// Which valid keys an address locked out for failed authentications is still served: a key of the
/// recipe's shape is, a chosen key of any length waits like a guess until the minute is over.
/// </summary>
public sealed class FailedAuthLockoutTests : IDisposable
{
    // Forty characters, and chosen all the same.
    private const string Passphrase = "correct horse battery staple 2026 on sea";
    private const string ShortKey = "hunter2-hunter2";

    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-lockout-").FullName;

    [Fact]
    public async Task Run_LockedOutAddress_RecipeKeyServed_PassphraseWaits_EachChosenKeyWarnedOnce()
    {
        var keys = new Dictionary<string, string> { ["ops"] = OperatorApiSite.NewKey(), ["pat"] = Passphrase, ["sam"] = ShortKey };
        var keysFile = Path.Combine(_dir, "api-keys");
        OperatorApiSite.WriteKeys(keysFile, keys, ("ops", "viewer"), ("pat", "viewer"), ("sam", "viewer"));
        await using var segctl = SegctlProcess.Start("run", "--policy", TestSite.WritePolicy(_dir, apiKeysFile: keysFile), "--management-listen", "127.0.0.1:0");
        var management = await segctl.WaitForManagementAsync(TimeSpan.FromSeconds(60));
        using var recipe = SegctlProcess.Api(management, keys["ops"]);
        using var chosen = SegctlProcess.Api(management, Passphrase);
        using var shortKey = SegctlProcess.Api(management, ShortKey);
        using var wrong = SegctlProcess.Api(management, OperatorApiSite.NewKey());

        // Not locked out: every valid key is served, the chosen ones as often as they are used.
        await AssertStatusAsync(HttpStatusCode.OK, recipe);
        await AssertStatusAsync(HttpStatusCode.OK, chosen);
        await AssertStatusAsync(HttpStatusCode.OK, chosen);
        await AssertStatusAsync(HttpStatusCode.OK, shortKey);
        await AssertStatusAsync(HttpStatusCode.OK, shortKey);

        for (var i = 0; i < FailedAuthLimiter.MaxFailures; i++)
        {
            await AssertStatusAsync(HttpStatusCode.Unauthorized, wrong);
        }

        await AssertStatusAsync(HttpStatusCode.TooManyRequests, wrong);
        await AssertStatusAsync(HttpStatusCode.OK, recipe);
        using (var waits = await chosen.GetAsync("api/v1/status"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, waits.StatusCode);
            Assert.InRange(waits.Headers.RetryAfter?.Delta?.TotalSeconds ?? -1, 1, 60);
        }

        await AssertStatusAsync(HttpStatusCode.TooManyRequests, shortKey);
        await AssertStatusAsync(HttpStatusCode.OK, recipe);

        // Each failure is logged after the uses of the chosen keys: once the tenth is out, so is any
        // warning those uses made.
        var log = await WaitForOutputAsync(segctl, l => Regex.Count(l, @"\[7001\]") >= FailedAuthLimiter.MaxFailures);
        var warnings = log.Split('\n').Where(l => l.Contains("[7005]", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, warnings.Length);
        Assert.Single(warnings, w => w.Contains("warn: ", StringComparison.Ordinal) && w.Contains("the key of pat is not one the keys file's recipe makes", StringComparison.Ordinal));
        Assert.Single(warnings, w => w.Contains("the key of sam is not one", StringComparison.Ordinal));
        Assert.DoesNotContain(Passphrase, log, StringComparison.Ordinal);
        Assert.DoesNotContain(ShortKey, log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LockedOutAddress_PassphraseServedAgainOnceTheMinuteIsOver()
    {
        var clock = new HandClock(DateTimeOffset.UtcNow);
        await using var site = await OperatorApiSite.StartAsync(configure: s => s.AddSingleton(new FailedAuthLimiter(clock)));
        site.Keys["pat"] = Passphrase;
        OperatorApiSite.WriteKeys(site.KeysFile, site.Keys, ("val", "viewer"), ("pat", "viewer"));
        using var recipe = site.Client("val");
        using var chosen = site.Client("pat");
        using var wrong = SegctlProcess.Api(site.Url, OperatorApiSite.NewKey());
        await AssertStatusAsync(HttpStatusCode.OK, chosen);

        for (var i = 0; i < FailedAuthLimiter.MaxFailures; i++)
        {
            await AssertStatusAsync(HttpStatusCode.Unauthorized, wrong);
        }

        await AssertStatusAsync(HttpStatusCode.TooManyRequests, chosen);
        clock.Advance(FailedAuthLimiter.Window - TimeSpan.FromSeconds(1));
        await AssertStatusAsync(HttpStatusCode.TooManyRequests, chosen);
        await AssertStatusAsync(HttpStatusCode.OK, recipe);

        clock.Advance(TimeSpan.FromSeconds(1));
        await AssertStatusAsync(HttpStatusCode.OK, chosen);
        await AssertStatusAsync(HttpStatusCode.Unauthorized, wrong);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task AssertStatusAsync(HttpStatusCode expected, HttpClient client)
    {
        using var response = await client.GetAsync("api/v1/status");
        Assert.Equal(expected, response.StatusCode);
    }

    /// <summary>The process's output once <paramref name="done"/> holds for it (the console logger writes on its own thread).</summary>
    private static async Task<string> WaitForOutputAsync(SegctlProcess segctl, Func<string, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!done(segctl.StandardOutput + segctl.StandardError) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        return segctl.StandardOutput + segctl.StandardError;
    }
}
