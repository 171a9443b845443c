using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SegmentController.Core.Evidence;
using SegmentController.Hosting;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Tests.Evidence;

/// <summary>Every policy reload is in the chain: applied ones as policy loads, rejected ones as operator-visible actions.</summary>
public sealed class PolicyReloadRecordTests
{
    [Fact]
    public async Task Reload_AppliedRecordedAsPolicyLoad_RejectedRecordedWithItsErrors()
    {
        await using var site = new EvidenceSite(Directory.CreateTempSubdirectory("segctl-reload-").FullName);
        await site.StartAsync();
        var reloads = site.App!.Services.GetServices<IHostedService>().OfType<PolicyReloadService>().Single();

        site.ExtraClients.Add(("gamma", "2031-03-31"));
        site.WritePolicy();
        Assert.Empty(reloads.Reload());
        await EvidenceSite.WaitUntilAsync(() => Task.FromResult(Loads(site).Count == 2), "the reload's policy load");
        var applied = Loads(site)[1];
        Assert.Equal("reload", applied.GetProperty("event").GetString());
        Assert.Equal(site.Service<SegmentController.Core.Policy.IPolicyProvider>().Current.Sha256, applied.GetProperty("sha256").GetString());
        Assert.Equal("2037-03-31", applied.GetProperty("clients").GetProperty("gamma").GetProperty("retain_until").GetString());

        await File.AppendAllTextAsync(site.PolicyPath, "\nclients: [ broken\n");
        Assert.NotEmpty(reloads.Reload());
        await EvidenceSite.WaitUntilAsync(() => Task.FromResult(Rejections(site).Count == 1), "the rejected reload on record");
        var rejected = Rejections(site)[0];
        Assert.Equal("rejected", rejected.GetProperty("outcome").GetString());
        Assert.Equal(applied.GetProperty("sha256").GetString(), rejected.GetProperty("policy_in_force_sha256").GetString());
        Assert.Contains(rejected.GetProperty("errors").EnumerateArray(), e => e.GetString()!.StartsWith(site.PolicyPath + ":", StringComparison.Ordinal));
        Assert.Equal(2, Loads(site).Count);
    }

    private static List<JsonElement> Loads(EvidenceSite site) =>
        StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.PolicyLoad })
            .Select(r => JsonDocument.Parse(r.Payload!.Value).RootElement.Clone()).ToList();

    private static List<JsonElement> Rejections(EvidenceSite site) =>
        StoreFile.Read(site.StorePath, new RecordQuery { Type = RecordTypes.OperatorAction })
            .Select(r => JsonDocument.Parse(r.Payload!.Value).RootElement.Clone())
            .Where(p => p.GetProperty("action").GetString() == "policy-reload").ToList();
}
