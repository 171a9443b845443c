using SegmentController.Core.Policy;

namespace SegmentController.Core.Tests.Policy;

public sealed class PolicyProviderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segctl-provider-").FullName;
    private readonly string _path;

    public PolicyProviderTests()
    {
        _path = Path.Combine(_dir, "site.yaml");
        File.Copy(PolicyFiles.Shipped("example-site.yaml"), _path);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ReloadOfBrokenFile_KeepsLastGoodPolicyAndReturnsEveryError()
    {
        var provider = Open();
        var good = provider.Current;
        var changes = 0;
        provider.PolicyChanged += (_, _) => changes++;
        File.WriteAllText(_path, File.ReadAllText(_path).Replace("vlans: [110]", "vlans: [5000]", StringComparison.Ordinal)
            .Replace("contract_end: 2028-12-31", "contract_end: someday", StringComparison.Ordinal));

        var errors = provider.Reload();

        Assert.Equal(2, errors.Count);
        Assert.Matches(@"site\.yaml:\d+:\d+: VLAN 5000 is outside 1-4094", errors[0]);
        Assert.Contains("contract_end 'someday' is not a date", errors[1], StringComparison.Ordinal);
        Assert.Same(good, provider.Current);
        Assert.Equal(0, changes);
    }

    [Fact]
    public void ReloadOfMissingFile_KeepsLastGoodPolicy()
    {
        var provider = Open();
        var good = provider.Current;
        File.Delete(_path);

        var errors = provider.Reload();

        Assert.Contains("cannot read the policy file", Assert.Single(errors), StringComparison.Ordinal);
        Assert.Same(good, provider.Current);
    }

    [Fact]
    public void ReloadWhereOneComponentFailsToTakeThePolicy_EveryOtherStillHearsIt_ThenTheFailureIsReported()
    {
        var provider = Open();
        SitePolicy? announced = null;
        provider.PolicyChanged += (_, _) => throw new InvalidOperationException("proxy snapshot could not be built");
        provider.PolicyChanged += (_, policy) => announced = policy;
        File.WriteAllText(_path, File.ReadAllText(_path).Replace("name: Northwind Energy", "name: Northwind Energy plc", StringComparison.Ordinal));

        var failure = Assert.Throws<InvalidOperationException>(() => provider.Reload());

        Assert.Contains("proxy snapshot", failure.Message, StringComparison.Ordinal);
        Assert.Same(provider.Current, announced);
    }

    [Fact]
    public void ReloadOfChangedValidFile_PutsItInForceAndRaisesPolicyChanged()
    {
        var provider = Open();
        var old = provider.Current;
        SitePolicy? announced = null;
        provider.PolicyChanged += (_, policy) => announced = policy;
        File.WriteAllText(_path, File.ReadAllText(_path).Replace("name: Northwind Energy", "name: Northwind Energy plc", StringComparison.Ordinal));

        var errors = provider.Reload();

        Assert.Empty(errors);
        Assert.NotSame(old, provider.Current);
        Assert.NotEqual(old.Sha256, provider.Current.Sha256);
        Assert.Equal("Northwind Energy plc", provider.Current.FindClient("northwind")!.Name);
        Assert.Same(provider.Current, announced);
    }

    [Fact]
    public void ReloadOfUnchangedFile_RaisesNothing()
    {
        var provider = Open();
        var old = provider.Current;
        var changes = 0;
        provider.PolicyChanged += (_, _) => changes++;

        Assert.Empty(provider.Reload());

        Assert.Same(old, provider.Current);
        Assert.Equal(0, changes);
    }

    [Fact]
    public void BrokenReloadThenFixedReload_EndsWithTheFixedPolicy()
    {
        var provider = Open();
        var original = File.ReadAllText(_path);
        File.WriteAllText(_path, "site: [");
        Assert.NotEmpty(provider.Reload());

        File.WriteAllText(_path, original.Replace("interval: 7d", "interval: 1d", StringComparison.Ordinal));

        Assert.Empty(provider.Reload());
        Assert.Equal(TimeSpan.FromDays(1), provider.Current.Audits.Interval);
    }

    [Fact]
    public void ReloadOfSegmentTag_PutInForceOnlyWithQinQ()
    {
        var provider = Open();
        var original = File.ReadAllText(_path);
        Assert.Equal(SegmentTag.Inner, provider.Current.Controller.Capture.SegmentTag);

        File.WriteAllText(_path, original.Replace("    qinq: false\n", "    qinq: true\n    segment_tag: outer\n", StringComparison.Ordinal));
        Assert.Empty(provider.Reload());
        var outer = provider.Current;
        Assert.Equal(SegmentTag.Outer, outer.Controller.Capture.SegmentTag);

        // The QinQ setting taken away, 'outer' is refused and the last good policy stays in force.
        File.WriteAllText(_path, original.Replace("    qinq: false\n", "    qinq: false\n    segment_tag: outer\n", StringComparison.Ordinal));
        var error = Assert.Single(provider.Reload());
        Assert.Matches(@"site\.yaml:\d+:18: 'segment_tag: outer' in capture needs 'qinq: true'", error);
        Assert.Same(outer, provider.Current);

        File.WriteAllText(_path, original);
        Assert.Empty(provider.Reload());
        Assert.Equal(SegmentTag.Inner, provider.Current.Controller.Capture.SegmentTag);
    }

    [Fact]
    public void TryOpen_BrokenFile_ReturnsNullAndErrors()
    {
        var provider = PolicyProvider.TryOpen(PolicyFiles.Broken("vlan-out-of-range.yaml"), out var errors);

        Assert.Null(provider);
        Assert.Single(errors);
    }

    private PolicyProvider Open()
    {
        var provider = PolicyProvider.TryOpen(_path, out var errors);
        Assert.True(provider is not null, string.Join(Environment.NewLine, errors));
        return provider;
    }
}
