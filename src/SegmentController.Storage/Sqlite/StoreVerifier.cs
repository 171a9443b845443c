using Microsoft.Data.Sqlite;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Chain;

namespace SegmentController.Storage.Sqlite;

/// <summary>Verifies a store file: the chain, its checkpoints and the signed head.</summary>
public static class StoreVerifier
{
    /// <summary>Verifies the store at <paramref name="path"/> (no key needed; safe while the writer runs).</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidOperationException">The file is not a readable segctl store.</exception>
    public static VerificationReport Verify(string path, CancellationToken cancellationToken) =>
        Verify(path, directColumns: true, cancellationToken);

    /// <summary>
    /// As <see cref="Verify(string, CancellationToken)"/>, with keys the operator vouches for though no previous key endorsed
    /// them (<paramref name="acceptedKeys"/>, by id): without that, a key introduced unendorsed breaks the chain.
    /// </summary>
    public static VerificationReport Verify(string path, IReadOnlyCollection<string> acceptedKeys, CancellationToken cancellationToken) =>
        Verify(path, directColumns: true, cancellationToken, acceptedKeys);

    /// <summary>As <see cref="Verify(string, CancellationToken)"/>, choosing how rows are read (tests compare both ways).</summary>
    internal static VerificationReport Verify(string path, bool directColumns, CancellationToken cancellationToken, IReadOnlyCollection<string>? acceptedKeys = null)
    {
        try
        {
            using var reader = StoreReader.OpenAsWritten(path);
            if (reader.Altered() is { } altered)
            {
                // Not read through: a view in the records table's place can yield rows without end.
                return new VerificationReport { Count = 0, Problem = new VerificationProblem(0, null, $"the store's schema was altered: {altered}") };
            }

            var purges = reader.ReadPurges();
            using var verifier = new ChainVerifier(reader.ReadHead(), purges, purges.Count > 0 ? reader.ReadPolicyLoads() : [], acceptedKeys: acceptedKeys);
            reader.Feed(verifier, directColumns, cancellationToken);
            return verifier.Finish();
        }
        catch (SqliteException e)
        {
            throw new InvalidOperationException($"store {path} cannot be read: {e.Message}", e);
        }
    }
}
