using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SegmentController.Core.Suspension;

namespace SegmentController.Core.Tests.Suspension;

public sealed class FileSuspensionStateStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private string StatePath => _dir.File("state/suspension.state");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task StateFileIsNamedPipe_LoadFailsSayingSo_WithoutWaitingForAWriter()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(StatePath)!);
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [StatePath]))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        // A start reads its state before anything else: one that waits for the pipe's writer fails here instead of hanging.
        var loaded = await Task.Run(() => new FileSuspensionStateStore(StatePath).Load()).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Null(loaded.State);
        Assert.Equal($"{StatePath}: it is a named pipe (FIFO), not a regular file", loaded.Error);
    }

    [Fact]
    public void SaveThenLoad_FreshStore_ReadsTheLatestState()
    {
        var store = new FileSuspensionStateStore(StatePath);
        Assert.Same(SuspensionState.Empty, store.Load().State);

        store.Save(StateWith("acme"));
        store.Save(StateWith("acme", "globex"));
        store.Save(StateWith("globex"));

        var loaded = new FileSuspensionStateStore(StatePath).Load();
        Assert.Null(loaded.Error);
        Assert.Equal(["globex"], loaded.State!.Suspensions.Keys);
    }

    [Fact]
    public void MissingAfterAControllerRanHere_Unreadable_NotLaidOutSoTheNextStartSaysSoToo()
    {
        var store = new FileSuspensionStateStore(StatePath, ranBefore: "the evidence store /var/lib/segctl/segctl.db existed when this controller started");

        var load = store.Load();

        Assert.Null(load.State);
        Assert.Contains("does not exist, but the evidence store /var/lib/segctl/segctl.db existed", load.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(StatePath));

        // What the engine saves next (the site-wide suspension lifted, or a trip) makes it a state again.
        store.Save(StateWith("acme"));
        Assert.Equal(["acme"], new FileSuspensionStateStore(StatePath, ranBefore: "x").Load().State!.Suspensions.Keys);
    }

    [Fact]
    public void MissingWhereTheSiteIsInService_Unreadable_NotLaidOut_NamesTheFileAndWhatToDo()
    {
        var store = new FileSuspensionStateStore(StatePath, inService: true);

        var load = store.Load();

        Assert.Null(load.State);
        Assert.StartsWith($"{StatePath} does not exist, and the policy says this site's controller is in service (controller.in_service: true)", load.Error, StringComparison.Ordinal);
        Assert.Contains("lift the suspension with the restore", load.Error, StringComparison.Ordinal);
        Assert.Contains("'segctl state init --policy FILE'", load.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(StatePath));
        Assert.Null(new FileSuspensionStateStore(StatePath, inService: true).Load().State);
    }

    [Fact]
    public void LaidOutWhereTheSiteIsInService_EmptyStateRead_FirstTripWrittenInPlace()
    {
        new FileSuspensionStateStore(StatePath).LayOut();
        var size = new FileInfo(StatePath).Length;
        Assert.False(File.Exists(StatePath + ".tmp"));

        var store = new FileSuspensionStateStore(StatePath, inService: true);
        var load = store.Load();
        Assert.Null(load.Error);
        Assert.Empty(load.State!.Suspensions);

        store.Save(StateWith("acme"));
        Assert.Equal(size, new FileInfo(StatePath).Length);
        Assert.Equal(["acme"], new FileSuspensionStateStore(StatePath, inService: true).Load().State!.Suspensions.Keys);
    }

    [Fact]
    public void LayOut_StateThere_Refused_StateUnchanged()
    {
        var store = new FileSuspensionStateStore(StatePath);
        store.Load();
        store.Save(StateWith("acme"));
        var bytes = File.ReadAllBytes(StatePath);

        var refused = Assert.Throws<IOException>(() => new FileSuspensionStateStore(StatePath).LayOut());

        Assert.Equal($"{StatePath} already exists", refused.Message);
        Assert.Equal(bytes, File.ReadAllBytes(StatePath));
        Assert.Equal(["acme"], new FileSuspensionStateStore(StatePath).Load().State!.Suspensions.Keys);
    }

    [Fact]
    public void FirstStart_FileLaidOut_FirstTripWrittenInPlace()
    {
        var store = new FileSuspensionStateStore(StatePath);
        Assert.Same(SuspensionState.Empty, store.Load().State);
        Assert.True(File.Exists(StatePath));
        var size = new FileInfo(StatePath).Length;
        Assert.Empty(new FileSuspensionStateStore(StatePath).Load().State!.Suspensions);

        // The first save goes into the file laid out at start, not into a new one renamed over it.
        using var before = new FileStream(StatePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        store.Save(StateWith("acme"));
        Assert.Equal(size, new FileInfo(StatePath).Length);
        var seen = new byte[size];
        before.ReadExactly(seen);
        Assert.Equal(File.ReadAllBytes(StatePath), seen);
        Assert.Equal(["acme"], new FileSuspensionStateStore(StatePath).Load().State!.Suspensions.Keys);
    }

    [Fact]
    public void FirstStart_NowhereToLayOutTheFile_LoadNamesTheError()
    {
        var blocker = _dir.File("not-a-directory");
        File.WriteAllText(blocker, "a file where the state directory should be");
        var path = Path.Combine(blocker, "suspension.state");

        var load = new FileSuspensionStateStore(path).Load();

        Assert.Null(load.State);
        Assert.Contains(path, load.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Saves_WrittenInPlace_FileKeepsItsSizeAndIdentity()
    {
        var store = new FileSuspensionStateStore(StatePath);
        store.Save(StateWith("acme"));
        var size = new FileInfo(StatePath).Length;

        // A handle opened before the saves sees what they wrote only if they wrote into the same file.
        using var before = new FileStream(StatePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        for (var i = 0; i < 5; i++)
        {
            store.Save(StateWith(i % 2 == 0 ? "globex" : "acme"));
        }

        Assert.Equal(size, new FileInfo(StatePath).Length);
        var seen = new byte[size];
        before.ReadExactly(seen);
        Assert.Equal(File.ReadAllBytes(StatePath), seen);
        Assert.False(File.Exists(StatePath + ".tmp"));
    }

    [Fact]
    public void LinkAtTheTemporaryName_FileLaidOutAndGrown_WhatTheLinkPointsAtIsNeverWritten()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(StatePath)!);
        var victim = _dir.File("victim.conf");
        File.WriteAllText(victim, "not the controller's to write");
        File.CreateSymbolicLink(StatePath + ".tmp", victim);

        // Laying the file out at first start writes it under the temporary name first.
        var store = new FileSuspensionStateStore(StatePath);
        Assert.Same(SuspensionState.Empty, store.Load().State);
        Assert.Equal("not the controller's to write", File.ReadAllText(victim));

        // So does a state that outgrows the file's slots.
        File.CreateSymbolicLink(StatePath + ".tmp", victim);
        var small = new FileInfo(StatePath).Length;
        store.Save(StateWith(Enumerable.Range(0, 600).Select(i => $"client-{i:D4}").ToArray()));
        Assert.True(new FileInfo(StatePath).Length > small);

        Assert.Equal("not the controller's to write", File.ReadAllText(victim));
        Assert.False(File.Exists(StatePath + ".tmp"));
        Assert.Null(new FileInfo(StatePath).LinkTarget);
        Assert.Equal(600, new FileSuspensionStateStore(StatePath).Load().State!.Suspensions.Count);
    }

    [Fact]
    public void NewestSlotTorn_PreviousStateRead()
    {
        var store = new FileSuspensionStateStore(StatePath);
        store.Save(StateWith("acme"));
        store.Save(StateWith("acme", "globex"));
        var bytes = File.ReadAllBytes(StatePath);
        var newest = NewestSlotOffset(bytes);

        // A crash half-way through the last save: the end of its JSON never reached the disk.
        var json = IndexOf(bytes, "globex"u8, newest);
        Array.Clear(bytes, json, 16);
        File.WriteAllBytes(StatePath, bytes);

        var loaded = new FileSuspensionStateStore(StatePath).Load();
        Assert.Null(loaded.Error);
        Assert.Equal(["acme"], loaded.State!.Suspensions.Keys);
    }

    [Fact]
    public void AfterReadingTheOlderSlot_NextSaveOverwritesTheTornOne()
    {
        var store = new FileSuspensionStateStore(StatePath);
        store.Save(StateWith("acme"));
        store.Save(StateWith("acme", "globex"));
        var bytes = File.ReadAllBytes(StatePath);
        var newest = NewestSlotOffset(bytes);
        bytes[newest + 40] ^= 0xFF;
        File.WriteAllBytes(StatePath, bytes);

        var reopened = new FileSuspensionStateStore(StatePath);
        Assert.Equal(["acme"], reopened.Load().State!.Suspensions.Keys);
        reopened.Save(StateWith("globex"));

        Assert.Equal(["globex"], new FileSuspensionStateStore(StatePath).Load().State!.Suspensions.Keys);
        // The state it replaced is still there as the fallback.
        bytes = File.ReadAllBytes(StatePath);
        Array.Clear(bytes, NewestSlotOffset(bytes), 8);
        File.WriteAllBytes(StatePath, bytes);
        Assert.Equal(["acme"], new FileSuspensionStateStore(StatePath).Load().State!.Suspensions.Keys);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void BothSlotsDamaged_Unreadable(int truncate)
    {
        var store = new FileSuspensionStateStore(StatePath);
        store.Save(StateWith("acme"));
        store.Save(StateWith("globex"));
        var bytes = File.ReadAllBytes(StatePath);
        if (truncate == 1)
        {
            bytes = bytes[..(bytes.Length - 1)];
        }
        else
        {
            var half = bytes.Length / 2;
            bytes[60] ^= 1;
            bytes[half + 60] ^= 1;
        }

        File.WriteAllBytes(StatePath, bytes);

        var loaded = new FileSuspensionStateStore(StatePath).Load();
        Assert.Null(loaded.State);
        Assert.Contains(StatePath, loaded.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void StateLargerThanASlot_FileGrows_EveryStateStillRead()
    {
        var store = new FileSuspensionStateStore(StatePath);
        store.Save(StateWith("acme"));
        var small = new FileInfo(StatePath).Length;

        var many = StateWith(Enumerable.Range(0, 600).Select(i => $"client-{i:D4}").ToArray());
        store.Save(many);
        Assert.True(new FileInfo(StatePath).Length > small);
        Assert.Equal(600, new FileSuspensionStateStore(StatePath).Load().State!.Suspensions.Count);

        store.Save(StateWith("globex"));
        Assert.Equal(["globex"], new FileSuspensionStateStore(StatePath).Load().State!.Suspensions.Keys);
    }

    [Fact]
    public void EarlierSingleFileFormat_Read_ThenReplacedBySlots()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(StatePath)!);
        var json = JsonSerializer.Serialize(StateWith("acme"), SuspensionJsonContext.Default.SuspensionState);
        File.WriteAllText(StatePath, json + "\nsha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json))) + "\n");

        var store = new FileSuspensionStateStore(StatePath);
        Assert.Equal(["acme"], store.Load().State!.Suspensions.Keys);
        store.Save(StateWith("acme", "globex"));

        var bytes = File.ReadAllBytes(StatePath);
        Assert.NotEqual((byte)'{', bytes[0]);
        Assert.True(bytes.AsSpan().IndexOf("SEGCTLST"u8) >= 0);
        Assert.Equal(["acme", "globex"], new FileSuspensionStateStore(StatePath).Load().State!.Suspensions.Keys.Order());
    }

    // A state whose checksum matches but whose content no controller writes (a field null that never is): not a
    // state to start from. Read as unreadable, so the start fails closed (every client suspended) instead of
    // taking it in and failing on it later (at the start's port reassertion, on a status request).
    [Theory]
    [InlineData("\"id\":\"S-acme\"", "\"id\":null")]
    [InlineData("\"actor\":\"alice\"", "\"actor\":null")]
    [InlineData("\"reason\":\"incident 42\"", "\"reason\":null")]
    [InlineData("\"stages\":[]", "\"stages\":null")]
    [InlineData("\"reassertions\":[]", "\"reassertions\":null")]
    [InlineData("\"releases\":[]", "\"releases\":null")]
    public async Task ChecksumMatches_ARecordFieldNull_UnreadableAndTheStartFailsClosed(string field, string replacement)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(StatePath)!);
        var json = JsonSerializer.Serialize(StateWith("acme"), SuspensionJsonContext.Default.SuspensionState);
        Assert.Contains(field, json, StringComparison.Ordinal);
        json = json.Replace(field, replacement, StringComparison.Ordinal);
        File.WriteAllText(StatePath, json + "\nsha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json))) + "\n");

        var loaded = new FileSuspensionStateStore(StatePath).Load();
        Assert.Null(loaded.State);
        Assert.Contains(StatePath, loaded.Error, StringComparison.Ordinal);

        using var engine = new SuspensionEngine(
            new FileSuspensionStateStore(StatePath),
            new StaticPolicyProvider(TestPolicies.TwoClients()),
            [],
            [new RecordingPortShutter(new System.Collections.Concurrent.ConcurrentQueue<string>())],
            [],
            [],
            TimeProvider.System);
        await engine.ReassertAsync(CancellationToken.None);
        Assert.Equal(SuspensionTrigger.StateUnreadable, engine.Current.Suspensions[SuspensionNames.AllClients].Trigger);
        Assert.True(engine.IsSuspended("acme"));
        Assert.True(engine.IsSuspended("globex"));
    }

    // Another process (a second controller) holds the state's writer lock: this store reads nothing it could then
    // write over, fails the load (the engine starts with every client suspended) and every save, and the file is
    // left as the other process keeps it.
    [Fact]
    public async Task WriterLockHeldByAnotherProcess_LoadFailsSayingSo_SaveRefused_FileUntouched()
    {
        // The state as the other process wrote it (copied: a store of this process would hold the lock itself).
        new FileSuspensionStateStore(_dir.File("seed/suspension.state")).Save(StateWith("acme"));
        var path = _dir.File("other/suspension.state");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.Copy(_dir.File("seed/suspension.state"), path);
        var before = await File.ReadAllBytesAsync(path);
        using var holder = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("flock", ["-n", path + ".lock", "-c", "echo held; exec sleep 300"])
        {
            RedirectStandardOutput = true,
        })!;
        try
        {
            Assert.Equal("held", await holder.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)));

            var store = new FileSuspensionStateStore(path);
            var loaded = store.Load();
            Assert.Null(loaded.State);
            Assert.Equal($"{path} is in use by another controller (it holds {path}.lock): one controller runs on a suspension state; this one writes nothing to it", loaded.Error);
            Assert.Throws<IOException>(() => store.Save(StateWith("globex")));
            Assert.Equal(before, await File.ReadAllBytesAsync(path));
        }
        finally
        {
            holder.Kill();
            await holder.WaitForExitAsync();
        }
    }

    private static SuspensionState StateWith(params string[] scopes) => new()
    {
        Suspensions = scopes.ToDictionary(
            s => s,
            s => new SuspensionRecord
            {
                Id = "S-" + s,
                Scope = s,
                Trigger = SuspensionTrigger.Operator,
                Actor = "alice",
                Reason = "incident 42",
                TrippedAt = DateTimeOffset.UnixEpoch,
            },
            StringComparer.Ordinal),
    };

    // The slot with the higher sequence number (little-endian at offset 16 of each slot).
    private static int NewestSlotOffset(byte[] bytes)
    {
        var half = bytes.Length / 2;
        return BitConverter.ToUInt64(bytes, 16) > BitConverter.ToUInt64(bytes, half + 16) ? 0 : half;
    }

    private static int IndexOf(byte[] bytes, ReadOnlySpan<byte> value, int from) => from + bytes.AsSpan(from).IndexOf(value);
}
