using System.Text;
using System.Text.Json;
using SegmentController.Core.Findings;

namespace SegmentController.Tests.Findings;

public sealed class FindingJsonTests
{
    [Fact]
    public void Write_CaptureFinding_HasTheStableShape()
    {
        var seen = new DateTimeOffset(2026, 11, 22, 9, 30, 0, TimeSpan.FromHours(1));
        var finding = Finding.Create(
            RuleIds.CrossClientFlow,
            ["ibex", "assistring"],
            "10.1.10.5 (assistring) talks to 10.2.10.7 (ibex)",
            new Dictionary<string, object?>
            {
                ["vlans"] = new[] { 110 },
                ["src"] = "10.1.10.5",
                ["dst"] = "10.2.10.7",
                ["protocol"] = "tcp",
                ["src_port"] = 51000,
                ["dst_port"] = 443,
                ["packets"] = 12L,
                ["first_seen"] = seen,
                ["last_seen"] = seen,
            },
            seen);

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            FindingJson.Write(writer, finding);
        }

        using var json = JsonDocument.Parse(Encoding.UTF8.GetString(buffer.ToArray()));
        var root = json.RootElement;
        Assert.Equal("cross-client-flow", root.GetProperty("rule").GetString());
        Assert.Equal("critical", root.GetProperty("severity").GetString());
        Assert.Equal("capture", root.GetProperty("source").GetString());
        Assert.Equal(["assistring", "ibex"], root.GetProperty("clients").EnumerateArray().Select(c => c.GetString()!).ToArray());
        var evidence = root.GetProperty("evidence");
        Assert.Equal(110, evidence.GetProperty("vlans")[0].GetInt32());
        Assert.Equal(12, evidence.GetProperty("packets").GetInt64());
        Assert.Equal("2026-11-22T08:30:00.0000000+00:00", evidence.GetProperty("first_seen").GetString());
        Assert.False(root.TryGetProperty("update", out _));
    }

    [Fact]
    public void Write_Update_MarkedAsSuch()
    {
        var finding = Finding.Create(RuleIds.WeakTls, ["ibex"], "TLS 1.0", new Dictionary<string, object?> { ["packets"] = 40L }, DateTimeOffset.UnixEpoch) with { Update = true };

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            FindingJson.Write(writer, finding);
        }

        using var json = JsonDocument.Parse(buffer.ToArray());
        Assert.True(json.RootElement.GetProperty("update").GetBoolean());
    }
}
