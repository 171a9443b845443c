using System.Globalization;
using System.Text.Json;
using SegmentController.Capture.Evidence;
using SegmentController.Capture.Tests.Support;
using SegmentController.Cli;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Cli;

public sealed class CaptureCommandsTests
{
    private static readonly string[] LeakRules =
        ["arp-spoofing", "cleartext-to-client", "cross-client-flow", "proxy-bypass", "unknown-mac", "unknown-vlan", "vlan-hopping", "vlan-subnet-mismatch", "weak-tls"];

    private static string Fixture(string name) =>
        Path.Combine(RepositoryPaths.Root, "tests", "SegmentController.Capture.Tests", "Fixtures", name);

    private static async Task<(int ExitCode, string Output, string Error)> Segctl(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await CliApplication.InvokeAsync(args, output, error, CancellationToken.None);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task PcapAnalyzeCleanCapture_Exit0PrintsNothingSummaryOnStandardError()
    {
        var (exit, output, error) = await Segctl("pcap", "analyze", Fixture("clean-site.pcap"), "--policy", Fixture("site.yaml"));

        Assert.Equal(0, exit);
        Assert.Equal("", output);
        Assert.Equal("20 packets analysed, 0 decode errors, 0 findings", error.Trim());
    }

    [Fact]
    public async Task PcapAnalyzeLeakyCapture_OneLinePerFindingOnStandardOutput()
    {
        var (exit, output, error) = await Segctl("pcap", "analyze", Fixture("leaky-site.pcap"), "--policy", Fixture("site.yaml"));

        Assert.Equal(1, exit);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(9, lines.Length);
        Assert.Contains(lines, l => l.StartsWith("critical cross-client-flow", StringComparison.Ordinal) && l.Contains("clients=acme,globex", StringComparison.Ordinal));
        Assert.Contains("32 packets analysed, 0 decode errors, 9 findings", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PcapAnalyzeLeakyCaptureJson_Exit1EveryLeakWithClientsVlansAddresses()
    {
        var (exit, output, _) = await Segctl("pcap", "analyze", Fixture("leaky-site.pcap"), "--policy", Fixture("site.yaml"), "--json");

        Assert.Equal(1, exit);
        using var document = JsonDocument.Parse(output);
        var root = document.RootElement;
        Assert.Equal(32, root.GetProperty("packets").GetInt64());
        Assert.Equal(0, root.GetProperty("decode_errors").GetInt64());
        var findings = root.GetProperty("findings").EnumerateArray().ToArray();
        Assert.Equal(
            ["arp-spoofing", "cleartext-to-client", "cross-client-flow", "proxy-bypass", "unknown-mac", "unknown-vlan", "vlan-hopping", "vlan-subnet-mismatch", "weak-tls"],
            findings.Select(f => f.GetProperty("rule").GetString()).Order(StringComparer.Ordinal));
        var cross = findings.Single(f => f.GetProperty("rule").GetString() == "cross-client-flow");
        Assert.Equal("critical", cross.GetProperty("severity").GetString());
        Assert.Equal("capture", cross.GetProperty("source").GetString());
        Assert.Equal(["acme", "globex"], cross.GetProperty("clients").EnumerateArray().Select(c => c.GetString()));
        var evidence = cross.GetProperty("evidence");
        Assert.Equal(10, evidence.GetProperty("vlans")[0].GetInt32());
        Assert.Equal("10.10.0.11", evidence.GetProperty("src").GetString());
        Assert.Equal("10.20.0.21", evidence.GetProperty("dst").GetString());
        Assert.Equal("tcp", evidence.GetProperty("protocol").GetString());
        Assert.Equal(445, evidence.GetProperty("dst_port").GetInt32());
        Assert.Equal(2, evidence.GetProperty("packets").GetInt64());
        Assert.True(evidence.TryGetProperty("first_seen", out _));
        Assert.True(evidence.TryGetProperty("last_seen", out _));
    }

    [Fact]
    public async Task PcapAnalyzeStandardInput_ProducerPipesACapture_JudgedAsTheFileIs()
    {
        // As `tcpdump -w - | segctl pcap analyze /dev/stdin`: the capture arrives through a pipe, which has no
        // offsets to read at.
        var (exit, output, error) = await SegctlProcess.RunUnderAsync(
            ["sh", "-c", "cat \"$0\" | exec \"$@\"", Fixture("leaky-site.pcap")],
            "pcap", "analyze", "/dev/stdin", "--policy", Fixture("site.yaml"), "--json");

        Assert.True(exit == 1, $"exit {exit}: {error}");
        using var document = JsonDocument.Parse(output);
        Assert.Equal(32, document.RootElement.GetProperty("packets").GetInt64());
        Assert.Equal(0, document.RootElement.GetProperty("decode_errors").GetInt64());
        Assert.Equal(LeakRules, document.RootElement.GetProperty("findings").EnumerateArray().Select(f => f.GetProperty("rule").GetString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task PcapAnalyzeNamedPipe_ProducerWritesInSmallPieces_JudgedAsTheFileIs()
    {
        var dir = Directory.CreateTempSubdirectory("segctl-pipe-");
        try
        {
            var pipe = Path.Combine(dir.FullName, "capture");
            Assert.Equal(0, NativeMethods.MkFifo(pipe, Convert.ToUInt32("600", 8)));
            var capture = await File.ReadAllBytesAsync(Fixture("leaky-site.pcap"));

            // Pieces smaller than a record's header, each flushed: reads come back short and cut records anywhere.
            var producer = Task.Run(async () =>
            {
                await using var stream = new FileStream(pipe, FileMode.Open, FileAccess.Write, FileShare.Read, bufferSize: 0);
                for (var offset = 0; offset < capture.Length; offset += 7)
                {
                    await stream.WriteAsync(capture.AsMemory(offset, Math.Min(7, capture.Length - offset)));
                    await stream.FlushAsync();
                }
            });

            var (exit, output, error) = await Segctl("pcap", "analyze", pipe, "--policy", Fixture("site.yaml"), "--store", Path.Combine(dir.FullName, "store.db"));
            await producer;

            Assert.True(exit == 1, $"exit {exit}: {error}");
            Assert.Equal(9, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
            Assert.Contains("32 packets analysed, 0 decode errors, 9 findings", error, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("directory", "{path}: is a directory, not a capture file")]
    [InlineData("device", "{path}: not a readable pcap or pcapng file (unknown magic 0x00000000)")]
    public async Task PcapAnalyzeNotACaptureFile_Exit2AtOnce_OneLineSayingWhy(string kind, string message)
    {
        var dir = Directory.CreateTempSubdirectory("segctl-not-capture-");
        try
        {
            var path = kind == "directory" ? dir.FullName : "/dev/zero";

            // A process of its own with a deadline: one that reads /dev/zero on without end fails here.
            await using var segctl = SegctlProcess.Start("pcap", "analyze", path, "--policy", Fixture("site.yaml"));
            var exit = await segctl.WaitForExitAsync(TimeSpan.FromMinutes(1));

            Assert.Equal(2, exit);
            Assert.Empty(segctl.StandardOutput);
            Assert.Equal($"segctl: {message.Replace("{path}", path, StringComparison.Ordinal)}{Environment.NewLine}", segctl.StandardError);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task PcapAnalyzeWithEvidence_OnePcapPerViolation()
    {
        var dir = Directory.CreateTempSubdirectory("segctl-evidence-");
        try
        {
            var (exit, _, _) = await Segctl("pcap", "analyze", Fixture("leaky-site.pcap"), "--policy", Fixture("site.yaml"), "--evidence", dir.FullName);

            Assert.Equal(1, exit);
            var files = dir.GetFiles("*.pcap");
            Assert.Equal(9, files.Length);
            Assert.All(files, f => Assert.True(f.Length > 24));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task PcapAnalyzeCrossClientPacketsThatDoNotDecode_Exit1CrossClientFlowPerPacket()
    {
        // Two IPv6 packets from acme to globex that Linux delivers to an ordinary socket: one behind nine
        // destination options headers, one whose TCP header a 232-byte option pushes past the capture's
        // 256-byte snap length. Neither decodes to its transport; both went from one client to the other.
        var agent = Frames.Mac("02:00:00:00:10:01");
        var peer = Frames.Mac("02:00:00:00:20:01");
        var nineHeaders = Enumerable.Repeat(((byte)60, new byte[] { 1, 4, 0, 0, 0, 0 }), 9).ToArray();
        var longChain = Frames.Ethernet(peer, agent, [10], 0x86DD, Frames.Ipv6("2001:db8:10::11", "2001:db8:20::21", 17, Frames.Udp(5000, 6000, new byte[32]), nineHeaders));
        var option = new byte[232];
        option[0] = 0x1E;
        option[1] = 230;
        var pastSnap = Frames.Ethernet(peer, agent, [10], 0x86DD, Frames.Ipv6("2001:db8:10::12", "2001:db8:20::21", 6, Frames.Tcp(50100, 445, 0x02, []), [(60, option)]));
        var dir = Directory.CreateTempSubdirectory("segctl-undecoded-");
        try
        {
            var capture = Path.Combine(dir.FullName, "undecoded.pcap");
            var start = new DateTime(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc).Ticks;
            await using (var stream = File.Create(capture))
            {
                PcapWriter.Write(stream, [new EvidenceFrame(start, longChain.Length, longChain), new EvidenceFrame(start + 10_000, pastSnap.Length, pastSnap)], snapLength: 256);
            }

            var (exit, output, error) = await SegctlProcess.RunAsync("pcap", "analyze", capture, "--policy", Fixture("site.yaml"), "--json");

            Assert.True(exit == 1, $"exit {exit}: {error}");
            using var document = JsonDocument.Parse(output);
            var root = document.RootElement;
            Assert.Equal(2, root.GetProperty("packets").GetInt64());
            Assert.Equal(2, root.GetProperty("decode_errors").GetInt64());
            var findings = root.GetProperty("findings").EnumerateArray().ToArray();
            Assert.Equal(2, findings.Length);
            Assert.All(findings, finding =>
            {
                Assert.Equal("cross-client-flow", finding.GetProperty("rule").GetString());
                Assert.Equal("critical", finding.GetProperty("severity").GetString());
                Assert.Equal(["acme", "globex"], finding.GetProperty("clients").EnumerateArray().Select(c => c.GetString()));
                Assert.Equal("2001:db8:20::21", finding.GetProperty("evidence").GetProperty("dst").GetString());
            });
            Assert.Equal(
                ["2001:db8:10::11", "2001:db8:10::12"],
                findings.Select(f => f.GetProperty("evidence").GetProperty("src").GetString()).Order(StringComparer.Ordinal));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task PcapAnalyzeForgedSourceOnAcmeVlanToGlobex_Exit1CrossClientFlow()
    {
        // One-way UDP from acme's VLAN to a globex agent under a source address no client holds.
        var frame = Frames.Ethernet(Frames.Mac("02:00:00:00:20:01"), Frames.Mac("02:00:00:00:10:01"), [10], 0x0800, Frames.Ipv4("172.16.0.5", "10.20.0.21", 17, Frames.Udp(5000, 6000, new byte[64])));
        var dir = Directory.CreateTempSubdirectory("segctl-forged-");
        try
        {
            var capture = Path.Combine(dir.FullName, "forged.pcap");
            PcapWriter.WriteFile(capture, [new EvidenceFrame(new DateTime(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc).Ticks, frame.Length, frame)]);

            var (exit, output, error) = await SegctlProcess.RunAsync("pcap", "analyze", capture, "--policy", Fixture("site.yaml"));

            Assert.True(exit == 1, $"exit {exit}: {error}");
            var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("critical cross-client-flow", line, StringComparison.Ordinal);
            Assert.Contains("clients=acme,globex", line, StringComparison.Ordinal);
            Assert.Contains("172.16.0.5:5000 → 10.20.0.21:6000 on VLAN 10", line, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task PcapAnalyzeTunnelledCrossClientTraffic_Exit1FindingsNameTheTunnel()
    {
        // An acme agent reaches a globex host through tunnel endpoints that are infrastructure: GRE to
        // 10.99.0.50 and VXLAN to 10.99.0.51. Beside them, a VXLAN tunnel that stays within acme.
        var agent = Frames.Mac("02:00:00:00:10:01");
        var gateway = Frames.Mac("00:00:5e:00:01:0a");
        var innerMac = Frames.Mac("02:00:00:aa:00:01");
        var syn = Frames.Ipv4("10.10.0.11", "10.20.0.21", 6, Frames.Tcp(50100, 445, 0x02, []));
        var gre = Frames.Ethernet(gateway, agent, [10], 0x0800, Frames.Ipv4("10.10.0.11", "10.99.0.50", 47, TunnelFrames.Gre(TunnelFrames.EtherTypeIpv4, syn)));
        var bridged = Frames.Ethernet(innerMac, innerMac, [], 0x0800, Frames.Ipv4("10.10.0.11", "10.20.0.21", 17, Frames.Udp(5000, 6000, new byte[32])));
        var vxlan = Frames.Ethernet(gateway, agent, [10], 0x0800, Frames.Ipv4("10.10.0.11", "10.99.0.51", 17, Frames.Udp(49152, 4789, TunnelFrames.Vxlan(5010, bridged))));
        var withinAcme = Frames.Ethernet(innerMac, innerMac, [], 0x0800, Frames.Ipv4("10.10.0.11", "10.10.0.12", 17, Frames.Udp(5000, 6000, new byte[32])));
        var clean = Frames.Ethernet(gateway, agent, [10], 0x0800, Frames.Ipv4("10.10.0.11", "10.10.0.12", 17, Frames.Udp(49152, 4789, TunnelFrames.Vxlan(5010, withinAcme))));
        var dir = Directory.CreateTempSubdirectory("segctl-tunnels-");
        try
        {
            var capture = Path.Combine(dir.FullName, "tunnels.pcap");
            var start = new DateTime(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc).Ticks;
            PcapWriter.WriteFile(capture, [new EvidenceFrame(start, gre.Length, gre), new EvidenceFrame(start + 10_000, vxlan.Length, vxlan), new EvidenceFrame(start + 20_000, clean.Length, clean)]);

            var (exit, output, error) = await SegctlProcess.RunAsync("pcap", "analyze", capture, "--policy", Fixture("site.yaml"), "--json");
            var (textExit, text, _) = await SegctlProcess.RunAsync("pcap", "analyze", capture, "--policy", Fixture("site.yaml"));

            Assert.True(exit == 1, $"exit {exit}: {error}");
            using var document = JsonDocument.Parse(output);
            var root = document.RootElement;
            Assert.Equal(3, root.GetProperty("packets").GetInt64());
            Assert.Equal(0, root.GetProperty("decode_errors").GetInt64());
            var findings = root.GetProperty("findings").EnumerateArray().ToArray();
            Assert.Equal(2, findings.Length);
            Assert.All(findings, finding =>
            {
                Assert.Equal("cross-client-flow", finding.GetProperty("rule").GetString());
                Assert.Equal("critical", finding.GetProperty("severity").GetString());
                Assert.Equal(["acme", "globex"], finding.GetProperty("clients").EnumerateArray().Select(c => c.GetString()));
                var evidence = finding.GetProperty("evidence");
                Assert.Equal("10.10.0.11", evidence.GetProperty("src").GetString());
                Assert.Equal("10.20.0.21", evidence.GetProperty("dst").GetString());
                Assert.Equal("10.10.0.11", evidence.GetProperty("tunnel_src").GetString());
            });
            Assert.Equal(
                ["gre 10.99.0.50 tcp 445", "vxlan 10.99.0.51 udp 6000"],
                findings.Select(f => f.GetProperty("evidence")).Select(e =>
                    $"{e.GetProperty("tunnel").GetString()} {e.GetProperty("tunnel_dst").GetString()} {e.GetProperty("protocol").GetString()} {e.GetProperty("dst_port").GetInt32()}").Order(StringComparer.Ordinal));

            Assert.Equal(1, textExit);
            var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
            Assert.All(lines, l => Assert.StartsWith("critical cross-client-flow", l, StringComparison.Ordinal));
            Assert.Contains(lines, l => l.Contains("10.10.0.11:50100 → 10.20.0.21:445 on VLAN 10, tunnelled in gre 10.10.0.11 → 10.99.0.50", StringComparison.Ordinal));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task PcapAnalyzeErspanMirrorFromTheSwitch_Exit1FindingsAsOnTheWireNamingTheMirror()
    {
        // The site's switch (10.99.0.2) mirrors acme's port to a collector by ERSPAN type II: an acme agent's SYN
        // to a globex host, and an ordinary frame within acme. Beside them, ERSPAN forged by an acme host.
        var agent = Frames.Mac("02:00:00:00:10:01");
        var gateway = Frames.Mac("00:00:5e:00:01:0a");
        var switchMac = Frames.Mac("02:00:00:00:99:02");
        var collector = Frames.Mac("02:00:00:00:99:60");
        var leak = Frames.Ethernet(gateway, agent, [10], 0x0800, Frames.Ipv4("10.10.0.11", "10.20.0.21", 6, Frames.Tcp(50100, 445, 0x02, [])));
        var within = Frames.Ethernet(gateway, agent, [10], 0x0800, Frames.Ipv4("10.10.0.11", "10.10.0.12", 6, Frames.Tcp(50101, 445, 0x02, [])));
        byte[] Mirror(byte[] mirrored) =>
            Frames.Ethernet(collector, switchMac, [99], 0x0800, Frames.Ipv4("10.99.0.2", "10.99.0.60", 47, TunnelFrames.ErspanII(42, 0, mirrored)));
        var forged = Frames.Ethernet(gateway, agent, [10], 0x0800, Frames.Ipv4("10.10.0.11", "10.99.0.60", 47, TunnelFrames.ErspanII(42, 0, leak)));
        var dir = Directory.CreateTempSubdirectory("segctl-erspan-");
        try
        {
            var capture = Path.Combine(dir.FullName, "erspan.pcap");
            var start = new DateTime(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc).Ticks;
            var frames = new[] { Mirror(leak), Mirror(within), forged };
            PcapWriter.WriteFile(capture, frames.Select((f, i) => new EvidenceFrame(start + (i * 10_000), f.Length, f)).ToArray());

            var (exit, output, error) = await SegctlProcess.RunAsync("pcap", "analyze", capture, "--policy", Fixture("site.yaml"), "--json");
            var (textExit, text, _) = await SegctlProcess.RunAsync("pcap", "analyze", capture, "--policy", Fixture("site.yaml"));

            Assert.True(exit == 1, $"exit {exit}: {error}");
            using var document = JsonDocument.Parse(output);
            var root = document.RootElement;
            Assert.Equal(3, root.GetProperty("packets").GetInt64());
            Assert.Equal(0, root.GetProperty("decode_errors").GetInt64());
            var findings = root.GetProperty("findings").EnumerateArray().ToArray();
            Assert.Equal(2, findings.Length);
            Assert.All(findings, finding =>
            {
                Assert.Equal("cross-client-flow", finding.GetProperty("rule").GetString());
                Assert.Equal(["acme", "globex"], finding.GetProperty("clients").EnumerateArray().Select(c => c.GetString()));
                Assert.Equal("10.20.0.21", finding.GetProperty("evidence").GetProperty("dst").GetString());
            });
            var mirrored = Assert.Single(findings, f => f.GetProperty("evidence").TryGetProperty("mirror", out _)).GetProperty("evidence");
            Assert.Equal("erspan", mirrored.GetProperty("mirror").GetString());
            Assert.Equal("10.99.0.2", mirrored.GetProperty("mirror_src").GetString());
            Assert.Equal(42, mirrored.GetProperty("erspan_session").GetInt32());
            Assert.False(mirrored.TryGetProperty("tunnel", out _));
            var tunnelled = Assert.Single(findings, f => f.GetProperty("evidence").TryGetProperty("tunnel", out _)).GetProperty("evidence");
            Assert.Equal("erspan", tunnelled.GetProperty("tunnel").GetString());
            Assert.Equal("10.10.0.11", tunnelled.GetProperty("tunnel_src").GetString());

            Assert.Equal(1, textExit);
            var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
            Assert.Contains(lines, l => l.Contains("10.10.0.11:50100 → 10.20.0.21:445 on VLAN 10, mirrored by 10.99.0.2 (ERSPAN session 42)", StringComparison.Ordinal));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task PcapAnalyzeNotACapture_Exit2()
    {
        var (exit, _, error) = await Segctl("pcap", "analyze", Fixture("site.yaml"), "--policy", Fixture("site.yaml"));

        Assert.Equal(2, exit);
        Assert.Contains("not a readable pcap", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("clean-site.pcap", 19)]
    [InlineData("leaky-site.pcap", 31)]
    public async Task PcapAnalyzeCaptureCutShort_Exit2NamingTheCutAndReportsWhatWasRead(string fixture, long framesBeforeTheCut)
    {
        var dir = Directory.CreateTempSubdirectory("segctl-cut-");
        try
        {
            var cut = Path.Combine(dir.FullName, "cut.pcap");
            var bytes = await File.ReadAllBytesAsync(Fixture(fixture));
            await File.WriteAllBytesAsync(cut, bytes[..^10]);

            var (exit, output, error) = await Segctl("pcap", "analyze", cut, "--policy", Fixture("site.yaml"), "--json");

            Assert.Equal(2, exit);
            Assert.Contains($"truncated record {framesBeforeTheCut + 1}", error, StringComparison.Ordinal);
            Assert.Contains("the rest of the file was not", error, StringComparison.Ordinal);
            using var document = JsonDocument.Parse(output);
            Assert.Equal(framesBeforeTheCut, document.RootElement.GetProperty("packets").GetInt64());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task PcapAnalyzeBadPolicy_Exit2()
    {
        var (exit, _, error) = await Segctl("pcap", "analyze", Fixture("clean-site.pcap"), "--policy", Fixture("clean-site.pcap"));

        Assert.Equal(2, exit);
        Assert.Contains("does not load", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CaptureLiveOnTwoInterfacesForSeconds_FindingsOfBothAndEvidenceFilesNeverCollide()
    {
        using var first = new VethLab(mirror: false);
        using var second = new VethLab(mirror: false);
        var dir = Directory.CreateTempSubdirectory("segctl-live-evidence-");
        try
        {
            // The window runs from the command's start, and a busy machine can spend most of it opening
            // the handles: a run that ended before both captures had seen three replays says nothing, and
            // is made again with twice the window.
            var (exit, output, error) = (0, "", "");
            for (var seconds = 4; ; seconds *= 2)
            {
                foreach (var stale in dir.GetFiles())
                {
                    stale.Delete();
                }

                var run = Segctl(
                    "capture", "live", "--interface", first.CaptureInterface, "--interface", second.CaptureInterface,
                    "--policy", Fixture("site.yaml"), "--seconds", seconds.ToString(CultureInfo.InvariantCulture), "--evidence", dir.FullName, "--json");
                if (await PacketRing.WaitAsync(Environment.ProcessId, first.CaptureInterface, () => run.IsCompleted))
                {
                    await PacketRing.WaitAsync(Environment.ProcessId, second.CaptureInterface, () => run.IsCompleted);
                }

                var replays = 0;
                while (!run.IsCompleted)
                {
                    first.Replay(Fixture("leaky-site.pcap"));
                    second.Replay(Fixture("leaky-site.pcap"));
                    if (!run.IsCompleted)
                    {
                        replays++;
                    }

                    await Task.WhenAny(run, Task.Delay(300));
                }

                (exit, output, error) = await run;
                if (replays >= 3)
                {
                    break;
                }

                Assert.True(seconds < 32, $"a {seconds} s capture ended before both interfaces had seen three replays ({replays}): {error}");
            }

            Assert.True(exit == 1, error);
            using var document = JsonDocument.Parse(output);
            var root = document.RootElement;
            Assert.True(root.GetProperty("packets").GetInt64() >= 64);
            Assert.Equal(0, root.GetProperty("decode_errors").GetInt64());
            var interfaces = root.GetProperty("interfaces").EnumerateArray().ToArray();
            Assert.Equal([first.CaptureInterface, second.CaptureInterface], interfaces.Select(i => i.GetProperty("interface").GetString()));
            Assert.All(interfaces, i => Assert.True(i.GetProperty("received").GetInt64() >= 32));
            Assert.All(interfaces, i => Assert.Equal(0, i.GetProperty("dropped").GetInt64()));

            // One finding per rule per flow on each interface: every rule twice.
            var rules = root.GetProperty("findings").EnumerateArray().Select(f => f.GetProperty("rule").GetString()!).ToArray();
            Assert.Equal(LeakRules.SelectMany(r => new[] { r, r }), rules.Order(StringComparer.Ordinal));

            var listed = root.GetProperty("evidence_files").EnumerateArray().Select(f => f.GetString()!).ToArray();
            var files = dir.GetFiles("*.pcap").Select(f => f.FullName).Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(18, files.Length);
            Assert.Equal(files, listed.Order(StringComparer.Ordinal));
            Assert.Equal(9, files.Count(f => Path.GetFileName(f).StartsWith(first.CaptureInterface + "-", StringComparison.Ordinal)));
            Assert.Equal(9, files.Count(f => Path.GetFileName(f).StartsWith(second.CaptureInterface + "-", StringComparison.Ordinal)));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task CaptureLive_StalledWhileFramesPourIn_DropsReportedAndCaptureDegraded()
    {
        using var lab = new VethLab(mirror: false);
        var dir = Directory.CreateTempSubdirectory("segctl-live-drops-");
        try
        {
            // A 1 MiB ring, and the real segctl process stopped while tens of thousands of frames arrive:
            // the kernel must drop, and the controller must say so rather than look clean.
            var policy = Path.Combine(dir.FullName, "site.yaml");
            File.WriteAllText(policy, File.ReadAllText(Fixture("site.yaml")).Replace(
                "interfaces: []", $"interfaces: [{{name: {lab.CaptureInterface}, buffer_mib: 1}}]", StringComparison.Ordinal));
            await using var segctl = await StartStoppedWithRingAsync(lab.CaptureInterface, policy);
            try
            {
                lab.Replay(Fixture("clean-site.pcap"), "--topspeed", "--loop", "5000");
            }
            finally
            {
                segctl.Signal(NativeMethods.SigCont);
            }

            var exit = await segctl.WaitForExitAsync(TimeSpan.FromMinutes(1));

            Assert.True(exit == 1, $"exit {exit}: {segctl.StandardError}{segctl.StandardOutput}");
            using var document = JsonDocument.Parse(segctl.StandardOutput);
            var root = document.RootElement;
            var statistics = Assert.Single(root.GetProperty("interfaces").EnumerateArray().ToArray());
            var dropped = statistics.GetProperty("dropped").GetInt64() + statistics.GetProperty("interface_dropped").GetInt64();
            Assert.True(dropped > 0, statistics.ToString());
            Assert.True(statistics.GetProperty("received").GetInt64() + dropped >= 100_000 - 1_000, statistics.ToString());
            var degraded = Assert.Single(root.GetProperty("findings").EnumerateArray(), f => f.GetProperty("rule").GetString() == "capture-degraded");
            Assert.Equal("high", degraded.GetProperty("severity").GetString());
            Assert.Equal("loss", degraded.GetProperty("evidence").GetProperty("reason").GetString());
            Assert.Equal(lab.CaptureInterface, degraded.GetProperty("evidence").GetProperty("interface").GetString());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    // A capture stopped with its ring set up: whenever its window ends, the frames that arrive while it is
    // stopped are settled as received or dropped. A run whose window ended before it set up its ring (a cold
    // start on a busy machine) says nothing, and is made again with twice the window.
    private static async Task<SegctlProcess> StartStoppedWithRingAsync(string interfaceName, string policy)
    {
        for (var seconds = 15; ; seconds *= 2)
        {
            var segctl = SegctlProcess.Start("capture", "live", "--interface", interfaceName, "--policy", policy, "--seconds", seconds.ToString(CultureInfo.InvariantCulture), "--json");
            if (await PacketRing.WaitAsync(segctl.Id, interfaceName, () => segctl.HasExited))
            {
                // A run that ended in between is gone (no signal) or unmapped: either way not stopped with a ring.
                _ = NativeMethods.Kill(segctl.Id, NativeMethods.SigStop);
                if (PacketRing.IsMapped(segctl.Id, interfaceName))
                {
                    return segctl;
                }
            }

            await segctl.DisposeAsync();
            Assert.True(seconds < 60, $"a {seconds} s capture on {interfaceName} ended before it had set up its ring: {segctl.StandardError}");
        }
    }

    [Fact]
    public async Task CaptureLiveNoSuchInterface_Exit2()
    {
        var (exit, _, error) = await Segctl("capture", "live", "--interface", "segctl-nope0", "--policy", Fixture("site.yaml"), "--seconds", "1");

        Assert.Equal(2, exit);
        Assert.Contains("segctl-nope0", error, StringComparison.Ordinal);
    }
}
