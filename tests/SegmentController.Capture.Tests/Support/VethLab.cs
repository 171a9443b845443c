namespace SegmentController.Capture.Tests.Support;

/// <summary>
/// A network namespace holding the sending end of a veth pair whose other end stays in the root
/// namespace for capture; optionally a mirror: the sender's peer inside the namespace is mirrored
/// with <c>tc … action mirred</c> onto a second veth pair, whose root end is the SPAN port.
/// Names are unique per instance; everything is deleted on dispose.
/// </summary>
internal sealed class VethLab : IDisposable
{
    private readonly bool _mirror;

    public VethLab(bool mirror)
    {
        var id = Guid.NewGuid().ToString("N")[..6];
        Namespace = $"segcap-{id}";
        Sender = $"scs{id}";
        Shell.Run("ip", "netns", "add", Namespace);
        try
        {
            // Our own IPv6 chatter (router solicitations, MLD) would be captured too; keep the wire quiet.
            Shell.Run("ip", "netns", "exec", Namespace, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1");
            Shell.Run("ip", "netns", "exec", Namespace, "sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1");

            _mirror = mirror;
            if (!mirror)
            {
                CaptureInterface = $"scc{id}";
                Shell.Run("ip", "link", "add", CaptureInterface, "type", "veth", "peer", "name", Sender, "netns", Namespace);
            }
            else
            {
                // Traffic goes sender → switch port inside the namespace; the switch port's ingress is
                // mirrored to the SPAN pair, whose root-namespace end we capture on.
                var port = $"scp{id}";
                var spanInside = $"scm{id}";
                CaptureInterface = $"scc{id}";
                Shell.Run("ip", "netns", "exec", Namespace, "ip", "link", "add", Sender, "type", "veth", "peer", "name", port);
                Shell.Run("ip", "link", "add", CaptureInterface, "type", "veth", "peer", "name", spanInside, "netns", Namespace);
                foreach (var link in new[] { port, spanInside })
                {
                    Shell.Run("ip", "netns", "exec", Namespace, "ip", "link", "set", link, "up");
                }

                Shell.Run("ip", "netns", "exec", Namespace, "tc", "qdisc", "add", "dev", port, "ingress");
                Shell.Run("ip", "netns", "exec", Namespace, "tc", "filter", "add", "dev", port, "parent", "ffff:", "protocol", "all", "u32", "match", "u32", "0", "0", "action", "mirred", "egress", "mirror", "dev", spanInside);
            }

            Shell.TryRun("sysctl", "-q", "-w", $"net.ipv6.conf.{CaptureInterface}.disable_ipv6=1");
            Shell.Run("ip", "link", "set", CaptureInterface, "up");
            Shell.Run("ip", "netns", "exec", Namespace, "ip", "link", "set", Sender, "up");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Namespace { get; }

    /// <summary>The root-namespace interface to capture on.</summary>
    public string CaptureInterface { get; }

    /// <summary>The interface inside the namespace that tcpreplay sends on.</summary>
    public string Sender { get; }

    /// <summary>Deletes the capture interface (and its peer), as when a mirror port's link is removed.</summary>
    public void DeleteCaptureInterface() => Shell.Run("ip", "link", "del", CaptureInterface);

    /// <summary>Makes the capture pair again under the same names (a lab without a mirror only).</summary>
    public void RecreateCaptureInterface()
    {
        if (_mirror)
        {
            throw new InvalidOperationException("only the pair of a lab without a mirror can be made again");
        }

        Shell.Run("ip", "link", "add", CaptureInterface, "type", "veth", "peer", "name", Sender, "netns", Namespace);
        Shell.TryRun("sysctl", "-q", "-w", $"net.ipv6.conf.{CaptureInterface}.disable_ipv6=1");
        Shell.Run("ip", "link", "set", CaptureInterface, "up");
        Shell.Run("ip", "netns", "exec", Namespace, "ip", "link", "set", Sender, "up");
    }

    public void Replay(string pcap, params string[] options) =>
        Shell.Run("ip", ["netns", "exec", Namespace, "tcpreplay", "-q", "-i", Sender, .. options, pcap]);

    public void Dispose()
    {
        Shell.TryRun("ip", "link", "del", CaptureInterface);
        Shell.TryRun("ip", "netns", "del", Namespace);
    }
}
