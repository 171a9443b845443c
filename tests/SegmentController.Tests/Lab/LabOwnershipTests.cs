using System.Net;
using System.Net.Sockets;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Lab;

/// <summary>
/// Two labs on one machine (two checkouts, or the tests beside a newcomer's): <c>lab/demo.sh</c> and
/// <c>lab/down.sh</c> touch only their own lab's namespaces. The lab that made a prefix's namespaces is
/// on record (<c>LAB_OWNERS</c>); another lab with that prefix is refused and left alone. The site itself
/// is never brought up here: each script stops before it would be, or has only namespaces to remove.
/// </summary>
public sealed class LabOwnershipTests : IDisposable
{
    private readonly string _root;
    private readonly string _prefix = "sego" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3));
    private readonly string _owners;
    private readonly string _ourState;
    private readonly string _otherState;
    private readonly List<string> _namespaces = [];

    public LabOwnershipTests()
    {
        _root = Directory.CreateTempSubdirectory("segctl-lab-owners-").FullName;
        _owners = Path.Combine(_root, "owners");
        _ourState = Path.Combine(_root, "ours", "state");
        _otherState = Path.Combine(_root, "other", "state");
    }

    [Fact]
    public async Task Down_PrefixsNamespacesMadeByAnotherCheckoutsLab_LeavesThemUpAndRemovesItsOwnStateOnly()
    {
        await OtherLabUpAsync();
        Directory.CreateDirectory(_ourState);
        await File.WriteAllTextAsync(Path.Combine(_ourState, "segctl.log"), "the last run's log\n");

        var (code, output) = await LabAsync(_ourState, "./lab/down.sh");

        Assert.True(code == 0, output);
        Assert.Contains($"the {_prefix}-* namespaces are the lab of {_otherState} and were left alone", output, StringComparison.Ordinal);
        Assert.Equal(_namespaces, await NamespacesAsync());
        Assert.False(Directory.Exists(_ourState));
        Assert.Equal(_otherState + "\n", await File.ReadAllTextAsync(Path.Combine(_owners, _prefix)));

        // The lab that made them takes them down, and the prefix is free again.
        (code, output) = await LabAsync(_otherState, "./lab/down.sh");
        Assert.True(code == 0, output);
        Assert.Empty(await NamespacesAsync());
        Assert.False(File.Exists(Path.Combine(_owners, _prefix)));
        Assert.False(Directory.Exists(_otherState));
    }

    [Fact]
    public async Task Demo_PrefixsNamespacesMadeByAnotherCheckoutsLab_RefusesNamingThatLab()
    {
        await OtherLabUpAsync();

        var (code, output) = await RunAsync(["LAB_NS_PREFIX=" + _prefix, "LAB_STATE=" + _ourState, "LAB_OWNERS=" + _owners, "SEGCTL=/bin/true", "./lab/demo.sh"]);

        Assert.True(code == 2, output);
        Assert.Contains($"the {_prefix}-* network namespaces are the lab of {_otherState} (its lab/down.sh takes them down)", output, StringComparison.Ordinal);
        Assert.Contains("LAB_NS_PREFIX=segl2 LAB_MANAGEMENT_PORT=9420", output, StringComparison.Ordinal);
        Assert.Equal(_namespaces, await NamespacesAsync());
        Assert.False(Directory.Exists(_ourState));
    }

    [Fact]
    public async Task Down_SecondLabOfTheCheckout_KeepsItsStateApartAndLeavesTheDefaultLabsAlone()
    {
        // The default lab's state in this checkout, as a lab that is up would have it (made here if none is).
        var defaultState = Path.Combine(RepositoryPaths.Root, "lab", ".state");
        var made = !Directory.Exists(defaultState);
        var marker = Path.Combine(defaultState, "segctl.log");
        var ownState = Path.Combine(RepositoryPaths.Root, "lab", ".state-" + _prefix);
        try
        {
            Directory.CreateDirectory(defaultState);
            if (made)
            {
                await File.WriteAllTextAsync(marker, "the default lab's log\n");
            }

            Directory.CreateDirectory(ownState);
            var (code, output) = await RunAsync(["LAB_NS_PREFIX=" + _prefix, "LAB_OWNERS=" + _owners, "./lab/down.sh"]);

            Assert.True(code == 0, output);
            Assert.Contains($"no {_prefix}-* namespaces, no lab processes, {ownState} removed", output, StringComparison.Ordinal);
            Assert.False(Directory.Exists(ownState));
            Assert.True(Directory.Exists(defaultState));
        }
        finally
        {
            if (made && Directory.Exists(defaultState))
            {
                Directory.Delete(defaultState, recursive: true);
            }

            if (Directory.Exists(ownState))
            {
                Directory.Delete(ownState, recursive: true);
            }
        }
    }

    [Theory]
    [InlineData("segl-b")]
    [InlineData("Segl")]
    [InlineData("2lab")]
    [InlineData("a.b")]
    [InlineData("prefixthatistoolong")]
    public async Task DemoAndDown_PrefixThatIsNoPrefixOfItsOwn_RefusedWithTheRule(string prefix)
    {
        foreach (var script in new[] { "./lab/down.sh", "./lab/demo.sh" })
        {
            var (code, output) = await RunAsync(["LAB_NS_PREFIX=" + prefix, "LAB_STATE=" + _ourState, "LAB_OWNERS=" + _owners, "SEGCTL=/bin/true", script]);

            Assert.True(code == 2, $"{script}: {output}");
            Assert.Contains($"LAB_NS_PREFIX='{prefix}' is not a namespace prefix: 1 to 12 lower-case letters and digits, a letter first", output, StringComparison.Ordinal);
        }

        Assert.False(Directory.Exists(_ourState));
    }

    [Fact]
    public async Task Demo_GivenManagementPortTaken_RefusesRatherThanTalkToWhatHoldsIt()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;

        // SEGCTL names an executable, so the demo builds nothing before it chooses the port.
        var (code, output) = await RunAsync(["LAB_NS_PREFIX=" + _prefix, "LAB_STATE=" + _ourState, "LAB_OWNERS=" + _owners, $"LAB_MANAGEMENT_PORT={port}", "SEGCTL=/bin/true", "./lab/demo.sh"]);

        Assert.True(code == 2, output);
        Assert.Contains($"LAB_MANAGEMENT_PORT={port}: something already listens on 127.0.0.1:{port}", output, StringComparison.Ordinal);
        Assert.Empty(await NamespacesAsync());
        Assert.False(Directory.Exists(_ourState));
    }

    public void Dispose()
    {
        // Whatever a script got to (our lab's own processes and namespaces, none when the tests pass), then
        // the other lab's namespaces this test made.
        LabAsync(_ourState, "./lab/down.sh").GetAwaiter().GetResult();
        foreach (var ns in NamespacesAsync().GetAwaiter().GetResult())
        {
            ExternalTool.RunAsync("ip", _root, "netns", "del", ns).GetAwaiter().GetResult();
        }

        Directory.Delete(_root, recursive: true);
    }

    /// <summary>Another checkout's lab with this prefix: its namespaces (empty ones will do) and its claim on them.</summary>
    private async Task OtherLabUpAsync()
    {
        Directory.CreateDirectory(_otherState);
        Directory.CreateDirectory(_owners);
        await File.WriteAllTextAsync(Path.Combine(_owners, _prefix), _otherState + "\n");
        foreach (var name in new[] { "ctl", "sw" })
        {
            var ns = $"{_prefix}-{name}";
            var (code, output) = await ExternalTool.RunAsync("ip", _root, "netns", "add", ns);
            Assert.True(code == 0, output);
            _namespaces.Add(ns);
        }
    }

    private Task<(int ExitCode, string Output)> LabAsync(string state, string script) =>
        RunAsync(["LAB_NS_PREFIX=" + _prefix, "LAB_STATE=" + state, "LAB_OWNERS=" + _owners, script]);

    private static Task<(int ExitCode, string Output)> RunAsync(string[] environmentAndScript) =>
        ExternalTool.RunAsync("env", RepositoryPaths.Root, ["-u", "SEGCTL", "-u", "LAB_MANAGEMENT_PORT", .. environmentAndScript]);

    private async Task<List<string>> NamespacesAsync()
    {
        var (_, output) = await ExternalTool.RunAsync("ip", _root, "netns", "list");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')[0])
            .Where(n => n.StartsWith(_prefix + "-", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
    }
}
