using System.Globalization;
using SegmentController.Core.Policy;
using SharpPcap;
using SharpPcap.LibPcap;

namespace SegmentController.Capture.Sources;

/// <summary>
/// A live interface through libpcap: promiscuous (as configured), snap length, kernel buffer size and
/// BPF filter from the policy. Statistics are read on the capture thread every
/// <see cref="StatisticsInterval"/>, so the handle has one owner.
/// </summary>
internal sealed class LiveInterfaceSource : ICaptureSource
{
    private readonly CaptureInterface _settings;
    private readonly TimeProvider _time;
    private volatile LibPcapLiveDevice? _device;
    private uint _lastReceived;
    private uint _lastDropped;
    private uint _lastInterfaceDropped;
    private CaptureStatistics _statistics;
    private int _descriptor = -1;

    public LiveInterfaceSource(CaptureInterface settings, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(time);
        _settings = settings;
        _time = time;
    }

    public string Name => _settings.Name;

    public TimeSpan StatisticsInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long one read waits for a frame before reporting idle.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromMilliseconds(200);

    public CaptureStatistics Statistics => _statistics;

    /// <summary>True once the interface is open for capture, until the source is disposed. Safe from any thread.</summary>
    public bool IsOpen => _device is not null;

    /// <summary>True once the interface was opened for capture, even after the source is disposed.</summary>
    public bool HasOpened { get; private set; }

    public void Run(IFrameSink sink, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sink);
        Open();
        HasOpened = true;
        sink.OnSourceOpened(_time.GetUtcNow().UtcTicks);
        var device = _device!;
        var nanoseconds = PcapFrameReader.UsesNanoseconds(device);
        var nextStatistics = _time.GetTimestamp();
        var count = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var result = PcapFrameReader.Next(device, sink, nanoseconds);
            if (result < 0)
            {
                throw new CaptureSourceException($"{Name}: capture failed ({device.LastError})");
            }

            if (result == 0)
            {
                PcapPoll.Wait(_descriptor, (int)ReadTimeout.TotalMilliseconds);
                sink.OnIdle(_time.GetUtcNow().UtcTicks);
            }

            // Reading the clock per frame is measurable at line rate; every 1024 frames or idle is enough.
            if ((result == 0 || (++count & 0x3FF) == 0) && _time.GetElapsedTime(nextStatistics) >= TimeSpan.Zero)
            {
                nextStatistics = _time.GetTimestamp() + (long)(StatisticsInterval.TotalSeconds * _time.TimestampFrequency);
                PollStatistics(sink);
            }
        }

        PollStatistics(sink);
    }

    private void Open()
    {
        try
        {
            var device = LibPcapLiveDeviceList.New().FirstOrDefault(d => string.Equals(d.Name, Name, StringComparison.Ordinal))
                ?? throw new CaptureSourceException($"{Name}: no such capture interface");
            var configuration = new DeviceConfiguration
            {
                Mode = _settings.Promiscuous ? DeviceModes.Promiscuous : DeviceModes.None,
                Snaplen = Math.Clamp(_settings.SnapLength, 64, 65535),
                BufferSize = Math.Clamp(_settings.BufferMiB, 1, 2048) * 1024 * 1024,
                ReadTimeout = (int)ReadTimeout.TotalMilliseconds,

            };
            device.Open(configuration);
            try
            {
                // The decoder reads Ethernet alone. Another link type (Linux's cooked "any", a tunnel's raw IP)
                // would decode as something else and be judged by nothing while its frames count as seen.
                var linkType = (int)device.LinkType;
                if (linkType != PcapFrameReader.LinkTypeEthernet)
                {
                    throw new CaptureSourceException(string.Create(CultureInfo.InvariantCulture, $"{Name}: link type {linkType} is not Ethernet"));
                }

                device.NonBlockingMode = true;
                _descriptor = PcapPoll.Descriptor(device);
                if (!string.IsNullOrWhiteSpace(_settings.Filter))
                {
                    device.Filter = _settings.Filter;
                }
            }
            catch
            {
                device.Close();
                throw;
            }

            // Open only once it captures as configured: a handle whose filter failed verifies nothing.
            _device = device;
        }
        catch (Exception e) when (e is PcapException or DllNotFoundException or PlatformNotSupportedException)
        {
            throw new CaptureSourceException($"{Name}: cannot capture ({e.Message.Trim()})", e);
        }
    }

    private void PollStatistics(IFrameSink sink)
    {
        if (_device is null)
        {
            return;
        }

        if (!PcapKernelStatistics.TryRead(_device, out var rawReceived, out var rawDropped, out var rawInterfaceDropped))
        {
            return;
        }

        // libpcap's counters are 32-bit and wrap; unsigned subtraction gives the true increment.
        var received = _statistics.Received + unchecked(rawReceived - _lastReceived);
        var dropped = _statistics.Dropped + unchecked(rawDropped - _lastDropped);
        var interfaceDropped = _statistics.InterfaceDropped + unchecked(rawInterfaceDropped - _lastInterfaceDropped);
        _lastReceived = rawReceived;
        _lastDropped = rawDropped;
        _lastInterfaceDropped = rawInterfaceDropped;
        _statistics = new CaptureStatistics(received, dropped, interfaceDropped);
        sink.OnStatistics(_statistics, _time.GetUtcNow().UtcTicks);
    }

    public void Dispose()
    {
        _device?.Close();
        _device = null;
    }
}
