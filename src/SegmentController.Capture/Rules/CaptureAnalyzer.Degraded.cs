using SegmentController.Capture.Classification;
using SegmentController.Capture.Sources;

namespace SegmentController.Capture.Rules;

/// <remarks>
/// Capture health: loss (from the source's counters), silence (no frame for the policy's period, live
/// only: a quiet stretch inside a capture file loses nothing of what the file holds), overflow (more
/// violations than are tracked one by one) and ARP overflow (ARP claims a share of the binding table has
/// no room for). Each episode is one <c>capture-degraded</c> finding whose counts and end are updated while it
/// lasts.
/// </remarks>
internal sealed partial class CaptureAnalyzer
{
    private readonly List<DegradedEvent> _degraded = [];
    private DegradedEvent? _silence;
    private DegradedEvent? _loss;
    private DegradedEvent? _overflow;
    private volatile bool _silent;
    private volatile bool _lossy;
    private volatile bool _overflowing;
    private readonly DegradedEvent?[] _arpOverflows = new DegradedEvent?[ArpBindings.VlanIds];
    private readonly List<int> _arpOverflowingShares = [];
    private volatile bool _arpFull;
    private long _arpClaimsUnchecked;
    private CaptureStatistics _statistics;
    private CaptureStatistics _sourceStatistics;
    private long _lastStatisticsTicks;

    /// <summary>
    /// True while capture on this interface is not trustworthy: frames lost, silence, violations beyond
    /// those tracked one by one, or ARP claims not remembered (spoofing of those addresses goes unseen).
    /// </summary>
    public bool Degraded => _silent || _lossy || _overflowing || _arpFull;

    /// <summary>ARP claims of new addresses not remembered because the binding table had no room.</summary>
    public long ArpClaimsUnchecked => Volatile.Read(ref _arpClaimsUnchecked);

    /// <summary>
    /// Capture counters summed over every source instance this analyzer was fed by (a live source that
    /// is reopened starts its own counters from zero). Safe from any thread.
    /// </summary>
    public CaptureStatistics Statistics
    {
        get
        {
            lock (_reportLock)
            {
                return _statistics;
            }
        }
    }

    /// <summary>A new source instance starts feeding this analyzer: its counters start from zero.</summary>
    public void BeginSource()
    {
        _sourceStatistics = default;
    }

    /// <summary>Reports cumulative counters of the current source (frames received, dropped).</summary>
    public void ReportStatistics(long received, long dropped, long nowTicks) =>
        ReportStatistics(new CaptureStatistics(received, dropped, 0), nowTicks);

    /// <summary>
    /// Reports the current source's cumulative counters; what moved since its previous report is added
    /// to <see cref="Statistics"/>, and loss above the policy's threshold in that interval starts (or
    /// continues) a capture-degraded episode.
    /// </summary>
    public void ReportStatistics(CaptureStatistics statistics, long nowTicks)
    {
        var received = statistics.Received - _sourceStatistics.Received;
        var dropped = statistics.Dropped - _sourceStatistics.Dropped;
        var interfaceDropped = statistics.InterfaceDropped - _sourceStatistics.InterfaceDropped;
        if (received < 0 || dropped < 0 || interfaceDropped < 0)
        {
            // Counters went back: a source instance that was not announced; its counters are all new.
            (received, dropped, interfaceDropped) = (statistics.Received, statistics.Dropped, statistics.InterfaceDropped);
        }

        _sourceStatistics = statistics;
        var intervalStart = _lastStatisticsTicks == 0 ? nowTicks : _lastStatisticsTicks;
        _lastStatisticsTicks = nowTicks;
        var lost = dropped + interfaceDropped;

        // On Linux libpcap's "received" already includes what the kernel dropped.
        var seen = Math.Max(received, lost);
        var loss = seen == 0 ? 0 : (double)lost / seen;
        var signal = false;
        lock (_reportLock)
        {
            _statistics = new CaptureStatistics(_statistics.Received + received, _statistics.Dropped + dropped, _statistics.InterfaceDropped + interfaceDropped);
            if (loss > Volatile.Read(ref _index).Capture.LossThreshold && lost > 0)
            {
                if (!_lossy || _loss is null)
                {
                    _loss = new DegradedEvent(InterfaceName, DegradedEvent.Loss, intervalStart) { Id = NextId(), LastTicks = nowTicks, Received = seen, Dropped = lost };
                    AddDegraded(_loss);
                    _lossy = true;
                    signal = true;
                }
                else
                {
                    _loss.Received += seen;
                    _loss.Dropped += lost;
                    _loss.LastTicks = nowTicks;
                    _loss.Version++;
                }
            }
            else if (_lossy)
            {
                _lossy = false;
                if (_loss is not null)
                {
                    _loss.Open = false;
                    _loss.Version++;
                }
            }
        }

        if (signal)
        {
            ViolationRecorded?.Invoke();
        }
    }

    /// <summary>Called while no frames arrive: silence longer than the policy allows is degraded capture.</summary>
    public void CheckSilence(long nowTicks, long startedTicks)
    {
        if (_lastFrameTicks == 0 && startedTicks == 0)
        {
            StartedTicks = nowTicks;
            return;
        }

        var since = _lastFrameTicks == 0 ? startedTicks : _lastFrameTicks;
        if (nowTicks - since <= Volatile.Read(ref _index).Capture.Silence.Ticks)
        {
            return;
        }

        var signal = false;
        lock (_reportLock)
        {
            if (!_silent || _silence is null)
            {
                _silence = new DegradedEvent(InterfaceName, DegradedEvent.Silence, since) { Id = NextId(), LastTicks = nowTicks };
                AddDegraded(_silence);
                _silent = true;
                signal = true;
            }
            else
            {
                _silence.LastTicks = nowTicks;
                _silence.Version++;
            }
        }

        if (signal)
        {
            ViolationRecorded?.Invoke();
        }
    }

    /// <summary>Frames again after silence: the episode ends, its finding updated with the whole duration.</summary>
    private void EndSilence(long timestampTicks)
    {
        lock (_reportLock)
        {
            _silent = false;
            if (_silence is not null)
            {
                _silence.LastTicks = Math.Max(_silence.LastTicks, timestampTicks);
                _silence.Open = false;
                _silence.Version++;
            }
        }
    }

    /// <summary>
    /// A flow concerning <paramref name="clients"/> was folded into an aggregate: starts or extends the
    /// overflow episode, and widens the clients it names. The aggregate still reports the flow under those
    /// clients, so only their per-flow detail is lost: the episode names them, and a suspension on lost
    /// verification reaches them alone. A flow naming no client could be any client's traffic (an untagged
    /// frame, addresses outside every segment) and its aggregate suspends nobody, so folding one makes the
    /// episode name no client: the whole site's verification is lost. True when the episode started or its
    /// scope widened (a new finding for the clients it now concerns). Under the report lock.
    /// </summary>
    private bool NoteOverflow(SortedSet<string> clients, long nowTicks)
    {
        var started = CountSuppressed(ref _overflow, _overflowing, DegradedEvent.Overflow, nowTicks);
        _overflowing = true;
        var episode = _overflow!;
        if (episode.SiteWide)
        {
            return started;
        }

        if (clients.Count == 0)
        {
            episode.SiteWide = true;
            episode.Clients = Array.Empty<string>();
            return true;
        }

        if (!clients.IsSubsetOf(episode.Clients))
        {
            episode.Clients = [.. clients.Union(episode.Clients, StringComparer.Ordinal).Order(StringComparer.Ordinal)];
            return true;
        }

        return started;
    }

    /// <summary>
    /// Counts one more suppressed item in the episode of <paramref name="reason"/>, starting it when none is
    /// <paramref name="open"/>; true when it started. Under the report lock.
    /// </summary>
    private bool CountSuppressed(ref DegradedEvent? episode, bool open, string reason, long nowTicks)
    {
        if (!open || episode is null)
        {
            episode = new DegradedEvent(InterfaceName, reason, nowTicks) { Id = NextId(), Suppressed = 1 };
            AddDegraded(episode);
            return true;
        }

        episode.Suppressed++;
        episode.LastTicks = nowTicks;
        episode.Version++;
        return false;
    }

    /// <summary>Room again for violations one by one. Under the report lock.</summary>
    private void EndOverflow(long nowTicks)
    {
        _overflowing = false;
        if (_overflow is not null)
        {
            _overflow.LastTicks = Math.Max(_overflow.LastTicks, nowTicks);
            _overflow.Open = false;
            _overflow.Version++;
        }
    }

    /// <summary>
    /// An ARP claim of a new address found its share of the binding table (<paramref name="share"/>, a client
    /// VLAN or the shared remainder) full of bindings that may not make room, or (<paramref name="bindingLost"/>)
    /// a live binding of that share was given up to make room: starts or extends that share's ARP overflow
    /// episode. A client VLAN's episode names the client whose segment the policy puts on that
    /// VLAN, so only that client's verification is reported lost; the remainder's names none, as the VLANs
    /// it serves are no client's and their loss concerns the whole site. Open episodes are at most one per
    /// share, bounded by the policy's VLANs.
    /// </summary>
    private void NoteArpOverflow(int share, int vlan, long nowTicks, bool bindingLost = false)
    {
        var index = _index;
        var client = share == ArpBindings.SharedRemainder ? -1 : index.ClientOf(index.VlanOwner(share));
        bool signal;
        lock (_reportLock)
        {
            if (!bindingLost)
            {
                _arpClaimsUnchecked++;
            }

            ref var episode = ref _arpOverflows[share];
            var open = episode is { Open: true };
            if (open && !NamesOnly(episode!, index, client))
            {
                // A reload gave the VLAN to another client: the episode so far concerns the one it named.
                CloseArpOverflow(episode!, nowTicks);
                open = false;
            }

            if (!open)
            {
                episode = new DegradedEvent(InterfaceName, DegradedEvent.ArpOverflow, nowTicks)
                {
                    Id = NextId(),
                    Suppressed = bindingLost ? 0 : 1,
                    BindingsLost = bindingLost ? 1 : 0,
                    Vlan = vlan,
                    SharedRemainder = share == ArpBindings.SharedRemainder,
                    Clients = client >= 0 ? [index.ClientIds[client]] : [],
                };
                AddDegraded(episode);
                if (!_arpOverflowingShares.Contains(share))
                {
                    _arpOverflowingShares.Add(share);
                }
            }
            else
            {
                if (bindingLost)
                {
                    episode!.BindingsLost++;
                }
                else
                {
                    episode!.Suppressed++;
                }

                episode.LastTicks = nowTicks;
                episode.Version++;
            }

            _arpFull = true;
            signal = !open;
        }

        if (signal)
        {
            ViolationRecorded?.Invoke();
        }
    }

    /// <summary>
    /// A live binding of an address the policy names was given up to make room (its share held more than its
    /// size after a reload): until its host claims the address again, a different MAC claiming it is bound
    /// fresh instead of raising <c>arp-spoofing</c>. That is verification lost as surely as a claim not
    /// remembered, so it is on record the same way, in that share's ARP overflow episode.
    /// </summary>
    private void NoteArpBindingLost(int share, int vlan) =>
        NoteArpOverflow(share, share == ArpBindings.SharedRemainder ? vlan : share, _lastFrameTicks, bindingLost: true);

    private static bool NamesOnly(DegradedEvent episode, PolicyIndex index, int client) =>
        client < 0
            ? episode.Clients.Count == 0
            : episode.Clients.Count == 1 && string.Equals(episode.Clients[0], index.ClientIds[client], StringComparison.Ordinal);

    private static void CloseArpOverflow(DegradedEvent episode, long nowTicks)
    {
        episode.LastTicks = Math.Max(episode.LastTicks, nowTicks);
        episode.Open = false;
        episode.Version++;
    }

    /// <summary>
    /// Ends each share's ARP overflow episode once no claim of that share has gone unremembered for the flow
    /// idle timeout. Ending it at the first claim remembered again would make a new finding of every refusal
    /// under sustained pressure (a binding that makes room now and then); one episode spans the pressure
    /// instead.
    /// </summary>
    private void EndQuietArpOverflow(long nowTicks)
    {
        if (!_arpFull)
        {
            return;
        }

        lock (_reportLock)
        {
            for (var i = _arpOverflowingShares.Count - 1; i >= 0; i--)
            {
                var share = _arpOverflowingShares[i];
                var episode = _arpOverflows[share];
                if (episode is { Open: true } && nowTicks - episode.LastTicks <= _options.FlowIdleTimeout.Ticks)
                {
                    continue;
                }

                if (episode is { Open: true })
                {
                    episode.Open = false;
                    episode.Version++;
                }

                _arpOverflowingShares[i] = _arpOverflowingShares[^1];
                _arpOverflowingShares.RemoveAt(_arpOverflowingShares.Count - 1);
            }

            _arpFull = _arpOverflowingShares.Count > 0;
        }
    }

    /// <summary>Keeps an episode, making room by forgetting the oldest finished one already published. Under the report lock.</summary>
    private void AddDegraded(DegradedEvent degraded)
    {
        if (_degraded.Count >= _options.MaxDegradedEvents)
        {
            // Only a publisher that stopped taking findings leaves nothing finished and published. An open
            // episode is never dropped: it may not have been handed out yet, and the clients it names would
            // then never learn their verification is lost. Open episodes are bounded on their own (one each
            // for loss, silence and overflow, one per ARP share), so the list stays bounded.
            var oldest = _degraded.FindIndex(d => !d.Open && d.Published && d.PublishedVersion == d.Version);
            oldest = oldest >= 0 ? oldest : _degraded.FindIndex(d => !d.Open);
            if (oldest >= 0)
            {
                _degraded.RemoveAt(oldest);
            }
        }

        _degraded.Add(degraded);
    }
}
