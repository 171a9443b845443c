using System.Text.Json;
using SegmentController.Capture.Evidence;
using SegmentController.Capture.Tests.Support;
using SegmentController.Tests.Infrastructure;

namespace SegmentController.Tests.Cli;

/// <summary>
/// <c>segctl pcap analyze</c>, run as a process on a capture that reaches another client by an IPv6 form
/// of its IPv4 address and by ARP, among traffic of the same shapes that crosses no client.
/// </summary>
public sealed class PcapAnalyzeAddressFormsTests
{
    private static readonly byte[] AcmeMac = Frames.Mac("02:00:00:00:10:01");
    private static readonly byte[] GlobexMac = Frames.Mac("02:00:00:00:20:01");
    private static readonly byte[] RelayMac = Frames.Mac("02:00:00:00:77:01");

    private static string Fixture(string name) =>
        Path.Combine(RepositoryPaths.Root, "tests", "SegmentController.Capture.Tests", "Fixtures", name);

    private static byte[] Udp6(byte[] srcMac, int[] vlans, string source, string destination) =>
        Frames.Ethernet(GlobexMac, srcMac, vlans, 0x86DD, Frames.Ipv6(source, destination, 17, Frames.Udp(5000, 6000, new byte[32])));

    private static byte[] ArpRequest(byte[] senderMac, int[] vlans, string sender, string target) =>
        Frames.Ethernet(Frames.Broadcast, senderMac, vlans, 0x0806, Frames.Arp(1, senderMac, sender, new byte[6], target));

    [Fact]
    public async Task PcapAnalyzeEmbeddedFormsAndArpBetweenClients_Exit1OneCrossClientFindingEach()
    {
        byte[][] frames =
        [
            // Crossing clients.
            Udp6(AcmeMac, [10], "2001:db8:10::11", "64:ff9b::a14:15"),
            Udp6(RelayMac, [], "2002:a0a:b::1", "2001:db8:20::21"),
            Udp6(AcmeMac, [], "2001:db8:10::11", "2001:0:cb00:7101:8000:f227:f5eb:ffea"),
            ArpRequest(AcmeMac, [], "10.10.0.11", "10.20.0.21"),

            // Not crossing: an Internet host through NAT64, acme's own 6to4 site, a probe, a gratuitous ARP, ARP within acme.
            Udp6(AcmeMac, [10], "2001:db8:10::11", "64:ff9b::808:808"),
            Udp6(AcmeMac, [10], "2001:db8:10::11", "2002:a0a:c::1"),
            ArpRequest(GlobexMac, [], "0.0.0.0", "10.10.0.11"),
            ArpRequest(AcmeMac, [10], "10.10.0.11", "10.10.0.11"),
            ArpRequest(AcmeMac, [10], "10.10.0.11", "10.10.0.1"),
        ];
        var dir = Directory.CreateTempSubdirectory("segctl-addrforms-");
        try
        {
            var capture = Path.Combine(dir.FullName, "addrforms.pcap");
            var start = new DateTime(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc).Ticks;
            PcapWriter.WriteFile(capture, frames.Select((f, i) => new EvidenceFrame(start + (i * TimeSpan.TicksPerMillisecond), f.Length, f)));

            var (exit, output, error) = await SegctlProcess.RunAsync("pcap", "analyze", capture, "--policy", Fixture("site.yaml"), "--json");

            Assert.True(exit == 1, $"exit {exit}: {error}");
            using var document = JsonDocument.Parse(output);
            Assert.Equal(frames.Length, document.RootElement.GetProperty("packets").GetInt64());
            var findings = document.RootElement.GetProperty("findings").EnumerateArray().ToArray();
            Assert.All(findings, f =>
            {
                Assert.Equal("cross-client-flow", f.GetProperty("rule").GetString());
                Assert.Equal("critical", f.GetProperty("severity").GetString());
                Assert.Equal(["acme", "globex"], f.GetProperty("clients").EnumerateArray().Select(c => c.GetString()));
            });
            Assert.Equal(
                [
                    ("10.10.0.11", "10.20.0.21", "arp"),
                    ("2001:db8:10::11", "2001:0:cb00:7101:8000:f227:f5eb:ffea", "udp"),
                    ("2001:db8:10::11", "64:ff9b::a14:15", "udp"),
                    ("2002:a0a:b::1", "2001:db8:20::21", "udp"),
                ],
                findings
                    .Select(f => f.GetProperty("evidence"))
                    .Select(e => (e.GetProperty("src").GetString(), e.GetProperty("dst").GetString(), e.GetProperty("protocol").GetString()))
                    .Order());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
