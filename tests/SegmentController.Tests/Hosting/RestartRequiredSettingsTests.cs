using SegmentController.Core.Policy;
using SegmentController.Hosting;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Hosting;

/// <summary>Which policy changes a running controller applies on reload, and which wait for a restart.</summary>
public sealed class RestartRequiredSettingsTests
{
    private static readonly SitePolicy Example = PolicyLoader.LoadFile(RepositoryPaths.Policy("example-site.yaml")).Policy!;

    private static readonly Dictionary<string, Func<SitePolicy, SitePolicy>> Edits = new(StringComparer.Ordinal)
    {
        ["controller.management.listen"] = p => p with { Controller = p.Controller with { Management = p.Controller.Management with { Listen = ["127.0.0.1:9999"] } } },
        ["controller.management.certificate"] = p => p with { Controller = p.Controller with { Management = p.Controller.Management with { Certificate = new CertificateReference { File = "/etc/segctl/new.pem" } } } },
        ["controller.management.api_keys_file"] = p => p with { Controller = p.Controller with { Management = p.Controller.Management with { ApiKeysFile = "/etc/segctl/other-keys" } } },
        ["controller.proxy.listen"] = p => p with { Controller = p.Controller with { Proxy = p.Controller.Proxy with { Listen = ["10.0.0.9:443"] } } },
        ["controller.proxy.certificate"] = p => p with { Controller = p.Controller with { Proxy = p.Controller.Proxy with { Certificate = p.Controller.Proxy.Certificate! with { KeyFile = "/etc/segctl/renewed.key" } } } },
        ["controller.proxy.require_client_certificate"] = p => p with { Controller = p.Controller with { Proxy = p.Controller.Proxy with { RequireClientCertificate = !p.Controller.Proxy.RequireClientCertificate } } },
        ["controller.proxy.upstream_ca"] = p => p with { Controller = p.Controller with { Proxy = p.Controller.Proxy with { UpstreamCaFile = "/etc/segctl/other-ca.pem" } } },
        ["controller.capture.interfaces"] = p => p with { Controller = p.Controller with { Capture = p.Controller.Capture with { Interfaces = [.. p.Controller.Capture.Interfaces.Select(i => i with { SnapLength = i.SnapLength + 1 })] } } },
        ["controller.store.path"] = p => p with { Controller = p.Controller with { Store = p.Controller.Store with { Path = "/var/lib/segctl/other.db" } } },
        ["controller.store.signing_key_file"] = p => p with { Controller = p.Controller with { Store = p.Controller.Store with { SigningKeyFile = "/etc/segctl/other.key" } } },
        ["controller.store.checkpoint_interval"] = p => p with { Controller = p.Controller with { Store = p.Controller.Store with { CheckpointInterval = p.Controller.Store.CheckpointInterval + TimeSpan.FromMinutes(1) } } },
    };

    public static TheoryData<string> RestartKeys() => [.. RestartRequiredSettings.Keys];

    [Theory]
    [MemberData(nameof(RestartKeys))]
    public void StartUpSetting_Changed_IsNamedAlone(string key)
    {
        Assert.True(Edits.ContainsKey(key), $"no edit exercises {key}");
        var next = Edits[key](Example);

        Assert.Equal([key], RestartRequiredSettings.Changed(Example, next));
    }

    [Fact]
    public void EveryEdit_IsAWatchedKey()
    {
        Assert.Equal(Edits.Keys.Order(StringComparer.Ordinal), RestartRequiredSettings.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void UpstreamCaPathChangedInThePolicyFile_NamedByItsKeyInThePolicy()
    {
        // The warning a reload logs names the key as the engineer wrote it, so it can be found in the file.
        var text = File.ReadAllText(RepositoryPaths.Policy("example-site.yaml"));
        Assert.Contains("    upstream_ca: /etc/segctl/upstream-ca.pem\n", text, StringComparison.Ordinal);
        var edited = PolicyLoader.Load(System.Text.Encoding.UTF8.GetBytes(text.Replace("upstream-ca.pem", "upstream-ca-2026.pem", StringComparison.Ordinal)), "site.yaml");
        Assert.Empty(edited.Errors);

        Assert.Equal(["controller.proxy.upstream_ca"], RestartRequiredSettings.Changed(Example, edited.Policy!));
    }

    [Fact]
    public void SameSettingsInARebuiltPolicy_NothingToRestart()
    {
        var again = PolicyLoader.LoadFile(RepositoryPaths.Policy("example-site.yaml")).Policy!;

        Assert.Empty(RestartRequiredSettings.Changed(Example, again));
    }

    [Fact]
    public void LiveSettingsChanged_NothingToRestart()
    {
        var next = Example with
        {
            Clients = Example.Clients.Skip(1).ToArray(),
            Switches = Example.Switches.Take(1).ToArray(),
            Restore = Example.Restore with { Approvers = 1 },
            Audits = Example.Audits with { SuspendOnFailure = !Example.Audits.SuspendOnFailure },
            Controller = Example.Controller with
            {
                Proxy = Example.Controller.Proxy with { ClientCaFile = "/etc/segctl/agents-ca-2.pem" },
                Capture = Example.Controller.Capture with { LossThreshold = 0.5 },
                OnVerificationLost = VerificationLostAction.Alert,
            },
        };

        Assert.Empty(RestartRequiredSettings.Changed(Example, next));
    }
}
