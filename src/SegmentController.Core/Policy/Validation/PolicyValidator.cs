using SegmentController.Core.Policy.Loading;

namespace SegmentController.Core.Policy.Validation;

/// <summary>
/// Runs every cross-entry rule, without short-circuiting: a policy is judged whole, so one run of
/// <c>segctl policy check</c> lists everything there is to fix.
/// </summary>
internal static class PolicyValidator
{
    private static readonly IPolicyRule[] Rules =
    [
        new UniqueNamesRule(),
        new ReservedClientIdRule(),
        new SwitchReferenceRule(),
        new VlanConflictRule(),
        new SubnetOverlapRule(),
        new PortConflictRule(),
        new ForceShutPortRule(),
        new ProxyAddressRule(),
        new UpstreamHostConflictRule(),
        new AgentCertificateRule(),
    ];

    public static void Validate(PolicyFacts facts, PolicyDiagnostics diagnostics)
    {
        ArgumentNullException.ThrowIfNull(facts);
        ArgumentNullException.ThrowIfNull(diagnostics);
        foreach (var rule in Rules)
        {
            rule.Check(facts, diagnostics);
        }
    }
}
