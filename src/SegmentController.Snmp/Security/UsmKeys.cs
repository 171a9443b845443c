using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using SegmentController.Core.Policy;

namespace SegmentController.Snmp.Security;

/// <summary>
/// RFC 3414 §A.2 password-to-key (1 MB expansion) and key localisation. Both steps are cached: the
/// expansion per pass phrase, the localised key per pass phrase and engine, so polling a hundred switches
/// that share credentials costs one expansion.
/// </summary>
internal sealed class UsmKeys
{
    public const int MinimumPassphraseLength = 8;

    private const int ExpansionLength = 1_048_576;

    private readonly ConcurrentDictionary<(SnmpAuthProtocol, string), byte[]> _masterKeys = new();
    private readonly ConcurrentDictionary<(SnmpAuthProtocol, string, string), byte[]> _localizedKeys = new();

    public static UsmKeys Shared { get; } = new();

    public int MasterKeyComputations { get; private set; }

    public byte[] Localized(SnmpAuthProtocol protocol, string passphrase, ReadOnlySpan<byte> engineId)
    {
        ArgumentNullException.ThrowIfNull(passphrase);
        // The cache key is a digest of the pass phrase, so the pass phrase itself is not kept in a dictionary.
        var fingerprint = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(passphrase)));
        var engine = Convert.ToHexString(engineId);
        if (_localizedKeys.TryGetValue((protocol, fingerprint, engine), out var cached))
        {
            return cached;
        }

        var master = _masterKeys.GetOrAdd((protocol, fingerprint), _ =>
        {
            MasterKeyComputations++;
            return PasswordToKey(protocol, passphrase);
        });
        var localized = Localize(protocol, master, engineId);
        _localizedKeys[(protocol, fingerprint, engine)] = localized;
        return localized;
    }

    public static byte[] PasswordToKey(SnmpAuthProtocol protocol, string passphrase)
    {
        ArgumentNullException.ThrowIfNull(passphrase);
        var password = Encoding.UTF8.GetBytes(passphrase);
        if (password.Length < MinimumPassphraseLength)
        {
            throw new ArgumentException($"an SNMPv3 pass phrase has at least {MinimumPassphraseLength} characters (RFC 3414)", nameof(passphrase));
        }

        var buffer = new byte[ExpansionLength];
        for (var i = 0; i < ExpansionLength; i++)
        {
            buffer[i] = password[i % password.Length];
        }

        return AuthAlgorithm.Hash(protocol, buffer);
    }

    public static byte[] Localize(SnmpAuthProtocol protocol, ReadOnlySpan<byte> masterKey, ReadOnlySpan<byte> engineId)
    {
        var input = new byte[masterKey.Length * 2 + engineId.Length];
        masterKey.CopyTo(input);
        engineId.CopyTo(input.AsSpan(masterKey.Length));
        masterKey.CopyTo(input.AsSpan(masterKey.Length + engineId.Length));
        return AuthAlgorithm.Hash(protocol, input);
    }
}
