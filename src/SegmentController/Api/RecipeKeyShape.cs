namespace SegmentController.Api;

/// <summary>
/// Whether a presented API key has the shape of a key the keys file's recipe makes
/// (<c>openssl rand -hex 32</c>: 64 hex digits, 256 random bits), the only API keys served from an address
/// locked out for failed authentications. The keys file holds hashes alone, so how a key was made is
/// judged from the key as presented, by three deterministic rules that a random key passes and a chosen
/// one mostly does not: 64 to 128 hex digits (either case); at least <see cref="MinimumDistinctDigits"/>
/// different digits, a letter among them; no piece of <see cref="RepeatedPieceLength"/> digits found
/// twice, overlapping or not (so no digit 15 times in a row). A passphrase, a word, a date or a number,
/// a pattern repeated and base64 fail it. About one random recipe key in 10^13 fails it (no letter:
/// 8.6·10^-14; a repeated piece: at most 1.8·10^-14; too few different digits: 7·10^-16). What
/// it cannot see is a hex string derived from something chosen (a hash of a passphrase): such a key
/// looks random and is as guessable as what it was derived from.
/// </summary>
internal static class RecipeKeyShape
{
    /// <summary>The fewest hex digits: the recipe's 32 random bytes.</summary>
    public const int MinimumLength = 64;

    /// <summary>
    /// The most hex digits (<c>openssl rand -hex 64</c>). A longer key is no safer; bounding it keeps the
    /// check, which runs for every request from a locked-out address, small.
    /// </summary>
    public const int MaximumLength = 128;

    /// <summary>The fewest different hex digits (of the 16) a key must use.</summary>
    public const int MinimumDistinctDigits = 9;

    /// <summary>The length of a piece that may not appear twice in a key (overlapping or not).</summary>
    public const int RepeatedPieceLength = 14;

    // The digits a to f, as bits of a mask indexed by digit value.
    private const int LetterDigits = 0xFC00;

    /// <summary>True when <paramref name="key"/> has the recipe's shape.</summary>
    public static bool Matches(ReadOnlySpan<char> key)
    {
        if (key.Length is < MinimumLength or > MaximumLength)
        {
            return false;
        }

        Span<byte> digits = stackalloc byte[MaximumLength];
        digits = digits[..key.Length];
        var used = 0;
        for (var i = 0; i < key.Length; i++)
        {
            var value = HexValue(key[i]);
            if (value < 0)
            {
                return false;
            }

            digits[i] = (byte)value;
            used |= 1 << value;
        }

        return int.PopCount(used) >= MinimumDistinctDigits && (used & LetterDigits) != 0 && !HasRepeatedPiece(digits);
    }

    /// <summary>
    /// A piece of <see cref="RepeatedPieceLength"/> digits at two places <c>shift</c> apart is that many
    /// equal digits in a row when the key is compared with itself shifted.
    /// </summary>
    private static bool HasRepeatedPiece(ReadOnlySpan<byte> digits)
    {
        for (var shift = 1; shift <= digits.Length - RepeatedPieceLength; shift++)
        {
            var run = 0;
            for (var i = 0; i + shift < digits.Length; i++)
            {
                run = digits[i] == digits[i + shift] ? run + 1 : 0;
                if (run >= RepeatedPieceLength)
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}
