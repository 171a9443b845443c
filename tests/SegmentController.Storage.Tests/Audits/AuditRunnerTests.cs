using System.Net;
using System.Text;
using System.Text.Json;
using SegmentController.Core.Audits;
using SegmentController.Core.Evidence;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Storage.Export;
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

    [Fact]
    public async Task PolicyHash_FileOnDiskReplacedByNamedPipe_IndeterminateSayingSo_WithoutWaitingForAWriter()
    {
        await using var store = await Stores.OpenAsync(_dir.File("audit-policy-pipe.db"), _time);
        var file = _dir.File("site-pipe.yaml");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [file]))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        var policy = Policies.Site(Policies.Client("alpha")) with { Sha256 = "0badc0de", SourcePath = file };
        var scope = new AuditScope(policy, ["alpha"], _time.GetUtcNow().AddHours(-1), _time.GetUtcNow());

        // An audit that waits for the pipe's writer fails here instead of hanging.
        var checks = await new PolicyHashEvidence(store).CollectAsync(scope, new Progress<string>(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        var onDisk = checks.Single(c => c.Name == "policy file on disk");
        Assert.Equal(AuditOutcome.Indeterminate, onDisk.Outcome);
        Assert.Equal($"{file} cannot be read: it is a named pipe (FIFO), not a regular file", onDisk.Detail);
    }

    [Fact]
    public async Task SiteWideAudit_BravoFails_AlphasExportShowsAlphasOwnView_NothingOfBravo_AndVerifies()
    {
        var path = _dir.File("audit-views.db");
        var scope = new AuditScope(TwoClientSite(), ["alpha", "bravo"], _time.GetUtcNow().AddHours(-1), _time.GetUtcNow());
        AuditReport report;
        await using (var store = await Stores.OpenAsync(path, _time))
        {
            await RecordLoadAsync(store, scope);
            var snmp = new FixedSource("snmp",
            [
                new AuditCheck("snmp", "switch sw1 port ge-0/0/7 port-vlan-mismatch", ["bravo"], AuditOutcome.Fail, "sw1 port ge-0/0/7 of bravo (Bravo Telecom) is an access member of VLAN 21, which is no client's; 10.2.0.9 learned on it"),
                new AuditCheck("snmp", "switch sw1 trunk ge-0/0/24", ["alpha", "bravo"], AuditOutcome.Pass, "carries VLAN 10, 20 for alpha and Bravo Telecom, as the policy says"),
            ]);
            var capture = new FixedSource("capture", [new AuditCheck("capture", "capture findings", [], AuditOutcome.Pass, "VLAN 10 and VLAN 20 (alpha, BRAVO) watched; 10.2.0.9 and 10.1.0.5 quiet")]);
            var runner = new AuditRunner([new PolicyHashEvidence(store), new StoreVerificationEvidence(store), snmp, capture], store, new StoringSink(store), _time);

            report = await runner.RunAsync(scope, "on-demand", new Progress<string>(), CancellationToken.None);
        }

        Assert.Equal(AuditOutcome.Pass, report.Results.Single(r => r.Client == "alpha").Outcome);
        Assert.Equal(AuditOutcome.Fail, report.Results.Single(r => r.Client == "bravo").Outcome);
        Assert.Null(report.ViewsError);

        // One full record (what rebuilds audit state), and each client's own view beside it under its key alone.
        var full = Assert.Single(StoreFile.Read(path, new RecordQuery { Type = RecordTypes.AuditResult }));
        Assert.Equal(report.RecordIndex, full.Index);
        Assert.Equal("alpha,bravo", full.Clients);
        var views = StoreFile.Read(path, new RecordQuery { Type = RecordTypes.AuditView });
        Assert.Equal(["alpha", "bravo"], views.Select(v => v.Clients).Order(StringComparer.Ordinal));
        var bravoView = Encoding.UTF8.GetString(views.Single(v => v.Clients == "bravo").Payload!.Value.Span);
        Assert.Contains("ge-0/0/7", bravoView, StringComparison.Ordinal);
        foreach (var secret in new[] { "alpha", "10.1.0.5", "VLAN 10" })
        {
            Assert.DoesNotContain(secret, bravoView, StringComparison.OrdinalIgnoreCase);
        }

        // alpha's auditor: alpha's outcome and the checks that count for alpha, and nothing of bravo.
        var file = ExportOf(path, "alpha");

        var text = File.ReadAllText(file);
        foreach (var secret in new[] { "bravo", "10.2.0.9", "10.2.0.0", "VLAN 20", "VLAN 21", "ge-0/0/7" })
        {
            Assert.DoesNotContain(secret, text, StringComparison.OrdinalIgnoreCase);
        }

        var lines = File.ReadAllLines(file);
        Assert.Contains(lines, l => l.Contains("\"type\":\"audit-result\",\"withheld\":true", StringComparison.Ordinal));
        using (var line = JsonDocument.Parse(Assert.Single(lines, l => l.Contains("\"kind\":\"record\"", StringComparison.Ordinal) && l.Contains("\"type\":\"audit-view\"", StringComparison.Ordinal))))
        {
            var view = line.RootElement.GetProperty("payload");
            Assert.Equal(report.Id, view.GetProperty("id").GetString());
            Assert.Equal("pass", Assert.Single(view.GetProperty("results").EnumerateObject(), r => r.Name == "alpha").Value.GetString());
            var checks = view.GetProperty("checks").EnumerateArray().ToArray();
            Assert.DoesNotContain(checks, c => c.GetProperty("outcome").GetString() == "fail");
            var trunk = Assert.Single(checks, c => c.GetProperty("name").GetString() == "switch sw1 trunk ge-0/0/24");
            Assert.Equal(["alpha"], trunk.GetProperty("clients").EnumerateArray().Select(c => c.GetString()));
            Assert.Equal("carries VLAN 10, [another client's VLAN] for alpha and another client, as the policy says", trunk.GetProperty("detail").GetString());
            var capture = Assert.Single(checks, c => c.GetProperty("source").GetString() == "capture");
            Assert.Equal("VLAN 10 and VLAN [another client's VLAN] (alpha, another client) watched; [another client's address] and 10.1.0.5 quiet", capture.GetProperty("detail").GetString());
        }

        var verified = ExportVerifier.Verify(file, CancellationToken.None);
        Assert.True(verified.IsIntact, verified.Problem?.Reason);

        // The site-wide export still has the full report, bravo's failure and all.
        var site = _dir.File("site.jsonl");
        using (var stream = File.Create(site))
        {
            EvidenceExport.Write(path, new RecordQuery(), stream, _time.GetUtcNow(), CancellationToken.None);
        }

        var fullLine = Assert.Single(File.ReadAllLines(site), l => l.Contains("\"type\":\"audit-result\"", StringComparison.Ordinal));
        Assert.Contains("\"bravo\":\"fail\"", fullLine, StringComparison.Ordinal);
        Assert.Contains("of bravo (Bravo Telecom) is an access member of VLAN 21", fullLine, StringComparison.Ordinal);
        Assert.True(ExportVerifier.Verify(site, CancellationToken.None).IsIntact);
    }

    [Fact]
    public async Task PortInAnotherClientsVlan_AuditFailedFindingOfEach_NamesNothingOfTheOther()
    {
        var path = _dir.File("audit-failed-redacted.db");
        var scope = new AuditScope(TwoClientSite(), ["alpha", "bravo"], _time.GetUtcNow().AddHours(-1), _time.GetUtcNow());
        StoringSink sink;
        AuditReport report;
        await using (var store = await Stores.OpenAsync(path, _time))
        {
            await RecordLoadAsync(store, scope);
            // What SnmpAuditEvidence makes of a port-vlan-mismatch: the port's owner and the VLAN's, both failed.
            var snmp = new FixedSource("snmp",
            [
                new AuditCheck("snmp", "switch sw1 port ge-0/0/3 port-vlan-mismatch", ["alpha", "bravo"], AuditOutcome.Fail, "sw1 port ge-0/0/3 of alpha is an access member of VLAN 20, which is bravo's"),
            ]);
            sink = new StoringSink(store);
            var runner = new AuditRunner([new PolicyHashEvidence(store), new StoreVerificationEvidence(store), snmp], store, sink, _time);

            report = await runner.RunAsync(scope, "on-demand", new Progress<string>(), CancellationToken.None);
        }

        Assert.All(report.Results, r => Assert.Equal(AuditOutcome.Fail, r.Outcome));
        var alpha = sink.Findings.Single(f => f.Clients.SequenceEqual(["alpha"]));
        Assert.Equal(RuleIds.AuditFailed, alpha.Rule);
        Assert.Contains(report.Id, alpha.Summary, StringComparison.Ordinal);
        Assert.Equal(report.RecordIndex, alpha.Evidence["record_index"]);
        Assert.Equal(["snmp: switch sw1 port ge-0/0/3 port-vlan-mismatch: sw1 port ge-0/0/3 of alpha is an access member of VLAN [another client's VLAN], which is another client's"], (string[])alpha.Evidence["failing_checks"]!);
        var bravo = sink.Findings.Single(f => f.Clients.SequenceEqual(["bravo"]));
        Assert.Equal(["snmp: switch sw1 port ge-0/0/3 port-vlan-mismatch: sw1 port ge-0/0/3 of another client is an access member of VLAN 20, which is bravo's"], (string[])bravo.Evidence["failing_checks"]!);

        // alpha's export carries alpha's finding in full and nothing of bravo; the full report keeps every word.
        var file = ExportOf(path, "alpha");

        var text = File.ReadAllText(file);
        Assert.DoesNotContain("bravo", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("VLAN 20", text, StringComparison.Ordinal);
        Assert.Contains(File.ReadAllLines(file), l => l.Contains("\"kind\":\"record\"", StringComparison.Ordinal) && l.Contains("\"audit-failed\"", StringComparison.Ordinal) && l.Contains(report.Id, StringComparison.Ordinal));
        Assert.True(ExportVerifier.Verify(file, CancellationToken.None).IsIntact);
        var full = Assert.Single(StoreFile.Read(path, new RecordQuery { Type = RecordTypes.AuditResult }));
        Assert.Contains("is an access member of VLAN 20, which is bravo", Encoding.UTF8.GetString(full.Payload!.Value.Span), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuditOfAlphaAlone_CheckNamingBravo_RecordKeyedToBoth_AlphasExportShowsItsViewAndNothingOfBravo()
    {
        var path = _dir.File("audit-one-client.db");
        var scope = new AuditScope(TwoClientSite(), ["alpha"], _time.GetUtcNow().AddHours(-1), _time.GetUtcNow());
        AuditReport report;
        await using (var store = await Stores.OpenAsync(path, _time))
        {
            await RecordLoadAsync(store, scope);
            var snmp = new FixedSource("snmp",
            [
                new AuditCheck("snmp", "switch sw1 port ge-0/0/3 port-vlan-mismatch", ["alpha", "bravo"], AuditOutcome.Fail, "sw1 port ge-0/0/3 of alpha is an access member of VLAN 20, which is bravo's"),
            ]);
            var runner = new AuditRunner([new PolicyHashEvidence(store), new StoreVerificationEvidence(store), snmp], store, new StoringSink(store), _time);

            report = await runner.RunAsync(scope, "on-demand", new Progress<string>(), CancellationToken.None);
        }

        Assert.Equal("alpha", Assert.Single(report.Results).Client);
        Assert.Equal("alpha,bravo", Assert.Single(StoreFile.Read(path, new RecordQuery { Type = RecordTypes.AuditResult })).Clients);
        Assert.Equal("alpha", Assert.Single(StoreFile.Read(path, new RecordQuery { Type = RecordTypes.AuditView })).Clients);

        var file = ExportOf(path, "alpha");

        Assert.DoesNotContain("bravo", File.ReadAllText(file), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("VLAN 20", File.ReadAllText(file), StringComparison.Ordinal);
        var line = Assert.Single(File.ReadAllLines(file), l => l.Contains("\"kind\":\"record\"", StringComparison.Ordinal) && l.Contains("\"type\":\"audit-view\"", StringComparison.Ordinal));
        Assert.Contains("\"results\":{\"alpha\":\"fail\"}", line, StringComparison.Ordinal);
        Assert.True(ExportVerifier.Verify(file, CancellationToken.None).IsIntact);
    }

    [Fact]
    public async Task RecordedAuditOfAlphaAlone_SummaryNamesBravo_RecordKeptAsWrittenKeyedToBoth_AlphasExportShowsItsView_WordsNamingNoneKeyedToAlphaAlone()
    {
        var path = _dir.File("audit-summary.db");
        var policy = TwoClientSite();
        await using (var store = await Stores.OpenAsync(path, _time))
        {
            await RecordLoadAsync(store, new AuditScope(policy, ["alpha"], _time.GetUtcNow(), _time.GetUtcNow()));
            var runner = new AuditRunner([], store, new StoringSink(store), _time);
            await runner.RecordAsync(External("AUD-20260301-080000-0001", "Bravo Telecom's 10.2.0.9 unreachable from alpha's VLAN 10", "bravo's assessors"), policy, CancellationToken.None);
            await runner.RecordAsync(External("AUD-20260301-080000-0002", "badge reader log of alpha's floor complete", "Ext Audit Co"), policy, CancellationToken.None);
        }

        var results = StoreFile.Read(path, new RecordQuery { Type = RecordTypes.AuditResult });
        Assert.Equal(["alpha,bravo", "alpha"], results.Select(r => r.Clients));
        using (var full = JsonDocument.Parse(results[0].Payload!.Value))
        {
            Assert.Equal("Bravo Telecom's 10.2.0.9 unreachable from alpha's VLAN 10", full.RootElement.GetProperty("checks")[0].GetProperty("detail").GetString());
            Assert.Equal("bravo's assessors", full.RootElement.GetProperty("external_auditor").GetString());
        }

        var view = Assert.Single(StoreFile.Read(path, new RecordQuery { Type = RecordTypes.AuditView }));
        Assert.Equal("alpha", view.Clients);
        using (var body = JsonDocument.Parse(view.Payload!.Value))
        {
            Assert.Equal("AUD-20260301-080000-0001", body.RootElement.GetProperty("id").GetString());
            Assert.Equal("another client's [another client's address] unreachable from alpha's VLAN 10", body.RootElement.GetProperty("checks")[0].GetProperty("detail").GetString());
            Assert.Equal("another client's assessors", body.RootElement.GetProperty("external_auditor").GetString());
        }

        var file = ExportOf(path, "alpha");

        var text = File.ReadAllText(file);
        Assert.DoesNotContain("bravo", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("10.2.0.9", text, StringComparison.Ordinal);
        Assert.Contains("badge reader log of alpha", text, StringComparison.Ordinal);
        Assert.True(ExportVerifier.Verify(file, CancellationToken.None).IsIntact);

        AuditReport External(string id, string summary, string auditor)
        {
            AuditCheck[] checks = [new AuditCheck("external", "external audit recorded by audra", ["alpha"], AuditOutcome.Pass, summary)];
            return new AuditReport
            {
                Id = id,
                Trigger = "external",
                StartedAt = _time.GetUtcNow(),
                FinishedAt = _time.GetUtcNow(),
                PolicySha256 = policy.Sha256,
                Checks = checks,
                Results = AuditReport.Judge(["alpha"], checks, ["external"]),
                RecordedBy = new AuditRecorder("audra", "api-key"),
                ExternalAuditor = auditor,
            };
        }
    }

    [Fact]
    public async Task AuditOfAlphaAlone_CheckNamesAClientThatCannotBeAKey_StillRecordedUnderAlphasKey()
    {
        var path = _dir.File("audit-odd-client.db");
        var policy = TwoClientSite();
        await using (var store = await Stores.OpenAsync(path, _time))
        {
            AuditCheck[] checks = [new AuditCheck("snmp", "switch sw1 port ge-0/0/3", ["alpha", "team b!"], AuditOutcome.Pass, "team b! has left ge-0/0/3")];
            var runner = new AuditRunner([], store, new StoringSink(store), _time);
            var report = await runner.RecordAsync(
                new AuditReport
                {
                    Id = "AUD-20260301-080000-0003",
                    Trigger = "on-demand",
                    StartedAt = _time.GetUtcNow(),
                    FinishedAt = _time.GetUtcNow(),
                    PolicySha256 = policy.Sha256,
                    Checks = checks,
                    Results = AuditReport.Judge(["alpha"], checks, ["snmp"]),
                },
                policy,
                CancellationToken.None);
            Assert.True(report.RecordIndex > 0);
        }

        Assert.Equal("alpha", Assert.Single(StoreFile.Read(path, new RecordQuery { Type = RecordTypes.AuditResult })).Clients);
    }

    private static Task<long> RecordLoadAsync(SegmentController.Storage.Sqlite.SqliteEvidenceStore store, AuditScope scope) =>
        store.AppendAsync(RecordTypes.PolicyLoad, null, PolicyLoadRecord.Create(scope.Policy, PolicyLoadRecord.Start), CancellationToken.None).AsTask();

    private static SitePolicy TwoClientSite() => Policies.Site(
        Policies.Client("alpha") with { Name = "Alpha Insurance", Segments = [new Segment { Name = "agents", Vlans = [10], Subnets = [IPNetwork.Parse("10.1.0.0/24")] }] },
        Policies.Client("bravo") with { Name = "Bravo Telecom", Segments = [new Segment { Name = "agents", Vlans = [20, 21], Subnets = [IPNetwork.Parse("10.2.0.0/24")] }] });

    private AuditScope Scope(params string[] clients) =>
        new(Policies.Site(clients.Select(c => Policies.Client(c)).ToArray()), clients, _time.GetUtcNow().AddHours(-1), _time.GetUtcNow());

    /// <summary>The store's export for <paramref name="client"/>, written to a file of its own; returns its path.</summary>
    private string ExportOf(string path, string client)
    {
        var file = _dir.File(client + ".jsonl");
        using var stream = File.Create(file);
        EvidenceExport.Write(path, new RecordQuery { Client = client }, stream, _time.GetUtcNow(), CancellationToken.None);
        return file;
    }

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
