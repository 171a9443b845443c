using System.Net;
using System.Text.Json;
using SegmentController.Cli;
using SegmentController.Core.Evidence;
using SegmentController.Storage;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Tests.Evidence;

/// <summary>Rotating the store's signing key in production: through the policy and restart, or offline with <c>segctl log rotate-key</c>.</summary>
public sealed class KeyRotationTests
{
    [Fact]
    public async Task NewKeyInThePolicy_RefusedAlone_RotatedWithThePreviousKey_VerifiesAcross()
    {
        await using var site = new EvidenceSite(Directory.CreateTempSubdirectory("segctl-rotate-").FullName);
        var first = Path.Combine(site.Directory, "signing-2026.pem");
        var second = Path.Combine(site.Directory, "signing-2027.pem");
        site.StoreExtra = $"\n    signing_key_file: {first}";
        site.WritePolicy();
        await site.StartAsync();
        await site.StopAsync();

        // A new key named alone: the store will not accept a key the chain does not know.
        site.StoreExtra = $"\n    signing_key_file: {second}";
        site.WritePolicy();
        await site.StartAsync();
        var (status, sources) = await site.HealthAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.False(sources["store"]);
        await site.StopAsync();

        // With the previous key: the rotation is recorded, endorsed by it.
        site.StoreExtra = $"\n    signing_key_file: {second}\n    previous_signing_key_file: {first}";
        site.WritePolicy();
        await site.StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await site.HealthAsync()).Status);
        await site.StopAsync();

        // Started again with both keys named: nothing more to rotate.
        await site.StartAsync();
        await site.StopAsync();

        var report = StoreVerifier.Verify(site.StorePath, CancellationToken.None);
        Assert.True(report.IsIntact, report.Problem?.Reason);
        Assert.Empty(report.Warnings);
        Assert.Equal(2, report.KeyIds.Count);
        var rotations = StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.KeyRotation });
        Assert.Equal(2, rotations.Count);
        using var rotation = JsonDocument.Parse(rotations[1].Payload!.Value);
        Assert.Equal(report.KeyIds[0], rotation.RootElement.GetProperty("previous_key_id").GetString());
        Assert.Equal(JsonValueKind.String, rotation.RootElement.GetProperty("endorsement").ValueKind);
        Assert.Equal(3, StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.PolicyLoad }).Count);

        // The export carries both keys and verifies alone.
        var export = Path.Combine(site.Directory, "export.jsonl");
        Assert.Equal(0, (await CliAsync("log", "export", "--store", site.StorePath, "--out", export)).Code);
        var (code, output, _) = await CliAsync("log", "verify", "--export", export);
        Assert.Equal(0, code);
        Assert.Contains(report.KeyIds[1], output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RotateKeyCommand_EndorsedRotation_WrongOldKeyOrBusyStoreRefused()
    {
        var dir = Directory.CreateTempSubdirectory("segctl-rotate-cli-").FullName;
        try
        {
            var store = Path.Combine(dir, "e.db");
            Assert.Equal(0, (await CliAsync("log", "append", "--store", store, "--type", "access", "--client", "alpha", "--payload", "{}")).Code);

            var wrong = await CliAsync("log", "rotate-key", "--store", store, "--new-key", Path.Combine(dir, "next.pem"), "--old-key", Path.Combine(dir, "next.pem"));
            Assert.Equal(2, wrong.Code);

            await using (var held = await SqliteEvidenceStore.OpenAsync(new StoreOptions { Path = store }, TimeProvider.System, CancellationToken.None))
            {
                var busy = await CliAsync("log", "rotate-key", "--store", store, "--new-key", Path.Combine(dir, "next.pem"));
                Assert.Equal(2, busy.Code);
                Assert.Contains("in use by another writer", busy.Error, StringComparison.Ordinal);
            }

            var (code, output, error) = await CliAsync("log", "rotate-key", "--store", store, "--new-key", Path.Combine(dir, "next.pem"), "--old-key", store + ".key.pem");
            Assert.True(code == 0, error);
            Assert.Contains("rotated at record", output, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(dir, "next.pem")));

            // Appending afterwards needs the new key; the chain verifies across the rotation.
            await using (var opened = await SqliteEvidenceStore.OpenAsync(new StoreOptions { Path = store, SigningKeyFile = Path.Combine(dir, "next.pem") }, TimeProvider.System, CancellationToken.None))
            {
                await opened.AppendAsync(RecordTypes.Access, "alpha", "{}"u8.ToArray(), CancellationToken.None);
            }

            var report = StoreVerifier.Verify(store, CancellationToken.None);
            Assert.True(report.IsIntact, report.Problem?.Reason);
            Assert.Equal(2, report.KeyIds.Count);
            Assert.Empty(report.Warnings);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task RotateKeyCommand_LeftoverPartialOfTheNewKey_RemovedAndSaidOnStandardError()
    {
        var dir = Directory.CreateTempSubdirectory("segctl-rotate-leftover-").FullName;
        try
        {
            var store = Path.Combine(dir, "e.db");
            Assert.Equal(0, (await CliAsync("log", "append", "--store", store, "--type", "access", "--client", "alpha", "--payload", "{}")).Code);
            // What a rotation killed after writing the new key's partial file, before renaming it, leaves.
            var leftover = Path.Combine(dir, $".next.pem.{Guid.NewGuid():N}.partial");
            await File.WriteAllTextAsync(leftover, "-----BEGIN PRIVATE KEY-----");
            File.SetUnixFileMode(leftover, UnixFileMode.UserRead | UnixFileMode.UserWrite);

            var (code, _, error) = await CliAsync("log", "rotate-key", "--store", store, "--new-key", Path.Combine(dir, "next.pem"));

            Assert.True(code == 0, error);
            Assert.False(File.Exists(leftover), $"{leftover} is still there");
            Assert.Contains($"segctl: removed {leftover}, a partial signing key file an interrupted write left behind{Environment.NewLine}", error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    internal static async Task<(int Code, string Output, string Error)> CliAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApplication.InvokeAsync(args, output, error, CancellationToken.None);
        return (code, output.ToString(), error.ToString());
    }
}
