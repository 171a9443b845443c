using System.Security.Cryptography;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Audits;

/// <summary>
/// The policy in force, by hash, against two witnesses: the last policy load recorded in the evidence
/// chain (what the controller said it enforces) and the policy file on disk (what the site believes it
/// enforces). A mismatch with either fails — an edit not reloaded, a reload not recorded, a file swapped;
/// a witness that cannot be read leaves the check indeterminate.
/// </summary>
public sealed class PolicyHashEvidence(IEvidenceStore store) : IAuditEvidenceSource
{
    public string Name => "policy";

    public async Task<IReadOnlyList<AuditCheck>> CollectAsync(AuditScope scope, IProgress<string> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(progress);
        progress.Report("policy: comparing the policy in force with the chain's last policy load and the file on disk");
        var inForce = scope.Policy.Sha256;
        if (string.IsNullOrEmpty(inForce))
        {
            return [new AuditCheck(Name, "policy hash", [], AuditOutcome.Indeterminate, "the policy in force has no hash")];
        }

        return [await RecordedAsync(inForce, cancellationToken).ConfigureAwait(false), await OnDiskAsync(scope.Policy.SourcePath, inForce, cancellationToken).ConfigureAwait(false)];
    }

    private async Task<AuditCheck> RecordedAsync(string inForce, CancellationToken cancellationToken)
    {
        const string check = "policy hash on record";
        string? recorded = null;
        long index = -1;
        try
        {
            await foreach (var record in store.ReadAsync(new RecordQuery { Type = RecordTypes.PolicyLoad }, cancellationToken).ConfigureAwait(false))
            {
                if (record.Payload is { } payload && LoadedHash(payload) is { } sha)
                {
                    (recorded, index) = (sha, record.Index);
                }
            }
        }
        catch (Exception e) when (e is StoreUnavailableException or InvalidOperationException or IOException)
        {
            return new AuditCheck(Name, check, [], AuditOutcome.Indeterminate, $"the chain cannot be read: {e.Message}");
        }

        if (recorded is null)
        {
            return new AuditCheck(Name, check, [], AuditOutcome.Indeterminate, "no policy load in the chain");
        }

        return string.Equals(recorded, inForce, StringComparison.OrdinalIgnoreCase)
            ? new AuditCheck(Name, check, [], AuditOutcome.Pass, $"sha256 {inForce}, as the last policy load recorded (record {index})")
            : new AuditCheck(Name, check, [], AuditOutcome.Fail, $"the policy in force is sha256 {inForce} but the last policy load recorded (record {index}) is {recorded}");
    }

    private async Task<AuditCheck> OnDiskAsync(string path, string inForce, CancellationToken cancellationToken)
    {
        const string check = "policy file on disk";
        if (string.IsNullOrEmpty(path))
        {
            return new AuditCheck(Name, check, [], AuditOutcome.Pass, "the policy in force was not loaded from a file");
        }

        string onDisk;
        try
        {
            // Read as the policy is loaded: a regular file within the policy's cap, never a pipe waited on.
            var bytes = await Task.Run(() => BoundedFile.Read(path, PolicyLoader.MaxFileBytes), cancellationToken).ConfigureAwait(false);
            if (bytes is null)
            {
                return new AuditCheck(Name, check, [], AuditOutcome.Fail, $"{path} is larger than {PolicyLoader.MaxFileBytes / (1024 * 1024)} MiB: it is not the policy in force");
            }

            onDisk = Convert.ToHexStringLower(SHA256.HashData(bytes));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new AuditCheck(Name, check, [], AuditOutcome.Indeterminate, $"{path} cannot be read: {e.Message}");
        }

        return string.Equals(onDisk, inForce, StringComparison.OrdinalIgnoreCase)
            ? new AuditCheck(Name, check, [], AuditOutcome.Pass, $"{path} is the policy in force (sha256 {inForce})")
            : new AuditCheck(Name, check, [], AuditOutcome.Fail, $"{path} (sha256 {onDisk}) is not the policy in force (sha256 {inForce}): edited and not reloaded, or replaced");
    }

    /// <summary>The hash a policy-load record says came into force (offline purges apply a policy, they do not load one).</summary>
    private static string? LoadedHash(ReadOnlyMemory<byte> payload)
    {
        try
        {
            using var document = JsonDocument.Parse(payload);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("sha256", out var sha) || sha.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            return root.TryGetProperty("event", out var cause) && cause.ValueKind == JsonValueKind.String && cause.GetString() == PolicyLoadRecord.Purge
                ? null
                : sha.GetString();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
