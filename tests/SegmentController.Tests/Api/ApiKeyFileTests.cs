using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using SegmentController.Api;
using SegmentController.Tests.Audits;

namespace SegmentController.Tests.Api;

public sealed class ApiKeyFileTests
{
    private static readonly string Hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("k")));
    private static readonly string OtherHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("a certificate")));

    [Fact]
    public void MixedFile_ValidLinesInForceAndEveryBadLineReported()
    {
        var text = $"""
            # comment
            alice operator,approver sha256:{Hash}   # trailing comment
            bob wizard sha256:{Hash}
            carol viewer plaintext-key
            dave viewer sha256:1234
            erin admin
            ops admin cert-sha256:{Hash.ToUpperInvariant()}
            alice viewer sha256:{Hash}
            """;
        var (credentials, errors) = ApiKeyFile.Parse(text, "keys");
        Assert.Equal(["alice", "ops"], credentials.Select(c => c.Name).ToArray());
        Assert.True(credentials[1].IsCertificate);
        Assert.Equal(5, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("keys:3:", StringComparison.Ordinal) && e.Contains("wizard", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("keys:4:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("keys:8:", StringComparison.Ordinal) && e.Contains("has a key line already", StringComparison.Ordinal));
    }

    [Fact]
    public void OnePersonWithAKeyAndACertificate_BothInForceUnderOneName_ASecondOfEitherKindRefused()
    {
        var text = $"""
            alice operator sha256:{Hash}
            alice approver cert-sha256:{OtherHash}
            Alice viewer cert-sha256:{Hash}
            """;
        var (credentials, errors) = ApiKeyFile.Parse(text, "keys");
        Assert.Equal([("alice", false), ("alice", true)], credentials.Select(c => (c.Name, c.IsCertificate)).ToArray());
        Assert.Contains(errors, e => e.StartsWith("keys:3:", StringComparison.Ordinal) && e.Contains("has a certificate line already", StringComparison.Ordinal));
    }

    [Fact]
    public void MissingFile_NobodyAuthenticates()
    {
        var keys = new ApiKeyFile(Path.Combine(Path.GetTempPath(), $"segctl-no-such-{Guid.NewGuid():N}"));
        Assert.Null(keys.FindByKey("k"));
        Assert.Empty(keys.Credentials);
    }

    [Fact]
    public async Task KeysFileIsNamedPipe_NobodyAuthenticates_WithoutWaitingForAWriter()
    {
        var dir = Directory.CreateTempSubdirectory("segctl-keys-pipe-");
        try
        {
            var path = Path.Combine(dir.FullName, "api-keys");
            Assert.Equal(0, SegmentController.Tests.Infrastructure.NativeMethods.MkFifo(path, Convert.ToUInt32("600", 8)));
            var keys = new ApiKeyFile(path);

            // The check runs on a request's path: a read that waits for the pipe's writer fails here instead of hanging.
            var found = await Task.Run(() => keys.FindByKey("k")).WaitAsync(TimeSpan.FromSeconds(30));

            Assert.Null(found);
            Assert.Contains($"{path}: it is a named pipe (FIFO), not a regular file", keys.Errors);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void NoFileConfigured_NobodyAuthenticates()
    {
        Assert.Null(new ApiKeyFile(null).FindByKey("k"));
    }

    [Fact]
    public void KeyMatchesOnlyItsOwnKind()
    {
        var path = Path.Combine(Path.GetTempPath(), $"segctl-keys-{Guid.NewGuid():N}");
        try
        {
            File.WriteAllText(path, $"ops admin cert-sha256:{Hash}\n");
            var keys = new ApiKeyFile(path);
            Assert.Null(keys.FindByKey("k"));
            Assert.Equal("ops", keys.FindByCertificate(Encoding.UTF8.GetBytes("k"))?.Name);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void RewriteKeepingLengthAndModificationTime_TakesEffectAtTheNextContentCheck()
    {
        var path = Path.Combine(Path.GetTempPath(), $"segctl-keys-{Guid.NewGuid():N}");
        try
        {
            var clock = new HandClock(DateTimeOffset.Parse("2026-03-01T09:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
            var (oldKey, newKey) = (NewKey(), NewKey());
            File.WriteAllText(path, Line("alice", "operator", oldKey));
            var keys = new ApiKeyFile(path, time: clock);
            Assert.Equal("alice", keys.FindByKey(oldKey)?.Name);

            // The rotation an attacker or a careless script could make invisible to size and time alone.
            var modified = File.GetLastWriteTimeUtc(path);
            File.WriteAllText(path, Line("alice", "operator", newKey));
            File.SetLastWriteTimeUtc(path, modified);
            Assert.Equal(modified, File.GetLastWriteTimeUtc(path));
            Assert.Equal(Line("alice", "operator", oldKey).Length, new FileInfo(path).Length);

            // Within the interval the snapshot stands (so this test really hides the change from stat)...
            Assert.Equal("alice", keys.FindByKey(oldKey)?.Name);
            clock.Advance(ApiKeyFile.ContentRecheckInterval);

            // ...and at the next content check the old key is revoked and the new one in force.
            Assert.Null(keys.FindByKey(oldKey));
            Assert.Equal("alice", keys.FindByKey(newKey)?.Name);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void RewriteChangingModificationTime_TakesEffectAtOnce()
    {
        var path = Path.Combine(Path.GetTempPath(), $"segctl-keys-{Guid.NewGuid():N}");
        try
        {
            var clock = new HandClock(DateTimeOffset.Parse("2026-03-01T09:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
            var (oldKey, newKey) = (NewKey(), NewKey());
            File.WriteAllText(path, Line("alice", "operator", oldKey));
            var keys = new ApiKeyFile(path, time: clock);
            Assert.NotNull(keys.FindByKey(oldKey));

            File.WriteAllText(path, Line("alice", "operator", newKey));
            File.SetLastWriteTimeUtc(path, File.GetLastWriteTimeUtc(path).AddSeconds(1));

            Assert.Null(keys.FindByKey(oldKey));
            Assert.NotNull(keys.FindByKey(newKey));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void UnchangedContent_RecheckedOrTouched_ReportsItsProblemsOnce()
    {
        var path = Path.Combine(Path.GetTempPath(), $"segctl-keys-{Guid.NewGuid():N}");
        try
        {
            var clock = new HandClock(DateTimeOffset.Parse("2026-03-01T09:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
            var key = NewKey();
            File.WriteAllText(path, Line("alice", "operator", key) + "\nbob wizard sha256:" + Hash + "\n");
            var logger = new ListLogger();
            var keys = new ApiKeyFile(path, logger, clock);

            for (var i = 0; i < 3; i++)
            {
                Assert.NotNull(keys.FindByKey(key));
                clock.Advance(ApiKeyFile.ContentRecheckInterval);
                File.SetLastWriteTimeUtc(path, File.GetLastWriteTimeUtc(path).AddSeconds(1));
            }

            Assert.NotNull(keys.FindByKey(key));
            Assert.Single(logger.Messages, m => m.Contains("wizard", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string NewKey() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    private static string Line(string name, string roles, string key) =>
        $"{name} {roles} sha256:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))}\n";

    private sealed class ListLogger : ILogger
    {
        private readonly List<string> _messages = [];

        public IReadOnlyList<string> Messages
        {
            get
            {
                lock (_messages)
                {
                    return [.. _messages];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_messages)
            {
                _messages.Add(formatter(state, exception));
            }
        }
    }
}
