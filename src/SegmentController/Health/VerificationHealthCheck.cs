using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SegmentController.Health;

/// <summary>Unhealthy while any verification source the controller runs is not working.</summary>
internal sealed class VerificationHealthCheck : IHealthCheck
{
    private readonly VerificationHealth _health;

    public VerificationHealthCheck(VerificationHealth health)
    {
        ArgumentNullException.ThrowIfNull(health);
        _health = health;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var snapshot = _health.Snapshot();
        var failing = snapshot.Where(s => !s.Value.Healthy).Select(s => $"{s.Key}: {s.Value.Detail}").ToArray();
        var data = snapshot.ToDictionary(s => s.Key, s => (object)s.Value, StringComparer.Ordinal);
        return Task.FromResult(failing.Length == 0
            ? HealthCheckResult.Healthy(snapshot.Count == 0 ? "no verification source configured" : "every verification source works", data)
            : HealthCheckResult.Unhealthy(string.Join("; ", failing), data: data));
    }
}
