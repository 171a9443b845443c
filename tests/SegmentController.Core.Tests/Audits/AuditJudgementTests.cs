using SegmentController.Core.Audits;

namespace SegmentController.Core.Tests.Audits;

public sealed class AuditJudgementTests
{
    [Fact]
    public void AnyFailure_Fails_EvenWithMissingEvidence()
    {
        var results = AuditReport.Judge(["alpha"], [Check("snmp", AuditOutcome.Fail, "alpha"), Check("capture", AuditOutcome.Indeterminate, "alpha")], ["snmp", "capture"]);
        Assert.Equal(AuditOutcome.Fail, results[0].Outcome);
    }

    [Fact]
    public void IndeterminateCheck_NeverPass()
    {
        var results = AuditReport.Judge(["alpha"], [Check("snmp", AuditOutcome.Pass, "alpha"), Check("capture", AuditOutcome.Indeterminate)], ["snmp", "capture"]);
        Assert.Equal(AuditOutcome.Indeterminate, results[0].Outcome);
    }

    [Fact]
    public void SourceSilentForClient_Indeterminate()
    {
        var results = AuditReport.Judge(["alpha", "beta"], [Check("snmp", AuditOutcome.Pass, "alpha")], ["snmp"]);
        Assert.Equal(AuditOutcome.Pass, results[0].Outcome);
        Assert.Equal(AuditOutcome.Indeterminate, results[1].Outcome);
    }

    [Fact]
    public void NoSourcesAtAll_NotPass()
    {
        var results = AuditReport.Judge(["alpha"], [], ["snmp", "capture", "proxy", "policy", "store"]);
        Assert.Equal(AuditOutcome.Indeterminate, results[0].Outcome);
        Assert.Equal(5, results[0].MissingEvidence.Count);
    }

    private static AuditCheck Check(string source, AuditOutcome outcome, params string[] clients) =>
        new(source, source + " check", clients, outcome, "");
}
