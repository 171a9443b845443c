using System.Globalization;
using SegmentController.Capture.Decoding;
using SegmentController.Capture.Evidence;
using SegmentController.Capture.Flows;
using SegmentController.Core.Findings;

namespace SegmentController.Capture.Rules;

/// <remarks>
/// Reporting. A violation is published once as a new finding (<see cref="TakeNewFindings"/>), then as
/// updates (<see cref="Finding.Update"/>) when its counts, server name or evidence file change
/// (<see cref="TakeUpdates"/>). Its first frames are handed over for writing (<see cref="TakeEvidence"/>)
/// and freed once written (<see cref="EvidenceWritten"/>). A violation published, written and idle as
/// long as a flow may be is forgotten (<see cref="SweepViolations"/>), so a long-running capture keeps
/// room for new ones; should it recur, it is a new finding, as its flow is a new flow.
/// </remarks>
internal sealed partial class CaptureAnalyzer
{
    /// <summary>Every finding so far (offline analysis reads this once at the end).</summary>
    public IReadOnlyList<Finding> AllFindings(DateTimeOffset observedAt)
    {
        lock (_reportLock)
        {
            return
            [
                .. _violations.Values.Select(v => ToFinding(v, observedAt, update: false)),
                .. _aggregates.OfType<Violation>().Select(a => ToFinding(a, observedAt, update: false)),
                .. _degraded.Select(d => ToFinding(d, observedAt, update: false)),
            ];
        }
    }

    /// <summary>
    /// Findings not handed out before: new violations, new degraded episodes, and aggregates that are
    /// new or concern more clients than when last handed out (the live service publishes these).
    /// </summary>
    public IReadOnlyList<Finding> TakeNewFindings(DateTimeOffset observedAt)
    {
        lock (_reportLock)
        {
            var findings = new List<Finding>(_unreported.Count);
            foreach (var violation in _unreported)
            {
                findings.Add(ToFinding(violation, observedAt, update: false));
                MarkPublished(violation);
            }

            _unreported.Clear();
            foreach (var aggregate in _aggregates)
            {
                if (aggregate is not null && (!aggregate.Published || aggregate.Clients.Count != aggregate.PublishedClients))
                {
                    findings.Add(ToFinding(aggregate, observedAt, update: false));
                    MarkPublished(aggregate);
                }
            }

            foreach (var degraded in _degraded)
            {
                // An episode whose scope changed (an overflow that folded flows of another client, or one
                // naming no client) is a new finding for the clients it now concerns.
                if (!degraded.Published || !ReferenceEquals(degraded.Clients, degraded.PublishedClients))
                {
                    findings.Add(ToFinding(degraded, observedAt, update: false));
                    degraded.Published = true;
                    degraded.PublishedVersion = degraded.Version;
                    degraded.PublishedClients = degraded.Clients;
                }
            }

            _anyPublished |= findings.Count > 0;
            return findings;
        }
    }

    /// <summary>
    /// Updates of findings handed out before: always those whose evidence file was just written or
    /// whose degraded episode ended; with <paramref name="counts"/>, also those whose packet counts,
    /// server name or episode moved since they were last handed out.
    /// </summary>
    public IReadOnlyList<Finding> TakeUpdates(DateTimeOffset observedAt, bool counts)
    {
        lock (_reportLock)
        {
            var findings = new List<Finding>();
            foreach (var violation in _violations.Values)
            {
                if (!violation.Published)
                {
                    continue;
                }

                var evidence = !violation.PublishedEvidence && (violation.EvidenceFile is not null || violation.EvidenceNote is not null);
                var moved = violation.Packets != violation.PublishedPackets || !string.Equals(violation.Sni, violation.PublishedSni, StringComparison.Ordinal);
                if (evidence || (counts && moved))
                {
                    findings.Add(ToFinding(violation, observedAt, update: true));
                    MarkPublished(violation);
                }
            }

            foreach (var aggregate in _aggregates)
            {
                if (counts && aggregate is { Published: true } && (aggregate.Packets != aggregate.PublishedPackets || aggregate.Flows != aggregate.PublishedFlows))
                {
                    findings.Add(ToFinding(aggregate, observedAt, update: true));
                    MarkPublished(aggregate);
                }
            }

            foreach (var degraded in _degraded)
            {
                if (degraded.Published && degraded.Version != degraded.PublishedVersion && (counts || !degraded.Open))
                {
                    findings.Add(ToFinding(degraded, observedAt, update: true));
                    degraded.PublishedVersion = degraded.Version;
                }
            }

            return findings;
        }
    }

    /// <summary>The violations kept so far (aggregates included), with their evidence frames.</summary>
    public IReadOnlyList<Violation> Violations()
    {
        lock (_reportLock)
        {
            return [.. _violations.Values, .. _aggregates.OfType<Violation>()];
        }
    }

    /// <summary>
    /// Hands over the evidence frames of violations whose evidence is complete: the frames kept per
    /// violation are all there, or the violation is at least <paramref name="window"/> old. No more
    /// frames are kept for them; call <see cref="EvidenceWritten"/> for each once written. At most
    /// <paramref name="max"/> are handed over; the rest wait for the next call.
    /// </summary>
    public IReadOnlyList<(Violation Violation, EvidenceFrame[] Frames)> TakeEvidence(long nowTicks, TimeSpan window, int max = int.MaxValue)
    {
        var ready = new List<(Violation, EvidenceFrame[])>();
        lock (_reportLock)
        {
            // Queued in order of first sight, so the window is reached front first.
            while (ready.Count < max
                && _evidencePending.TryPeek(out var violation)
                && (violation.Frames.Count >= _options.EvidenceFramesPerViolation || nowTicks - violation.FirstTicks >= window.Ticks))
            {
                _evidencePending.Dequeue();
                violation.EvidenceClosed = true;
                if (violation.Frames.Count == 0)
                {
                    violation.EvidenceNote = "no frame was kept: the evidence memory budget was in use";
                    continue;
                }

                ready.Add((violation, violation.Frames.ToArray()));
            }
        }

        return ready;
    }

    /// <summary>
    /// Records where a violation's evidence was written (<paramref name="path"/>, its SHA-256) or why it
    /// was not (<paramref name="note"/>), and frees its frames from memory.
    /// </summary>
    public void EvidenceWritten(Violation violation, string? path, string? sha256, string? note)
    {
        ArgumentNullException.ThrowIfNull(violation);
        lock (_reportLock)
        {
            long freed = 0;
            foreach (var frame in violation.Frames)
            {
                freed += frame.Data.Length;
            }

            violation.Frames.Clear();
            violation.EvidenceFile = path;
            violation.EvidenceSha256 = sha256;
            violation.EvidenceNote = note;
            Interlocked.Add(ref _evidenceBytes, -freed);
        }
    }

    /// <summary>
    /// Forgets violations that are fully reported — published with their last counts, evidence written
    /// or given up — and whose flow has been idle for the flow idle timeout; ends an overflow episode
    /// once there is room again. Runs on the capture thread about once a second.
    /// </summary>
    private void SweepViolations(long nowTicks)
    {
        if (!_anyPublished && !_overflowing)
        {
            return;
        }

        var cutoff = nowTicks - _options.FlowIdleTimeout.Ticks;
        lock (_reportLock)
        {
            List<(CaptureRules, FlowKey)>? done = null;
            foreach (var (id, violation) in _violations)
            {
                if (violation.Published
                    && violation.LastTicks < cutoff
                    && violation.PublishedPackets == violation.Packets
                    && violation.EvidenceClosed
                    && violation.PublishedEvidence)
                {
                    (done ??= []).Add(id);
                }
            }

            foreach (var id in done ?? [])
            {
                _violations.Remove(id);
            }

            if (_overflowing && _violations.Count < _options.MaxViolations - (_options.MaxViolations / 10))
            {
                EndOverflow(nowTicks);
            }
        }
    }

    private static void MarkPublished(Violation violation)
    {
        violation.Published = true;
        violation.PublishedPackets = violation.Packets;
        violation.PublishedFlows = violation.Flows;
        violation.PublishedClients = violation.Clients.Count;
        violation.PublishedSni = violation.Sni;
        violation.PublishedEvidence = violation.EvidenceFile is not null || violation.EvidenceNote is not null;
    }

    private static string Summarize(CaptureRules rule, in FlowKey key, in DecodedFrame frame, SortedSet<string> clients, bool viaUpstream)
    {
        var who = clients.Count == 0 ? "no client" : string.Join(", ", clients);
        var what = rule switch
        {
            CaptureRules.CrossClientFlow when viaUpstream => "a client segment reaches another client's upstream",
            CaptureRules.CrossClientFlow when frame.Layer == NetworkLayer.Arp => "ARP between clients: one client's address resolves another's directly (a shared broadcast domain)",
            CaptureRules.CrossClientFlow when frame.NeighborSolicitation => "neighbour solicitation between clients: one client's segment resolves another's address directly (a shared link)",
            CaptureRules.CrossClientFlow => "traffic between clients",
            CaptureRules.VlanSubnetMismatch => "a client's VLAN carries another client's address",
            // A stack still going where the capture (or the walk) ended is longer than what was seen.
            CaptureRules.VlanHopping when frame.VlanOverflow => string.Create(CultureInfo.InvariantCulture, $"a stack of {(frame.EtherType is FrameDecoder.TpidCustomer or FrameDecoder.TpidService or FrameDecoder.TpidLegacyService ? "at least " : "")}{frame.VlanHeaders} VLAN tags, deeper than any QinQ"),
            CaptureRules.VlanHopping when frame.TaggedHeaders > frame.VlanCount => string.Create(CultureInfo.InvariantCulture, $"stacked VLAN tags ({frame.VlanHeaders} deep, priority tags included) where the site runs no QinQ"),
            CaptureRules.VlanHopping => $"stacked VLAN tags ({key.VlanDepth} deep) where the site runs no QinQ",
            CaptureRules.ProxyBypass => "a client segment reaches its client's upstream without the proxy",
            CaptureRules.CleartextToClient => "non-TLS payload to or from a client upstream",
            CaptureRules.WeakTls => string.Create(CultureInfo.InvariantCulture, $"TLS below 1.2 negotiated (0x{frame.TlsVersion:x4})"),
            CaptureRules.UnknownVlan => "a VLAN the policy does not name",
            CaptureRules.UnknownMac => $"station MAC {FormatMac(frame.SourceMac)} is not listed for its segment",
            CaptureRules.ArpSpoofing => $"ARP claim of {key.Source} by {FormatMac(frame.ArpSenderMac)} conflicts with an earlier binding or the frame's sender",
            _ => "violation",
        };
        return $"{char.ToUpperInvariant(what[0])}{what[1..]} ({who}): {DescribeFlow(in key, frame.SourceMac, frame.DestinationMac, frame.TunnelSource, frame.TunnelDestination, frame.RoutedVia)}{DescribeMirror(in key, frame.MirrorSource, frame.MirrorSession)}";
    }

    private string SummarizeAggregate(Violation aggregate)
    {
        var who = aggregate.Clients.Count == 0 ? "no client" : string.Join(", ", aggregate.Clients);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{aggregate.Flows} further flow(s) break {CaptureRuleIds.Of(aggregate.Rule)} beyond the {_options.MaxViolations} violations tracked one by one ({who}); the first: {DescribeFlow(aggregate.Flow, aggregate.SourceMac, aggregate.DestinationMac, aggregate.TunnelSource, aggregate.TunnelDestination, aggregate.RoutedVia)}{DescribeMirror(aggregate.Flow, aggregate.MirrorSource, aggregate.MirrorSession)}");
    }

    private static string DescribeMirror(in FlowKey key, IpKey mirrorSource, ushort session) =>
        key.Mirrored ? string.Create(CultureInfo.InvariantCulture, $", mirrored by {mirrorSource} (ERSPAN session {session})") : "";

    private static string DescribeFlow(in FlowKey key, ulong sourceMac, ulong destinationMac, IpKey tunnelSource, IpKey tunnelDestination, IpKey routedVia)
    {
        var vlans = key.VlanDepth == 0 ? "untagged" : "VLAN " + string.Join('/', key.VlanList()) + (key.VlanOverflow ? "/…" : "");
        var flow = key.Layer switch
        {
            NetworkLayer.Other => $"{FormatMac(sourceMac)} → {FormatMac(destinationMac)}",
            NetworkLayer.Arp => $"ARP {key.Source} → {key.Destination}",
            _ when key.SourcePort != 0 || key.DestinationPort != 0 =>
                $"{IpProtocols.Name(key.Layer, key.Protocol)} {Endpoint(key.Source, key.SourcePort)} → {Endpoint(key.Destination, key.DestinationPort)}",
            _ => $"{IpProtocols.Name(key.Layer, key.Protocol)} {key.Source} → {key.Destination}",
        };
        var routed = key.SourceRouted ? $", source-routed via {routedVia}" : "";
        return key.TunnelPath == 0
            ? $"{flow} on {vlans}{routed}"
            : $"{flow} on {vlans}{routed}, tunnelled in {key.TunnelList()} {tunnelSource} → {tunnelDestination}";
    }

    private static string VlanName(int vlan) =>
        vlan == 0 ? "untagged frames" : string.Create(CultureInfo.InvariantCulture, $"VLAN {vlan}");

    private static string Endpoint(IpKey address, ushort port) =>
        address.IsV4
            ? string.Create(CultureInfo.InvariantCulture, $"{address}:{port}")
            : string.Create(CultureInfo.InvariantCulture, $"[{address}]:{port}");

    internal static string FormatMac(ulong mac) =>
        string.Create(17, mac, static (span, value) =>
        {
            for (var i = 0; i < 6; i++)
            {
                var b = (byte)(value >> (40 - (8 * i)));
                b.TryFormat(span[(i * 3)..], out _, "x2", CultureInfo.InvariantCulture);
                if (i < 5)
                {
                    span[(i * 3) + 2] = ':';
                }
            }
        });

    private Finding ToFinding(Violation violation, DateTimeOffset observedAt, bool update)
    {
        var key = violation.Flow;
        var evidence = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["vlans"] = key.VlanList(),
            ["src"] = key.Layer == NetworkLayer.Other ? FormatMac(violation.SourceMac) : key.Source.ToString(),
            ["dst"] = key.Layer == NetworkLayer.Other ? FormatMac(violation.DestinationMac) : key.Destination.ToString(),
            ["protocol"] = IpProtocols.Name(key.Layer, key.Protocol),
            ["src_port"] = (int)key.SourcePort,
            ["dst_port"] = (int)key.DestinationPort,
            ["packets"] = violation.Packets,
            ["first_seen"] = new DateTimeOffset(violation.FirstTicks, TimeSpan.Zero),
            ["last_seen"] = new DateTimeOffset(violation.LastTicks, TimeSpan.Zero),
        };
        if (violation.VlanHeaders != 0)
        {
            evidence["vlan_depth"] = violation.VlanHeaders;
        }

        if (key.VlanOverflow)
        {
            evidence["vlans_truncated"] = true;
        }

        if (key.TunnelPath != 0)
        {
            evidence["tunnel"] = key.TunnelList();
            evidence["tunnel_src"] = violation.TunnelSource.ToString();
            evidence["tunnel_dst"] = violation.TunnelDestination.ToString();
        }

        if (key.SourceRouted)
        {
            evidence["routed_via"] = violation.RoutedVia.ToString();
        }

        if (key.Mirrored)
        {
            evidence["mirror"] = "erspan";
            evidence["mirror_src"] = violation.MirrorSource.ToString();
            evidence["erspan_session"] = (int)violation.MirrorSession;
        }

        if (violation.Sni is { } sni)
        {
            evidence["sni"] = sni;
        }

        if (violation.IsAggregate)
        {
            evidence["aggregated"] = true;
            evidence["flows"] = violation.Flows;
        }

        if (violation.EvidenceFile is { } file)
        {
            evidence["evidence_file"] = file;
            evidence["evidence_sha256"] = violation.EvidenceSha256;
        }
        else if (violation.EvidenceNote is { } note)
        {
            evidence["evidence_note"] = note;
        }

        var summary = violation.IsAggregate ? SummarizeAggregate(violation) : violation.Summary;
        var findingKey = violation.IsAggregate
            ? $"capture/{InterfaceName}/aggregate/{CaptureRuleIds.Of(violation.Rule)}"
            : string.Create(CultureInfo.InvariantCulture, $"capture/{InterfaceName}/{violation.Id}");
        return Finding.Create(CaptureRuleIds.Of(violation.Rule), violation.Clients, summary, evidence, observedAt) with { Update = update, Key = findingKey };
    }

    private Finding ToFinding(DegradedEvent degraded, DateTimeOffset observedAt, bool update)
    {
        var seconds = TimeSpan.FromTicks(degraded.LastTicks - degraded.FirstTicks).TotalSeconds;
        var summary = degraded.Reason switch
        {
            DegradedEvent.Loss => string.Create(CultureInfo.InvariantCulture, $"Capture on {degraded.Interface} lost {degraded.LossFraction:P2} of frames (dropped {degraded.Dropped} of {degraded.Received})"),
            DegradedEvent.ArpOverflow when degraded.SharedRemainder => string.Create(CultureInfo.InvariantCulture, $"Capture on {degraded.Interface} has no room for more ARP bindings of VLANs no client segment names (first on {VlanName(degraded.Vlan)}): {ArpBindingsNotChecked(degraded)}{(degraded.BindingsLost == 0 ? " (bindings already held are kept)" : "")}"),
            DegradedEvent.ArpOverflow => string.Create(CultureInfo.InvariantCulture, $"Capture on {degraded.Interface} has no room for more ARP bindings in the share of VLAN {degraded.Vlan} ({string.Join(", ", degraded.Clients)}): {ArpBindingsNotChecked(degraded)}{(degraded.BindingsLost == 0 ? " (bindings already held are kept; other VLANs keep their own room)" : "")}"),
            DegradedEvent.Overflow => string.Create(CultureInfo.InvariantCulture, $"Capture on {degraded.Interface} tracks no more violations one by one: {degraded.Suppressed} violating flow(s) folded into per-rule aggregates ({(degraded.Clients.Count == 0 ? "a flow naming no client among them: the whole site" : string.Join(", ", degraded.Clients))})"),
            _ => degraded.Open
                ? string.Create(CultureInfo.InvariantCulture, $"No frames on {degraded.Interface} for {seconds:0} s")
                : string.Create(CultureInfo.InvariantCulture, $"No frames on {degraded.Interface} for {seconds:0} s (frames resumed)"),
        };
        var evidence = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["interface"] = degraded.Interface,
            ["reason"] = degraded.Reason,
            ["received"] = degraded.Received,
            ["dropped"] = degraded.Dropped,
            ["loss"] = degraded.LossFraction,
            ["first_seen"] = new DateTimeOffset(degraded.FirstTicks, TimeSpan.Zero),
            ["last_seen"] = new DateTimeOffset(degraded.LastTicks, TimeSpan.Zero),
            ["seconds"] = seconds,
            ["ongoing"] = degraded.Open,
        };
        if (degraded.Reason is DegradedEvent.Overflow or DegradedEvent.ArpOverflow)
        {
            evidence["suppressed"] = degraded.Suppressed;
        }

        if (degraded.Reason is DegradedEvent.ArpOverflow)
        {
            evidence["bindings_lost"] = degraded.BindingsLost;
            evidence["vlan"] = degraded.Vlan;
            evidence["shared"] = degraded.SharedRemainder;
        }

        return Finding.Create(RuleIds.CaptureDegraded, degraded.Clients, summary, evidence, observedAt) with
        {
            Update = update,
            Key = string.Create(CultureInfo.InvariantCulture, $"capture/{InterfaceName}/degraded/{degraded.Id}"),
        };
    }

    /// <summary>What an ARP overflow episode left unchecked: claims not remembered, live bindings given up, or both.</summary>
    private static string ArpBindingsNotChecked(DegradedEvent degraded)
    {
        var refused = degraded.Suppressed > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{degraded.Suppressed} claim(s) of new addresses not remembered")
            : null;
        var lost = degraded.BindingsLost > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{degraded.BindingsLost} binding(s) of live hosts given up to make room after a policy reload")
            : null;
        return $"{string.Join(" and ", new[] { refused, lost }.Where(p => p is not null))}, so not checked for spoofing later";
    }
}
