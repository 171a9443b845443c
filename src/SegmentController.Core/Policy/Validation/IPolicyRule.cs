using SegmentController.Core.Policy.Loading;

namespace SegmentController.Core.Policy.Validation;

/// <summary>One cross-entry check of a policy. Rules report every violation they see and never throw.</summary>
internal interface IPolicyRule
{
    void Check(PolicyFacts facts, PolicyDiagnostics diagnostics);
}
