using System.Globalization;
using System.Text;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;
using SegmentController.Tests.Audits;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Evidence;

/// <summary><c>segctl log purge</c>, and the one-writer rule seen from a second <c>segctl</c> process.</summary>
public sealed class StoreCommandsTests
{
    [Fact]
    public async Task LogAppend_FromASecondProcess_WhileTheControllerHoldsTheStore_Exit2NamingIt()
    {
        await using var site = new EvidenceSite(Directory.CreateTempSubdirectory("segctl-busy-").FullName);
        await site.StartAsync();

        var (code, _, error) = await SegctlProcess.RunAsync("log", "append", "--store", site.StorePath, "--type", "operator-action", "--payload", "{}");
        Assert.Equal(2, code);
        Assert.Contains("in use by another writer", error, StringComparison.Ordinal);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"pid {Environment.ProcessId}:"), error, StringComparison.Ordinal);

        var pcap = await SegctlProcess.RunAsync("log", "purge", "--policy", site.PolicyPath);
        Assert.Equal(2, pcap.ExitCode);
        Assert.Contains("in use by another writer", pcap.Stderr, StringComparison.Ordinal);

        // Nothing of theirs got in; the controller's own records did.
        await site.StopAsync();
        Assert.Empty(StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.OperatorAction }));
        Assert.True(StoreVerifier.Verify(site.StorePath, CancellationToken.None).IsIntact);
        var (after, _, _) = await SegctlProcess.RunAsync("log", "append", "--store", site.StorePath, "--type", "operator-action", "--payload", "{}");
        Assert.Equal(0, after);
    }

    [Fact]
    public async Task LogPurge_DryRunCounts_PurgeEmptiesOnlyExpired_RecordsThePolicy_ChainVerifies()
    {
        await using var site = new EvidenceSite(Directory.CreateTempSubdirectory("segctl-purge-cli-").FullName);
        site.ExtraClients.Add(("gamma", "2016-05-31"));
        site.WritePolicy();
        // Recorded while gamma's contract ran (a record is kept six years from its making in any case).
        await using (var store = await SqliteEvidenceStore.OpenAsync(new StoreOptions { Path = site.StorePath }, new HandClock(new DateTimeOffset(2015, 6, 1, 9, 0, 0, TimeSpan.Zero)), CancellationToken.None))
        {
            foreach (var clients in new[] { "gamma", "alpha", "gamma", "alpha,gamma", "gamma" })
            {
                await store.AppendAsync(RecordTypes.Access, clients, Encoding.UTF8.GetBytes("""{"path":"/x"}"""), CancellationToken.None);
            }
        }

        var (code, output, error) = await KeyRotationTests.CliAsync("log", "purge", "--policy", site.PolicyPath, "--dry-run");
        Assert.True(code == 0, error);
        Assert.Contains("dry run: 3 records", output, StringComparison.Ordinal);
        Assert.Contains("gamma", output, StringComparison.Ordinal);
        Assert.Empty(StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.Purge }));

        (code, output, error) = await KeyRotationTests.CliAsync("log", "purge", "--policy", site.PolicyPath);
        Assert.True(code == 0, error);
        Assert.Contains("purged 3 records", output, StringComparison.Ordinal);
        var access = StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.Access });
        Assert.Equal(3, access.Count(r => r.Payload is null));
        Assert.All(access.Where(r => r.Clients!.Contains("alpha", StringComparison.Ordinal)), r => Assert.NotNull(r.Payload));
        var load = Assert.Single(StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.PolicyLoad }));
        using (var body = JsonDocument.Parse(load.Payload!.Value))
        {
            Assert.Equal("purge", body.RootElement.GetProperty("event").GetString());
            Assert.Equal("2022-05-31", body.RootElement.GetProperty("clients").GetProperty("gamma").GetProperty("retain_until").GetString());
        }

        var report = StoreVerifier.Verify(site.StorePath, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);

        // Again: nothing left past retention.
        (code, output, _) = await KeyRotationTests.CliAsync("log", "purge", "--policy", site.PolicyPath);
        Assert.Equal(0, code);
        Assert.Contains("nothing past retention", output, StringComparison.Ordinal);

        // A policy that does not validate purges nothing.
        await File.AppendAllTextAsync(site.PolicyPath, "\nclients: [ broken\n");
        (code, _, error) = await KeyRotationTests.CliAsync("log", "purge", "--policy", site.PolicyPath);
        Assert.Equal(2, code);
        Assert.Contains("is not valid", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LogPurge_OfTwoClients_EachClientsExportShowsThePurgeOfItsRecordsNamingNoOtherClient_AndVerifies()
    {
        await using var site = new EvidenceSite(Directory.CreateTempSubdirectory("segctl-purge-export-").FullName);
        site.ExtraClients.Add(("gamma", "2016-05-31"));
        site.ExtraClients.Add(("delta", "2016-02-29"));
        site.WritePolicy();
        await using (var store = await SqliteEvidenceStore.OpenAsync(new StoreOptions { Path = site.StorePath }, new HandClock(new DateTimeOffset(2015, 6, 1, 9, 0, 0, TimeSpan.Zero)), CancellationToken.None))
        {
            foreach (var clients in new[] { "gamma", "delta", "delta,gamma", "gamma", "alpha", "delta" })
            {
                await store.AppendAsync(RecordTypes.Access, clients, Encoding.UTF8.GetBytes("""{"path":"/x"}"""), CancellationToken.None);
            }
        }

        var (code, output, error) = await KeyRotationTests.CliAsync("log", "purge", "--policy", site.PolicyPath);
        Assert.True(code == 0, error);
        Assert.Contains("purged 5 records", output, StringComparison.Ordinal);

        foreach (var (client, other, purged) in new[] { ("gamma", "delta", 2), ("delta", "gamma", 2) })
        {
            var file = Path.Combine(site.Directory, client + ".jsonl");
            (code, _, error) = await KeyRotationTests.CliAsync("log", "export", "--store", site.StorePath, "--client", client, "--out", file);
            Assert.True(code == 0, error);
            var lines = await File.ReadAllLinesAsync(file);
            Assert.Equal(purged, lines.Count(l => l.Contains("\"purged\":true", StringComparison.Ordinal)));
            var purge = Assert.Single(lines, l => l.Contains("\"type\":\"purge\"", StringComparison.Ordinal) && l.Contains("\"kind\":\"record\"", StringComparison.Ordinal));
            Assert.Contains($"\"clients\":{{\"{client}\":", purge, StringComparison.Ordinal);
            Assert.DoesNotContain(other, string.Join('\n', lines), StringComparison.Ordinal);
            (code, output, error) = await KeyRotationTests.CliAsync("log", "verify", "--export", file);
            Assert.True(code == 0, output + error);
        }

        var report = StoreVerifier.Verify(site.StorePath, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
    }
}
