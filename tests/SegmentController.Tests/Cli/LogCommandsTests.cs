using Microsoft.Data.Sqlite;
using SegmentController.Cli;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Cli;

/// <summary><c>segctl log …</c> and <c>segctl incident report</c> run in-process against real store files.</summary>
public sealed class LogCommandsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "segctl-log-cli-" + Guid.NewGuid().ToString("N"));

    public LogCommandsTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task AppendVerifyTamperExport_ExitCodesAndNamedRecord()
    {
        var store = Path.Combine(_dir, "e.db");
        for (var i = 0; i < 3; i++)
        {
            var (appended, _, _) = await RunAsync("log", "append", "--store", store, "--type", "access", "--client", "alpha", "--payload", $$"""{"n":{{i}}}""");
            Assert.Equal(0, appended);
        }

        var (clean, output, _) = await RunAsync("log", "verify", "--store", store);
        Assert.Equal(0, clean);
        Assert.Contains("intact: 7 records", output, StringComparison.Ordinal);

        var export = Path.Combine(_dir, "alpha.jsonl");
        Assert.Equal(0, (await RunAsync("log", "export", "--store", store, "--client", "alpha", "--out", export)).Exit);
        Assert.Equal(0, (await RunAsync("log", "verify", "--export", export)).Exit);

        using (var connection = new SqliteConnection($"Data Source={store};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE records SET payload = CAST('{\"n\":9}' AS BLOB) WHERE idx = 3";
            command.ExecuteNonQuery();
        }

        var (tampered, report, _) = await RunAsync("log", "verify", "--store", store);
        Assert.Equal(1, tampered);
        Assert.Contains("first bad record 3 (time ", report, StringComparison.Ordinal);

        File.WriteAllLines(export, File.ReadAllLines(export).Select(l => l.Replace("\"n\":2", "\"n\":5", StringComparison.Ordinal)));
        var (badExport, exportReport, _) = await RunAsync("log", "verify", "--export", export);
        Assert.Equal(1, badExport);
        Assert.Contains("line ", exportReport, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeyIntroducedUnendorsed_Exit1NamingIt_Exit0OnlyWhenTheOperatorAcceptsIt()
    {
        var store = Path.Combine(_dir, "k.db");
        Assert.Equal(0, (await RunAsync("log", "append", "--store", store, "--type", "access", "--client", "alpha", "--payload", """{"n":1}""")).Exit);

        // Another store's key, taken into this one without the key it had (the chain cannot tie one to the other).
        await using (await SqliteEvidenceStore.OpenAsync(new StoreOptions { Path = Path.Combine(_dir, "other.db") }, TimeProvider.System, CancellationToken.None))
        {
        }

        await using (var opened = await SqliteEvidenceStore.OpenAsync(
            new StoreOptions { Path = store, SigningKeyFile = Path.Combine(_dir, "other.db.key.pem"), AllowUnendorsedKey = true },
            TimeProvider.System,
            CancellationToken.None))
        {
            await opened.AppendAsync("access", "alpha", """{"n":2}"""u8.ToArray(), CancellationToken.None);
        }

        var (tampered, report, _) = await RunAsync("log", "verify", "--store", store);
        Assert.Equal(1, tampered);
        var keyId = System.Text.RegularExpressions.Regex.Match(report, "--accept-key (\\S+)").Groups[1].Value;
        Assert.NotEmpty(keyId);
        Assert.Contains("without endorsement", report, StringComparison.Ordinal);

        Assert.Equal(1, (await RunAsync("log", "verify", "--store", store, "--accept-key", "not-that-key")).Exit);
        var (accepted, output, warnings) = await RunAsync("log", "verify", "--store", store, "--accept-key", keyId);
        Assert.Equal(0, accepted);
        Assert.Contains("intact", output, StringComparison.Ordinal);
        Assert.Contains($"warning: key {keyId} was introduced at record", warnings, StringComparison.Ordinal);

        var export = Path.Combine(_dir, "k.jsonl");
        Assert.Equal(0, (await RunAsync("log", "export", "--store", store, "--client", "alpha", "--out", export)).Exit);
        Assert.Equal(1, (await RunAsync("log", "verify", "--export", export)).Exit);
        Assert.Equal(0, (await RunAsync("log", "verify", "--export", export, "--accept-key", keyId)).Exit);

        var (viaApi, _, refusal) = await RunAsync("log", "verify", "--url", "http://127.0.0.1:9", "--accept-key", keyId);
        Assert.Equal(2, viaApi);
        Assert.Contains("--accept-key applies to a store", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StoredPayloadThatDoesNotInflate_VerifyNamesTheRecord_ExportExit2_SaysWhich()
    {
        var store = Path.Combine(_dir, "d.db");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(0, (await RunAsync("log", "append", "--store", store, "--type", "access", "--client", "alpha", "--payload", $$"""{"n":{{i}}}""")).Exit);
        }

        // Record 3's stored form said to be deflated, and not DEFLATE data.
        using (var connection = new SqliteConnection($"Data Source={store};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE records SET payload = X'FFFFFFFF', encoding = 'deflate' WHERE idx = 3";
            Assert.Equal(1, command.ExecuteNonQuery());
        }

        var (verified, report, _) = await RunAsync("log", "verify", "--store", store);
        Assert.Equal(1, verified);
        Assert.Contains("first bad record 3 (time ", report, StringComparison.Ordinal);
        Assert.Contains("stored payload cannot be read: deflated payload does not inflate", report, StringComparison.Ordinal);

        var export = Path.Combine(_dir, "d.jsonl");
        var (exported, output, error) = await RunAsync("log", "export", "--store", store, "--client", "alpha", "--out", export);
        Assert.Equal(2, exported);
        Assert.Empty(output);
        Assert.Contains("record 3's stored payload cannot be read: deflated payload does not inflate", error, StringComparison.Ordinal);
        Assert.False(File.Exists(export));
    }

    [Theory]
    [InlineData("../alpha")]
    [InlineData("alpha,beta")]
    [InlineData("alpha beta")]
    [InlineData("")]
    public async Task Export_ClientThatIsNoClientId_Exit2_NothingWritten(string client)
    {
        var store = Path.Combine(_dir, "c.db");
        Assert.Equal(0, (await RunAsync("log", "append", "--store", store, "--type", "access", "--client", "alpha", "--payload", """{"n":1}""")).Exit);
        var export = Path.Combine(_dir, "out.jsonl");

        var (exit, output, error) = await RunAsync("log", "export", "--store", store, "--client", client, "--out", export);

        Assert.Equal(2, exit);
        Assert.Empty(output);
        Assert.Equal($"segctl: --client '{client}' is not a client id: 1 to 64 of A-Z a-z 0-9 . _ -{Environment.NewLine}", error);
        Assert.False(File.Exists(export));
        (exit, output, _) = await RunAsync("log", "export", "--store", store, "--client", client);
        Assert.Equal(2, exit);
        Assert.Empty(output);
    }

    [Theory]
    [InlineData("--from", "1/2/2026")]
    [InlineData("--from", "2026-03-01 00:00:00")]
    [InlineData("--to", "March 1, 2026")]
    [InlineData("--to", "2026-3-1")]
    [InlineData("--from", "2026-02-30")]
    [InlineData("--from", "2026-03-01T00:00:00.123456789Z")]
    [InlineData("--to", "20260301T000000Z")]
    public async Task Export_TimeThatIsNotIso8601_Exit2_NothingWritten(string option, string time)
    {
        var store = Path.Combine(_dir, "t.db");
        Assert.Equal(0, (await RunAsync("log", "append", "--store", store, "--type", "access", "--client", "alpha", "--payload", """{"n":1}""")).Exit);
        var export = Path.Combine(_dir, "out.jsonl");

        var (exit, output, error) = await RunAsync("log", "export", "--store", store, option, time, "--out", export);

        Assert.Equal(2, exit);
        Assert.Empty(output);
        Assert.Equal($"segctl: {option} '{time}' is not a time: give an ISO 8601 date or time, e.g. 2026-03-01 or 2026-03-01T00:00:00Z{Environment.NewLine}", error);
        Assert.False(File.Exists(export));
    }

    [Fact]
    public async Task Export_FromLaterThanTo_Exit2_NothingWritten()
    {
        var store = Path.Combine(_dir, "t.db");
        Assert.Equal(0, (await RunAsync("log", "append", "--store", store, "--type", "access", "--client", "alpha", "--payload", """{"n":1}""")).Exit);
        var export = Path.Combine(_dir, "out.jsonl");

        var (exit, output, error) = await RunAsync("log", "export", "--store", store, "--from", "2030-01-01", "--to", "2020-01-01", "--out", export);

        Assert.Equal(2, exit);
        Assert.Empty(output);
        Assert.Equal($"segctl: --from 2030-01-01 is later than --to 2020-01-01: the window holds nothing{Environment.NewLine}", error);
        Assert.False(File.Exists(export));
    }

    [Theory]
    [InlineData("2020-01-01", "2100-01-01")]
    [InlineData("2020-01-01T00:00:00Z", "2100-01-01T00:00:00.1234567+02:00")]
    [InlineData("2020-01-01T00:00", "2100-01-01T23:59:59-05:30")]
    public async Task Export_Iso8601Times_ExportTheWindow(string from, string to)
    {
        var store = Path.Combine(_dir, "t.db");
        Assert.Equal(0, (await RunAsync("log", "append", "--store", store, "--type", "access", "--client", "alpha", "--payload", """{"n":1}""")).Exit);
        var export = Path.Combine(_dir, "out.jsonl");

        var (exit, _, error) = await RunAsync("log", "export", "--store", store, "--client", "alpha", "--from", from, "--to", to, "--out", export);

        Assert.Equal(0, exit);
        Assert.Contains("exported 1 matching records", error, StringComparison.Ordinal);
        (exit, _, error) = await RunAsync("log", "export", "--store", store, "--client", "alpha", "--to", from, "--out", export);
        Assert.Equal(0, exit);
        Assert.Contains("exported 0 matching records", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ALPHA")]
    [InlineData("gamma")]
    public async Task Export_ClientTheStoreDoesNotKnow_Exit2_NothingWritten(string client)
    {
        var store = Path.Combine(_dir, "k.db");
        Assert.Equal(0, (await RunAsync("log", "append", "--store", store, "--type", "access", "--client", "alpha", "--payload", """{"n":1}""")).Exit);
        Assert.Equal(0, (await RunAsync("log", "append", "--store", store, "--type", "access", "--client", "beta", "--payload", """{"n":2}""")).Exit);
        var export = Path.Combine(_dir, "out.jsonl");

        var (exit, output, error) = await RunAsync("log", "export", "--store", store, "--client", client, "--out", export);

        Assert.Equal(2, exit);
        Assert.Empty(output);
        Assert.Equal($"segctl: --client '{client}' is not a client of store {store} (its clients: alpha, beta); nothing exported{Environment.NewLine}", error);
        Assert.False(File.Exists(export));
        (exit, output, _) = await RunAsync("log", "export", "--store", store, "--client", client);
        Assert.Equal(2, exit);
        Assert.Empty(output);
        Assert.Equal(0, (await RunAsync("log", "export", "--store", store, "--client", "alpha", "--out", export)).Exit);
    }

    [Fact]
    public async Task Export_StoreWithPolicyOnRecord_ClientsAreThoseItsPoliciesName_FormerOnesIncluded()
    {
        var store = Path.Combine(_dir, "p.db");
        Assert.Equal(0, (await RunAsync("log", "append", "--store", store, "--type", "policy-load", "--payload",
            """{"event":"start","clients":{"alpha":{"contract_end":"2030-01-01"},"delta":{"contract_end":"2020-01-01"}}}""")).Exit);
        Assert.Equal(0, (await RunAsync("log", "append", "--store", store, "--type", "access", "--client", "delta", "--payload", """{"n":1}""")).Exit);
        // A record under a name no policy gives (an export asked for it, say) does not make it a client.
        Assert.Equal(0, (await RunAsync("log", "append", "--store", store, "--type", "operator-action", "--client", "gamma", "--payload", """{"action":"log-export"}""")).Exit);

        var (exit, _, said) = await RunAsync("log", "export", "--store", store, "--client", "delta", "--out", Path.Combine(_dir, "delta.jsonl"));
        Assert.Equal(0, exit);
        Assert.Contains("exported 1 matching records", said, StringComparison.Ordinal);

        (exit, _, said) = await RunAsync("log", "export", "--store", store, "--client", "gamma", "--out", Path.Combine(_dir, "gamma.jsonl"));
        Assert.Equal(2, exit);
        Assert.Contains("is not a client of store", said, StringComparison.Ordinal);
        Assert.Contains("(its clients: alpha, delta)", said, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyAndExport_StoreThatIsADirectory_Exit2_SaysSo()
    {
        foreach (var args in new[] { new[] { "log", "verify", "--store", _dir }, ["log", "export", "--store", _dir] })
        {
            var (exit, output, error) = await RunAsync(args);

            Assert.Equal(2, exit);
            Assert.DoesNotContain("TAMPERED", output, StringComparison.Ordinal);
            Assert.Contains($"store {_dir} is a directory, not a store file", error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("--export", "directory", "it is a directory")]
    [InlineData("--export", "fifo", "it is a named pipe (FIFO), not a regular file")]
    [InlineData("--export", "device", "it is a character device, not a regular file")]
    [InlineData("--store", "fifo", "it is a named pipe (FIFO), not a regular file")]
    [InlineData("--store", "device", "it is a character device, not a regular file")]
    public async Task Verify_FileThatIsNotRegular_Exit2AtOnce_OneLineSayingWhatItIs(string option, string kind, string reason)
    {
        var path = kind switch
        {
            "directory" => _dir,
            "device" => "/dev/zero",
            _ => Path.Combine(_dir, "pipe"),
        };
        if (kind == "fifo")
        {
            // Nobody ever writes to it: a verify that waits for a writer would never end.
            Assert.Equal(0, NativeMethods.MkFifo(path, Convert.ToUInt32("600", 8)));
        }

        // A process of its own with a deadline: one that hangs on the pipe or reads /dev/zero on fails here.
        await using var segctl = SegctlProcess.Start("log", "verify", option, path);
        var exit = await segctl.WaitForExitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(2, exit);
        Assert.Empty(segctl.StandardOutput);
        var subject = option == "--export" ? "export" : "store";
        Assert.Equal($"segctl: {subject} {path} cannot be read: {reason}{Environment.NewLine}", segctl.StandardError);
    }

    [Fact]
    public async Task VerifyExport_OfAFileThatIsNoExport_Unreadable_Exit2_NotTampered()
    {
        var store = Path.Combine(_dir, "n.db");
        Assert.Equal(0, (await RunAsync("log", "append", "--store", store, "--type", "access", "--client", "alpha", "--payload", """{"n":1}""")).Exit);
        var empty = Path.Combine(_dir, "empty.jsonl");
        await File.WriteAllTextAsync(empty, "");
        var other = Path.Combine(_dir, "report.json");
        await File.WriteAllTextAsync(other, """{"client":"alpha","status":"suspended"}""" + "\n");

        // The store itself, an empty file, a JSON document of something else: none is an export.
        foreach (var (file, why) in new[] { (store, "its first line"), (empty, "it is empty"), (other, "its first line is not the export's header") })
        {
            var (exit, output, error) = await RunAsync("log", "verify", "--export", file);
            Assert.Equal(2, exit);
            Assert.DoesNotContain("TAMPERED", output, StringComparison.Ordinal);
            Assert.Contains($"export {file} cannot be read: {file} is not a segctl-evidence-export file: {why}", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ExportForOneClient_WithholdsRecordsConcerningOthersToo_SaysHowMany_AndVerifyCountsThem()
    {
        var store = Path.Combine(_dir, "shared.db");
        Assert.Equal(0, (await RunAsync("log", "append", "--store", store, "--type", "access", "--client", "alpha", "--payload", """{"path":"/orders/1"}""")).Exit);
        Assert.Equal(0, (await RunAsync("log", "append", "--store", store, "--type", "incident-event", "--client", "alpha", "--client", "beta", "--payload",
            """{"event":"opened","nature":"Traffic from Alpha Retail into Beta Telecom's VLAN 120 (10.20.0.7)","clients":["alpha","beta"],"notifications":[{"client":"beta","url":"https://soc.beta-telecom.example/hook"}]}""")).Exit);
        Assert.Equal(0, (await RunAsync("log", "append", "--store", store, "--type", "access", "--client", "beta", "--payload", """{"path":"/beta/1"}""")).Exit);

        var export = Path.Combine(_dir, "alpha.jsonl");
        var (exported, _, said) = await RunAsync("log", "export", "--store", store, "--client", "alpha", "--out", export);
        Assert.Equal(0, exported);
        Assert.Contains("1 records concerning alpha withheld: they concern other clients too", said, StringComparison.Ordinal);
        Assert.DoesNotContain("beta", await File.ReadAllTextAsync(export), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("10.20.0.7", await File.ReadAllTextAsync(export), StringComparison.Ordinal);

        var (verified, report, _) = await RunAsync("log", "verify", "--export", export);
        Assert.Equal(0, verified);
        Assert.Contains("withheld: 1 records", report, StringComparison.Ordinal);

        // To standard output, the same export and the same count.
        var (toStdout, lines, stdoutSaid) = await RunAsync("log", "export", "--store", store, "--client", "alpha");
        Assert.Equal(0, toStdout);
        Assert.DoesNotContain("beta", lines, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("1 records concerning alpha withheld", stdoutSaid, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_StoreWithAnEarlierVersionsPurgeOfRecordsYoungerThanSixYears_ExitsOneNamingThePurge()
    {
        // Written by the store before purges kept records made less than six years ago
        // (tests/SegmentController.Storage.Tests/Data/README.md).
        var store = Path.Combine(_dir, "early-purge.db");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "StoreData", "early-purge-of-young-records.db"), store);

        var (exit, output, _) = await RunAsync("log", "verify", "--store", store);

        Assert.Equal(1, exit);
        Assert.Contains($"store {store}: TAMPERED: first bad record 5 (time 2026-03-01T08:00:01", output, StringComparison.Ordinal);
        Assert.Contains("payload was removed by purge record 10 before its retention ended: the record was made on 2026-03-01", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingStore_Exit2()
    {
        Assert.Equal(2, (await RunAsync("log", "verify", "--store", Path.Combine(_dir, "absent.db"))).Exit);
        Assert.Equal(2, (await RunAsync("incident", "report", "INC-1", "--store", Path.Combine(_dir, "absent.db"))).Exit);
    }

    [Fact]
    public async Task ExportThatFails_EarlierExportOfTheSameNameKeptAsItWas_NoPartialFileLeft()
    {
        var store = Path.Combine(_dir, "e.db");
        Assert.Equal(0, (await RunAsync("log", "append", "--store", store, "--type", "access", "--client", "alpha", "--payload", """{"n":1}""")).Exit);
        var exports = Directory.CreateDirectory(Path.Combine(_dir, "exports")).FullName;
        var export = Path.Combine(exports, "alpha.jsonl");
        Assert.Equal(0, (await RunAsync("log", "export", "--store", store, "--client", "alpha", "--out", export)).Exit);
        var earlier = await File.ReadAllBytesAsync(export);

        var (failed, _, error) = await RunAsync("log", "export", "--store", Path.Combine(_dir, "absent.db"), "--client", "alpha", "--out", export);

        Assert.Equal(2, failed);
        Assert.Contains("cannot be exported", error, StringComparison.Ordinal);
        Assert.Equal(earlier, await File.ReadAllBytesAsync(export));
        Assert.Equal([export], Directory.GetFiles(exports));
        Assert.Equal(0, (await RunAsync("log", "verify", "--export", export)).Exit);

        // A failed export to a new name leaves nothing behind.
        Assert.Equal(2, (await RunAsync("log", "export", "--store", Path.Combine(_dir, "absent.db"), "--out", Path.Combine(exports, "new.jsonl"))).Exit);
        Assert.Equal([export], Directory.GetFiles(exports));
    }

    private static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await CliApplication.InvokeAsync(args, output, error, CancellationToken.None);
        return (exit, output.ToString(), error.ToString());
    }
}
