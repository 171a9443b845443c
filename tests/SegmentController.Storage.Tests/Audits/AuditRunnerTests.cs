using SegmentController.Core.Audits;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Storage.Sqlite;
using SegmentController.Storage.Tests.Support;

namespace SegmentController.Storage.Tests.Audits;

/// <summary>Audits against a real store: results per client, indeterminate never a pass, failures raise audit-failed and are on record.</summary>
public sealed class AuditRunnerTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(Stores.Start);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task CleanEvidence_Passes_RecordedInChain()
    {
        var path = _dir.File("audit-pass.db");
        await using var store = await Stores.OpenAsync(path, _time);
        var sink = new CollectingSink();
        var runner = new AuditRunner([new PolicyHashEvidence(store), new StoreVerificationEvidence(store), new FixedSource("snmp", [])], store, sink, _time);
        var scope = Scope("alpha", "beta");
        await RecordLoadAsync(store, scope);

        var report = await runner.RunAsync(scope, "on-demand", new Progress<string>(), CancellationToken.None);

        Assert.All(report.Results, r => Assert.Equal(AuditOutcome.Pass, r.Outcome));
        Assert.Empty(sink.Findings);
        var recorded = Assert.Single(StoreFile.Read(path, new RecordQuery { Type = RecordTypes.AuditResult }));
        Assert.Equal(report.RecordIndex, recorded.Index);
        Assert.Equal("alpha,beta", recorded.Clients);
    }

    [Fact]
    public async Task FailingCheck_FailsThatClientOnly_RaisesAuditFailed()
    {
        var path = _dir.File("audit-fail.db");
        await using var store = await Stores.OpenAsync(path, _time);
        var sink = new CollectingSink();
        var snmp = new FixedSource("snmp",
        [
            new AuditCheck("snmp", "switch sw1 port 3 isolation", ["alpha"], AuditOutcome.Fail, "port 3 is in beta's VLAN"),
            new AuditCheck("snmp", "switch sw1 port 7 isolation", ["beta"], AuditOutcome.Pass, "clean"),
        ]);
        var runner = new AuditRunner([new PolicyHashEvidence(store), new StoreVerificationEvidence(store), snmp], store, sink, _time);
        var scope = Scope("alpha", "beta");
        await RecordLoadAsync(store, scope);

        var report = await runner.RunAsync(scope, "on-demand", new Progress<string>(), CancellationToken.None);

        Assert.Equal(AuditOutcome.Fail, report.Results.Single(r => r.Client == "alpha").Outcome);
        Assert.Equal(AuditOutcome.Pass, report.Results.Single(r => r.Client == "beta").Outcome);
        var finding = Assert.Single(sink.Findings);
        Assert.Equal(RuleIds.AuditFailed, finding.Rule);
        Assert.Equal(Severity.Critical, finding.Severity);
        Assert.Equal(["alpha"], finding.Clients);
        Assert.True(StoreVerifier.Verify(path, CancellationToken.None).IsIntact);
    }

    [Fact]
    public async Task MissingEvidence_Indeterminate_NeverPass()
    {
        var path = _dir.File("audit-indeterminate.db");
        await using var store = await Stores.OpenAsync(path, _time);
        var sink = new CollectingSink();
        var capture = new FixedSource("capture", [new AuditCheck("capture", "capture loss", ["beta"], AuditOutcome.Indeterminate, "loss 4% above threshold 1%")]);
        var runner = new AuditRunner([new PolicyHashEvidence(store), capture, new ThrowingSource()], store, sink, _time);

        var report = await runner.RunAsync(Scope("alpha", "beta"), "on-demand", new Progress<string>(), CancellationToken.None);

        Assert.All(report.Results, r => Assert.Equal(AuditOutcome.Indeterminate, r.Outcome));
        Assert.Contains(report.Results.Single(r => r.Client == "beta").MissingEvidence, c => c.Name == "capture loss");
        Assert.Empty(sink.Findings);
    }

    [Fact]
    public async Task TamperedStore_FailsEveryClient()
    {
        var path = _dir.File("audit-tampered.db");
        await using var store = await Stores.OpenAsync(path, _time);
        await Stores.FillAsync(store, 5, _time);
        Stores.Tamper(path, "UPDATE records SET payload = x'7b7d' WHERE idx = 3");
        var sink = new CollectingSink();
        var runner = new AuditRunner([new StoreVerificationEvidence(store)], store, sink, _time);

        var report = await runner.RunAsync(Scope("alpha", "beta"), "auditor:kpmg", new Progress<string>(), CancellationToken.None);

        Assert.All(report.Results, r => Assert.Equal(AuditOutcome.Fail, r.Outcome));
        Assert.Equal(2, sink.Findings.Count);
    }

    [Fact]
    public async Task PolicyHash_FailsWhenTheChainOrTheFileOnDiskSaySomethingElse()
    {
        var path = _dir.File("audit-policy.db");
        await using var store = await Stores.OpenAsync(path, _time);
        var file = _dir.File("site.yaml");
        await File.WriteAllTextAsync(file, "site: {id: s}\n");
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(file)));
        var policy = Policies.Site(Policies.Client("alpha")) with { Sha256 = sha, SourcePath = file };
        var scope = new AuditScope(policy, ["alpha"], _time.GetUtcNow().AddHours(-1), _time.GetUtcNow());
        var evidence = new PolicyHashEvidence(store);

        // Nothing on record yet: no witness, never a pass.
        var checks = await evidence.CollectAsync(scope, new Progress<string>(), CancellationToken.None);
        Assert.Equal(AuditOutcome.Indeterminate, checks.Single(c => c.Name == "policy hash on record").Outcome);
        Assert.Equal(AuditOutcome.Pass, checks.Single(c => c.Name == "policy file on disk").Outcome);

        await store.AppendAsync(RecordTypes.PolicyLoad, null, PolicyLoadRecord.Create(policy, PolicyLoadRecord.Start), CancellationToken.None);
        checks = await evidence.CollectAsync(scope, new Progress<string>(), CancellationToken.None);
        Assert.All(checks, c => Assert.Equal(AuditOutcome.Pass, c.Outcome));

        // A later load of another policy on record: the one in force is not what the chain says.
        await store.AppendAsync(RecordTypes.PolicyLoad, null, PolicyLoadRecord.Create(policy with { Sha256 = "0badc0de" }, PolicyLoadRecord.Reload), CancellationToken.None);
        checks = await evidence.CollectAsync(scope, new Progress<string>(), CancellationToken.None);
        var recorded = checks.Single(c => c.Name == "policy hash on record");
        Assert.Equal(AuditOutcome.Fail, recorded.Outcome);
        Assert.Contains("0badc0de", recorded.Detail, StringComparison.Ordinal);

        // An offline purge applies a policy without loading it: not a witness of what is in force.
        await store.AppendAsync(RecordTypes.PolicyLoad, null, PolicyLoadRecord.Create(policy, PolicyLoadRecord.Reload), CancellationToken.None);
        await store.AppendAsync(RecordTypes.PolicyLoad, null, PolicyLoadRecord.Create(policy with { Sha256 = "feed" }, PolicyLoadRecord.Purge), CancellationToken.None);
        checks = await evidence.CollectAsync(scope, new Progress<string>(), CancellationToken.None);
        Assert.Equal(AuditOutcome.Pass, checks.Single(c => c.Name == "policy hash on record").Outcome);

        // The file edited and not reloaded.
        await File.AppendAllTextAsync(file, "# edited\n");
        checks = await evidence.CollectAsync(scope, new Progress<string>(), CancellationToken.None);
        var onDisk = checks.Single(c => c.Name == "policy file on disk");
        Assert.Equal(AuditOutcome.Fail, onDisk.Outcome);
        Assert.Contains("not the policy in force", onDisk.Detail, StringComparison.Ordinal);

        var runner = new AuditRunner([evidence], store, new CollectingSink(), _time);
        var report = await runner.RunAsync(scope, "on-demand", new Progress<string>(), CancellationToken.None);
        Assert.Equal(AuditOutcome.Fail, report.Results.Single().Outcome);
    }

    private static Task<long> RecordLoadAsync(SegmentController.Storage.Sqlite.SqliteEvidenceStore store, AuditScope scope) =>
        store.AppendAsync(RecordTypes.PolicyLoad, null, PolicyLoadRecord.Create(scope.Policy, PolicyLoadRecord.Start), CancellationToken.None).AsTask();

    private AuditScope Scope(params string[] clients) =>
        new(Policies.Site(clients.Select(c => Policies.Client(c)).ToArray()), clients, _time.GetUtcNow().AddHours(-1), _time.GetUtcNow());

    private sealed class FixedSource(string name, IReadOnlyList<AuditCheck> checks) : IAuditEvidenceSource
    {
        public string Name => name;

        public Task<IReadOnlyList<AuditCheck>> CollectAsync(AuditScope scope, IProgress<string> progress, CancellationToken cancellationToken) =>
            Task.FromResult(checks.Count == 0 ? (IReadOnlyList<AuditCheck>)[new AuditCheck(name, $"{name} checks", [], AuditOutcome.Pass, "clean")] : checks);
    }

    private sealed class ThrowingSource : IAuditEvidenceSource
    {
        public string Name => "snmp";

        public Task<IReadOnlyList<AuditCheck>> CollectAsync(AuditScope scope, IProgress<string> progress, CancellationToken cancellationToken) =>
            throw new TimeoutException("switch sw1 unreachable");
    }
}
