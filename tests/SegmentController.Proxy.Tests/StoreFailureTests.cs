using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;
using SegmentController.Proxy.Tests.Infrastructure;

namespace SegmentController.Proxy.Tests;

/// <summary>
/// The proxy's evidence store on a real, tiny tmpfs that fills up: the SQLite store's commit fails as on
/// a full disk, and the proxy must stop forwarding at that instant.
/// </summary>
public sealed class StoreFailureTests : IAsyncLifetime
{
    private readonly string _mount = Directory.CreateTempSubdirectory("segctl-proxy-store-").FullName;
    private ProxyHarness _h = null!;

    public async Task InitializeAsync()
    {
        await RunAsync("mount", "-t", "tmpfs", "-o", "size=2m", "segctl-test", _mount);
        _h = await ProxyHarness.StartAsync(storeDirectory: _mount);
    }

    public async Task DisposeAsync()
    {
        await _h.DisposeAsync();
        await RunAsync("umount", _mount);
        Directory.Delete(_mount, recursive: true);
    }

    [Fact]
    public async Task StoreCannotRecord_NothingForwardedOnceAWriteFailed_InFlightCut_ResumesWhenItCan()
    {
        using var agent = _h.Agent(ProxyHarness.AcmeAgent);
        Assert.Equal(HttpStatusCode.OK, (await agent.GetAsync(new Uri("https://acme.test/before"))).StatusCode);
        await _h.AccessRecordsAsync(1);

        using var downloader = _h.Agent(ProxyHarness.AcmeAgent);
        using var download = await downloader.GetAsync(new Uri("https://acme.test/stream"), HttpCompletionOption.ResponseHeadersRead);
        var downloadStream = await download.Content.ReadAsStreamAsync();
        var downloadEnded = Task.Run(async () =>
        {
            var buffer = new byte[4096];
            try
            {
                while (await downloadStream.ReadAsync(buffer) > 0)
                {
                }

                return "completed";
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                return "aborted";
            }
        });

        // The instant the store's batch failed (on the store's own writer thread): the request the agent was
        // waiting on then, if any, and the upstream's count. That request was sent before the failure and may
        // have been forwarded before it, to reach the upstream's log only after it; one sent after it never is.
        AtFailure? atFailure = null;
        var waitingOn = -1;
        _h.Store.HealthChanged += (_, health) =>
        {
            if (!health.IsWritable)
            {
                var inFlight = Volatile.Read(ref waitingOn);
                Interlocked.CompareExchange(ref atFailure, new AtFailure(_h.Acme.Hits.Count, inFlight < 0 ? null : $"/during/{inFlight}"), null);
            }
        };
        var filler = Path.Combine(_mount, "filler");
        Fill(filler);

        // Forwarded while the store still says it writes; the first record that meets the full disk stops it all.
        // A request in flight at that instant is cut with everything else in flight: its connection is reset.
        var failing = DateTime.UtcNow.AddSeconds(60);
        for (var i = 0; DateTime.UtcNow < failing && Volatile.Read(ref atFailure) is null; i++)
        {
            Volatile.Write(ref waitingOn, i);
            try
            {
                using var response = await agent.GetAsync(new Uri($"https://acme.test/during/{i}"));
                Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, response.StatusCode.ToString());
            }
            catch (HttpRequestException e)
            {
                await Eventually.UntilAsync(
                    () => Volatile.Read(ref atFailure) is not null,
                    () => $"request {i} failed ({e.Message}) while the store still wrote",
                    TimeSpan.FromSeconds(10));
                break;
            }
            finally
            {
                Volatile.Write(ref waitingOn, -1);
            }

            await Task.Delay(20);
        }

        Assert.True(Volatile.Read(ref atFailure) is not null, "the store never failed to write");
        Assert.Equal("aborted", await downloadEnded.WaitAsync(TimeSpan.FromMinutes(2)));
        for (var i = 0; i < 5; i++)
        {
            using var refused = await agent.GetAsync(new Uri($"https://acme.test/after/{i}"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        }

        // Nothing reached the upstream after the failure but the request in flight at it, if the proxy had sent it on before.
        var failure = Volatile.Read(ref atFailure)!;
        var afterFailure = _h.Acme.Hits.Skip(failure.Hits).Select(h => h.Path).ToArray();
        Assert.True(
            afterFailure.Length == 0 || (afterFailure.Length == 1 && afterFailure[0] == failure.InFlight),
            $"reached acme's upstream after the store failed: [{string.Join(", ", afterFailure)}] (in flight then: {failure.InFlight ?? "none"})");
        Assert.DoesNotContain(_h.Acme.Hits, h => h.Path.StartsWith("/after/", StringComparison.Ordinal));
        Assert.True(_h.Metrics.Count("acme", ProxyOutcomes.StoreUnavailable) >= 5);
        Assert.Contains(_h.Logs.Entries, e => e.Level == LogLevel.Critical && e.Event.Id == 2000);

        // Room again: the store's next attempt (it pauses a second between attempts) writes the records
        // it kept, and forwarding resumes. Only a guard against a hang bounds the wait.
        File.Delete(filler);
        var resumed = false;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        for (var i = 0; !resumed && DateTime.UtcNow < deadline; i++)
        {
            using var response = await agent.GetAsync(new Uri($"https://acme.test/resumed/{i}"));
            resumed = response.StatusCode == HttpStatusCode.OK;
            Assert.True(resumed || response.StatusCode == HttpStatusCode.ServiceUnavailable, response.StatusCode.ToString());
            await Task.Delay(20);
        }

        Assert.True(resumed);
        Assert.True(_h.Store.Health.IsWritable);

        // Every request the upstream served is on record, those whose records were in the batch that
        // failed included: the store kept them and wrote them first once it could.
        var served = _h.Acme.Hits.Select(h => h.Path).Where(p => p.StartsWith("/during/", StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
        Assert.NotEmpty(served);
        deadline = DateTime.UtcNow.AddSeconds(30);
        HashSet<string> recorded;
        do
        {
            recorded = (await _h.AccessRecordsAsync(0)).Select(r => r.GetProperty("path").GetString()!).ToHashSet(StringComparer.Ordinal);
            await Task.Delay(recorded.IsSupersetOf(served) ? 0 : 50);
        }
        while (!recorded.IsSupersetOf(served) && DateTime.UtcNow < deadline);

        Assert.Empty(served.Except(recorded));
    }

    /// <summary>The upstream's count of requests when the store failed, and the request the agent was waiting on then.</summary>
    private sealed record AtFailure(int Hits, string? InFlight);

    private static void Fill(string path)
    {
        var chunk = new byte[64 * 1024];
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None);
        try
        {
            while (true)
            {
                stream.Write(chunk);
            }
        }
        catch (IOException)
        {
            // No space left on device: the store cannot grow its write-ahead log any more.
        }
    }

    private static async Task RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)}: {error}");
        }
    }
}
