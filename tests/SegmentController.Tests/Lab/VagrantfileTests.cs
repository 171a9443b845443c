using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Lab;

/// <summary>The Vagrant lab's definition, checked by Vagrant itself (no hypervisor needed to validate).</summary>
public sealed class VagrantfileTests
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
    public async Task LabScripts_ParseWithBash()
    {
        var lab = Path.Combine(RepositoryPaths.Root, "lab");
        var scripts = Directory.EnumerateFiles(lab, "*.sh", SearchOption.AllDirectories).Where(f => !f.Contains("/.", StringComparison.Ordinal)).ToList();
        Assert.Contains(scripts, s => s.EndsWith("vagrant/provision.sh", StringComparison.Ordinal));
        Assert.Contains(scripts, s => s.EndsWith("demo.sh", StringComparison.Ordinal));
        foreach (var script in scripts)
        {
            var (code, output) = await ExternalTool.RunAsync("bash", lab, "-n", script);
            Assert.True(code == 0, script + ": " + output);
        }
    }
}
