using System.Security.Cryptography;
using SegmentController.Core.Policy;

namespace SegmentController.Storage.Chain;

/// <summary>An ECDSA P-256 key that signs checkpoints; its id is the hex SHA-256 of its public key (SPKI).</summary>
internal sealed class SigningKey : IDisposable
{
    private readonly ECDsa _key;

    private SigningKey(ECDsa key)
    {
        _key = key;
        PublicKey = key.ExportSubjectPublicKeyInfo();
        Id = KeyIdOf(PublicKey);
    }

    /// <summary>SubjectPublicKeyInfo (DER).</summary>
    public byte[] PublicKey { get; }

    /// <summary>Hex SHA-256 of <see cref="PublicKey"/>.</summary>
    public string Id { get; }

    /// <summary>Reads a PEM private key (PKCS#8 or SEC1) from a file; it must be P-256.</summary>
    /// <exception cref="InvalidOperationException">The file is unreadable or holds no P-256 key.</exception>
    public static SigningKey Load(string path)
    {
        string pem;
        try
        {
            // Read as the certificates' keys are: a regular file of at most 1 MiB, never a pipe or a device waited on.
            pem = CertificateLoader.ReadPem(path, "key file");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"signing key {path} cannot be read: {e.Message}", e);
        }

        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            var curve = key.ExportParameters(false).Curve;
            if (key.KeySize != 256 || curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
            {
                throw new InvalidOperationException($"signing key {path} is not an ECDSA P-256 key");
            }

            return new SigningKey(key);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new InvalidOperationException($"signing key {path} is not a PEM private key: {e.Message}", e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Creates a new P-256 key and writes it as PKCS#8 PEM, readable by the owner only. The file appears whole
    /// or not at all: the key is written to a new file beside it, synced, and renamed into place (never over
    /// a file of that name), and the directory synced, so a full disk or a crash part-way leaves no key file
    /// a later start would load and refuse, and a key the chain then introduces is on disk before it.
    /// </summary>
    /// <exception cref="InvalidOperationException">The file cannot be made there (no such directory, no permission, no space, a file of that name appeared).</exception>
    public static SigningKey CreateFile(string path)
    {
        try
        {
            return WriteNewFile(path);
        }
        catch (DirectoryNotFoundException)
        {
            throw new InvalidOperationException($"signing key {path} cannot be created: directory {Path.GetDirectoryName(Path.GetFullPath(path))} does not exist");
        }
        catch (UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"signing key {path} cannot be created: permission denied");
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"signing key {path} cannot be created: {WithoutPath(e.Message)}", e);
        }
    }

    private static SigningKey WriteNewFile(string path)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full) ?? "/";
        var partial = Core.PartialFiles.NewNameFor(full);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            var pem = System.Text.Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem());
            try
            {
                using (var stream = Core.OwnerOnlyFile.CreateNew(partial, FileAccess.Write))
                {
                    stream.Write(pem);
                    stream.Flush(flushToDisk: true);
                }

                File.Move(partial, full, overwrite: false);
            }
            finally
            {
                File.Delete(partial);
            }

            Core.DirectorySync.Sync(directory);
            return new SigningKey(key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>The runtime's message without the partial file's name it ends with (" : '/dir/.key.partial'").</summary>
    private static string WithoutPath(string message)
    {
        var at = message.IndexOf(" : '", StringComparison.Ordinal);
        return at > 0 ? message[..at] : message;
    }

    /// <summary>Loads the key at <paramref name="path"/>, creating it first when the file does not exist.</summary>
    /// <remarks>A directory, named pipe or device of that name is loaded, to be refused saying what it is.</remarks>
    /// <param name="path">The key file.</param>
    /// <param name="notice">Told what <see cref="RemoveLeftovers"/> found beside it, one line each.</param>
    public static SigningKey LoadOrCreate(string path, Action<string>? notice = null)
    {
        RemoveLeftovers(path, notice);
        return File.Exists(path) || BoundedFile.NotRegularReason(path) is not null ? Load(path) : CreateFile(path);
    }

    /// <summary>
    /// Removes the partial files of the key at <paramref name="path"/> that a crash between their creation and
    /// their rename left beside it (<see cref="CreateFile"/>'s, each a copy of a private key nothing would
    /// otherwise ever remove), telling <paramref name="notice"/> what it removed, and what of such a name it
    /// left because it is no file the writer makes (a symbolic link, a directory). The store's writer lock is
    /// held while it runs: no write of that store's key is under way.
    /// </summary>
    public static void RemoveLeftovers(string path, Action<string>? notice)
    {
        foreach (var line in Core.PartialFiles.RemoveLeftovers(path, "signing key"))
        {
            notice?.Invoke(line);
        }
    }

    /// <summary>Signs a statement (SHA-256, IEEE P1363 r‖s).</summary>
    public byte[] Sign(byte[] statement) =>
        _key.SignData(statement, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    /// <summary>The id of a public key.</summary>
    public static string KeyIdOf(ReadOnlySpan<byte> spki) => Convert.ToHexStringLower(SHA256.HashData(spki));

    /// <summary>Verifies a signature made by <see cref="Sign"/> with a public key.</summary>
    public static bool Verify(ECDsa publicKey, byte[] statement, byte[] signature) =>
        publicKey.VerifyData(statement, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    /// <summary>Imports a public key (SPKI); null when it is not a P-256 key.</summary>
    public static ECDsa? ImportPublic(byte[] spki)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(spki, out var read);
            if (read != spki.Length || key.KeySize != 256)
            {
                key.Dispose();
                return null;
            }

            return key;
        }
        catch (CryptographicException)
        {
            key.Dispose();
            return null;
        }
    }

    public void Dispose() => _key.Dispose();
}
