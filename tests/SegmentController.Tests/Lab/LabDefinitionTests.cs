using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Lab;

/// <summary>The lab's scripts and its Vagrant definition, checked by shellcheck and by Vagrant itself (no hypervisor needed to validate).</summary>
public sealed class LabDefinitionTests
{
    [Fact]
    public async Task Vagrantfile_Validates()
    {
        var (code, output) = await ExternalTool.RunAsync("vagrant", RepositoryPaths.Root, "validate", "--ignore-provider");

        Assert.True(code == 0, output);
        Assert.Contains("Vagrantfile validated successfully", output, StringComparison.Ordinal);
        foreach (var machine in new[] { "switch", "upstreams", "controller", "agent-assistring", "agent-ibex", "agent-northwind" })
        {
            Assert.Contains($"==> {machine}:", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task LabScripts_PassShellcheck()
    {
        var lab = Path.Combine(RepositoryPaths.Root, "lab");
        var scripts = Directory.EnumerateFiles(lab, "*.sh", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/.", StringComparison.Ordinal))
            .Append(Path.Combine(lab, "tools", "in-ns"))
            .ToList();
        Assert.Contains(scripts, s => s.EndsWith("vagrant/provision.sh", StringComparison.Ordinal));
        Assert.Contains(scripts, s => s.EndsWith("lib/scenario.sh", StringComparison.Ordinal));

        // SC2034: the sourced libraries define names the other scripts use.
        var (code, output) = await ExternalTool.RunAsync("shellcheck", lab, ["--severity=warning", "--exclude=SC2034", .. scripts]);

        Assert.True(code == 0, output);
    }
}
