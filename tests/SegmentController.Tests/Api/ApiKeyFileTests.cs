using System.Security.Cryptography;
using System.Text;
using SegmentController.Api;

namespace SegmentController.Tests.Api;

public sealed class ApiKeyFileTests
{
    private static readonly string Hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("k")));

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
        Assert.Contains(errors, e => e.StartsWith("keys:8:", StringComparison.Ordinal) && e.Contains("twice", StringComparison.Ordinal));
    }

    [Fact]
    public void MissingFile_NobodyAuthenticates()
    {
        var keys = new ApiKeyFile(Path.Combine(Path.GetTempPath(), $"segctl-no-such-{Guid.NewGuid():N}"));
        Assert.Null(keys.FindByKey("k"));
        Assert.Empty(keys.Credentials);
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
}
