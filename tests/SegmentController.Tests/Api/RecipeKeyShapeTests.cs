using System.Security.Cryptography;
using SegmentController.Api;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Api;

/// <summary>Which presented keys have the shape of the keys file's recipe, <c>openssl rand -hex 32</c>.</summary>
public sealed class RecipeKeyShapeTests
{
    private const string RecipeKey = "2a5f4d8cdca3cae875e6c8f8f90b34451bf91a5e83578955987f2674a9b12ed8";

    [Fact]
    public void RecipeKeys_HundredThousandGenerated_NoneRefused()
    {
        var refused = new List<string>();
        for (var i = 0; i < 100_000; i++)
        {
            var key = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            if (!RecipeKeyShape.Matches(key))
            {
                refused.Add(key);
            }
        }

        Assert.Empty(refused);
    }

    [Fact]
    public async Task RecipeKeys_TwoHundredFromOpenssl_NoneRefused()
    {
        var refused = new List<string>();
        for (var i = 0; i < 200; i++)
        {
            var (exit, output) = await ExternalTool.RunAsync("openssl", Path.GetTempPath(), "rand", "-hex", "32");
            Assert.Equal(0, exit);
            var key = output.Trim();
            Assert.Equal(RecipeKeyShape.MinimumLength, key.Length);
            if (!RecipeKeyShape.Matches(key))
            {
                refused.Add(key);
            }
        }

        Assert.Empty(refused);
    }

    [Fact]
    public void LongerRandomHexKeys_UpperCaseToo_TenThousandGeneratedOfEachLength_NoneRefused()
    {
        var refused = new List<string>();
        foreach (var bytes in new[] { 33, 48, 64 })
        {
            for (var i = 0; i < 10_000; i++)
            {
                var key = Convert.ToHexString(RandomNumberGenerator.GetBytes(bytes));
                if (!RecipeKeyShape.Matches(key))
                {
                    refused.Add(key);
                }
            }
        }

        Assert.Empty(refused);
    }

    [Theory]
    [InlineData(RecipeKey)]
    [InlineData("2A5F4D8CDCA3CAE875E6C8F8F90B34451BF91A5E83578955987F2674A9B12ED8")]
    [InlineData("a9548d33cc1656b62e6a70c557109ac4a96030ce1eb83ae5df6fe2f30da1d651a24075ece1512e62f005da1b29442df1de2903fa3672b355648ee5d5474e5f76")]
    // A piece of 13 digits found twice, a digit 14 times in a row and ten different digits are still a
    // random key's chance.
    [InlineData(RecipeKey + "2a5f4d8cdca3c")]
    [InlineData("2a5f4d8cdca3cae875e6c8f8f90b34451bf91a5e835700000000000000b12ed8")]
    [InlineData("18a555a7a71147104a74650752a17034236671276842684656321223307a2440")]
    // A decimal number with a letter is not told apart from a random key: nothing but the letter rule sees decimals.
    [InlineData("3141592653589793238462643383279502884197169399375105820974944592a")]
    public void RecipeShapedKeys_Match(string key) => Assert.True(RecipeKeyShape.Matches(key));

    [Theory]
    // Passphrases, however long.
    [InlineData("correct horse battery staple 2026!")]
    [InlineData("correct horse battery staple 2026 on sea")]
    [InlineData("CorrectHorseBatteryStapleCorrectHorseBatteryStaple2026")]
    // Base64 and base64url of 32 random bytes: not the recipe.
    [InlineData("fji2cIzhIm00jRRgGJO7cUvlHb+Lbjm/4koaq96hVKc=")]
    [InlineData("fji2cIzhIm00jRRgGJO7cUvlHb-Lbjm_4koaq96hVKc")]
    // Hex, but too short or too long.
    [InlineData("2a5f4d8cdca3cae875e6c8f8f90b34451bf91a5e83578955987f2674a9b12ed")]
    [InlineData("a9548d33cc1656b62e6a70c557109ac4a96030ce1eb83ae5df6fe2f30da1d651a24075ece1512e62f005da1b29442df1de2903fa3672b355648ee5d5474e5f76a")]
    // Not hex throughout.
    [InlineData("2a5f4d8cdca3cae875e6c8f8f90b34451bf91a5e83578955987f2674a9b12edg")]
    [InlineData("2a5f4d8cdca3cae875e6c8f8f90b3445 1bf91a5e83578955987f2674a9b12ed8")]
    [InlineData("0x2a5f4d8cdca3cae875e6c8f8f90b34451bf91a5e83578955987f2674a9b12ed8")]
    // A pattern repeated.
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef")]
    [InlineData("1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef")]
    // A piece of 14 digits found twice.
    [InlineData(RecipeKey + "2a5f4d8cdca3ca")]
    // A digit 15 times in a row.
    [InlineData("2a5f4d8cdca3cae875e6c8f8f90b34451bf91a5e835700000000000000012ed8")]
    // Too few different digits: four letters, eight digits.
    [InlineData("aabbaabbccddabcdaaaabcbbcdaccaddbcbacdadbbcccaddcbaaabcddabbcdca")]
    [InlineData("526011503016613160130603024621421351103a65aa5432314a5a4116252a60")]
    // A number: digits alone.
    [InlineData("3141592653589793238462643383279502884197169399375105820974944592")]
    [InlineData("2026112720260101202612312025060720241130202311142022092120210305")]
    public void ChosenOrMalformedKeys_DoNotMatch(string key) => Assert.False(RecipeKeyShape.Matches(key));

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")]
    public void DegenerateKeys_DoNotMatch(string key) => Assert.False(RecipeKeyShape.Matches(key));

    [Fact]
    public void LongOrNonAsciiKeys_DoNotMatch()
    {
        Assert.False(RecipeKeyShape.Matches(new string('a', 1024) + RecipeKey));
        Assert.False(RecipeKeyShape.Matches(RecipeKey + new string('\0', 64)));
        Assert.False(RecipeKeyShape.Matches(RecipeKey[..32] + "\u0663" + RecipeKey[33..]));
    }
}
