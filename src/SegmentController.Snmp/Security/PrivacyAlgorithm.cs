using System.Buffers.Binary;
using System.Security.Cryptography;
using SegmentController.Core.Policy;

namespace SegmentController.Snmp.Security;

/// <summary>USM privacy: AES-128 in CFB-128 (RFC 3826) and, where allowed, DES-CBC (RFC 3414 §8).</summary>
internal static class PrivacyAlgorithm
{
    public static string Name(SnmpPrivProtocol protocol) => protocol switch
    {
        SnmpPrivProtocol.Aes128 => "AES",
        SnmpPrivProtocol.Des => "DES",
        _ => throw new ArgumentOutOfRangeException(nameof(protocol)),
    };

    public static SnmpPrivProtocol Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToUpperInvariant() switch
        {
            "AES" or "AES128" or "AES-128" => SnmpPrivProtocol.Aes128,
            "DES" => SnmpPrivProtocol.Des,
            _ => throw new FormatException($"unknown privacy protocol '{name}' (use AES, or DES where legacy is allowed)"),
        };
    }

    /// <summary>Encrypts a scoped PDU; <paramref name="salt"/> is the 64-bit counter that becomes msgPrivacyParameters.</summary>
    public static byte[] Encrypt(SnmpPrivProtocol protocol, byte[] localizedKey, int engineBoots, int engineTime, ulong salt, ReadOnlySpan<byte> plain, out byte[] privParams)
    {
        ArgumentNullException.ThrowIfNull(localizedKey);
        privParams = new byte[8];
        if (protocol == SnmpPrivProtocol.Aes128)
        {
            BinaryPrimitives.WriteUInt64BigEndian(privParams, salt);
            return AesCfb(localizedKey, AesIv(engineBoots, engineTime, privParams), plain, encrypt: true);
        }

        BinaryPrimitives.WriteInt32BigEndian(privParams, engineBoots);
        BinaryPrimitives.WriteUInt32BigEndian(privParams.AsSpan(4), unchecked((uint)salt));
        var padded = new byte[(plain.Length + 7) / 8 * 8];
        plain.CopyTo(padded);
        return DesCbc(localizedKey, privParams, padded, encrypt: true);
    }

    public static byte[] Decrypt(SnmpPrivProtocol protocol, byte[] localizedKey, int engineBoots, int engineTime, ReadOnlySpan<byte> privParams, ReadOnlySpan<byte> cipher)
    {
        ArgumentNullException.ThrowIfNull(localizedKey);
        if (privParams.Length != 8)
        {
            throw new CryptographicException("msgPrivacyParameters is not 8 octets");
        }

        if (protocol == SnmpPrivProtocol.Aes128)
        {
            return AesCfb(localizedKey, AesIv(engineBoots, engineTime, privParams), cipher, encrypt: false);
        }

        if (cipher.Length % 8 != 0)
        {
            throw new CryptographicException("a DES-encrypted PDU is not a multiple of 8 octets");
        }

        return DesCbc(localizedKey, privParams, cipher, encrypt: false);
    }

    private static byte[] AesIv(int boots, int time, ReadOnlySpan<byte> salt)
    {
        var iv = new byte[16];
        BinaryPrimitives.WriteInt32BigEndian(iv, boots);
        BinaryPrimitives.WriteInt32BigEndian(iv.AsSpan(4), time);
        salt.CopyTo(iv.AsSpan(8));
        return iv;
    }

    // CFB-128 built on the block cipher so that a final partial block needs no padding (RFC 3826 §3.1.3).
    private static byte[] AesCfb(byte[] localizedKey, byte[] iv, ReadOnlySpan<byte> input, bool encrypt)
    {
        using var aes = Aes.Create();
        aes.Key = localizedKey.AsSpan(0, 16).ToArray();
        var output = new byte[input.Length];
        Span<byte> register = stackalloc byte[16];
        Span<byte> stream = stackalloc byte[16];
        iv.CopyTo(register);
        for (var offset = 0; offset < input.Length; offset += 16)
        {
            aes.EncryptEcb(register, stream, PaddingMode.None);
            var count = Math.Min(16, input.Length - offset);
            for (var i = 0; i < count; i++)
            {
                output[offset + i] = (byte)(input[offset + i] ^ stream[i]);
            }

            if (count == 16)
            {
                (encrypt ? output.AsSpan(offset, 16) : input.Slice(offset, 16)).CopyTo(register);
            }
        }

        return output;
    }

    // DES is what RFC 3414 defines; it runs only where the policy explicitly allows legacy SNMP.
#pragma warning disable CA5351
    private static byte[] DesCbc(byte[] localizedKey, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> input, bool encrypt)
    {
        var iv = new byte[8];
        for (var i = 0; i < 8; i++)
        {
            iv[i] = (byte)(localizedKey[8 + i] ^ salt[i]);
        }

        using var des = DES.Create();
        des.Key = localizedKey.AsSpan(0, 8).ToArray();
        return encrypt
            ? des.EncryptCbc(input, iv, PaddingMode.None)
            : des.DecryptCbc(input, iv, PaddingMode.None);
    }
#pragma warning restore CA5351
}
