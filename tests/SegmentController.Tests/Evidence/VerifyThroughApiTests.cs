using System.Text.Json;
using System.Text.RegularExpressions;
using SegmentController.Tests.Api;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Evidence;

/// <summary>
/// <c>segctl log verify --url</c> against a real <c>segctl run</c>: the controller's verdict on its own
/// store is the one <c>segctl log verify --store</c> gives on the file.
/// </summary>
public sealed partial class VerifyThroughApiTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-verify-url-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task VerifyUrl_ControllerOnAStoreWithAnEarlierVersionsPurgeOfYoungRecords_TamperedAtTheSameRecordAsTheFile()
    {
        // Written by the store before purges kept records made less than six years ago, with its signing key
        // (tests/SegmentController.Storage.Tests/Data/README.md): its purge of 2026-03-02 emptied alpha's
        // records of the day before. The controller opens the copy with that key, where it looks by default.
        var store = Path.Combine(_dir, "segctl.db");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "StoreData", "early-purge-of-young-records.db"), store);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "StoreData", "early-purge-of-young-records.db.key.pem"), store + ".key.pem");
        var keys = new Dictionary<string, string> { ["audra"] = OperatorApiSite.NewKey() };
        var keysFile = Path.Combine(_dir, "api-keys");
        OperatorApiSite.WriteKeys(keysFile, keys, ("audra", "auditor"));

        string viaApi;
        string onFileMeanwhile;
        int viaApiExit;
        int onFileMeanwhileExit;
        await using (var segctl = SegctlProcess.Start("run", "--policy", TestSite.WritePolicy(_dir, apiKeysFile: keysFile), "--management-listen", "127.0.0.1:0"))
        {
            var management = await segctl.WaitForManagementAsync(TimeSpan.FromSeconds(60));

            // The controller wrote to the store: it opened it with the chain's key and appended past the purges.
            string stderr;
            (viaApiExit, viaApi, stderr) = await SegctlProcess.RunAsync("log", "verify", "--url", management.ToString(), "--api-key", keys["audra"]);
            Assert.True(viaApiExit == 1, $"log verify --url exited {viaApiExit}: {viaApi}{stderr}");
            (onFileMeanwhileExit, onFileMeanwhile, _) = await SegctlProcess.RunAsync("log", "verify", "--store", store);

            var (jsonExit, json, _) = await SegctlProcess.RunAsync("log", "verify", "--url", management.ToString(), "--api-key", keys["audra"], "--json");
            Assert.Equal(1, jsonExit);
            using var report = JsonDocument.Parse(json);
            Assert.False(report.RootElement.GetProperty("intact").GetBoolean());
            Assert.Equal(5, report.RootElement.GetProperty("problem").GetProperty("index").GetInt64());
            Assert.True(report.RootElement.GetProperty("records").GetInt64() == 5, json);

            segctl.Signal(NativeMethods.SigTerm);
            Assert.Equal(0, await segctl.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }

        Assert.Contains("TAMPERED: first bad record 5 (time 2026-03-01T08:00:01", viaApi, StringComparison.Ordinal);
        Assert.Contains(
            "payload was removed by purge record 10 before its retention ended: the record was made on 2026-03-01 and is kept at least 6 years from then (until 2032-03-01), whatever the contract end; the purge ran on 2026-03-02",
            viaApi,
            StringComparison.Ordinal);

        // The controller appended to the store (its policy load at start, its close): still the same verdict.
        Assert.True(StoreRecordCount(store) > 16, "the controller wrote nothing to the store");
        var (onFileExit, onFile, _) = await SegctlProcess.RunAsync("log", "verify", "--store", store);
        Assert.Equal(viaApiExit, onFileMeanwhileExit);
        Assert.Equal(viaApiExit, onFileExit);
        Assert.Equal(Verdict(viaApi), Verdict(onFileMeanwhile));
        Assert.Equal(Verdict(viaApi), Verdict(onFile));
    }

    /// <summary>The verdict without its subject (<c>store PATH</c> or <c>controller store URL</c>).</summary>
    private static string Verdict(string output)
    {
        var match = VerdictLine().Match(output);
        Assert.True(match.Success, $"no verdict in: {output}");
        return match.Groups[1].Value;
    }

    private static long StoreRecordCount(string store)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={store};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM records";
        return (long)command.ExecuteScalar()!;
    }

    [GeneratedRegex(@"^(?:controller )?store \S+: (TAMPERED: .*\n.*)$", RegexOptions.Multiline)]
    private static partial Regex VerdictLine();
}
