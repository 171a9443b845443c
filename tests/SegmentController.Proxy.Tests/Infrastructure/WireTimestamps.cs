using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace SegmentController.Proxy.Tests.Infrastructure;

/// <summary>
/// A TCP relay on loopback in front of an upstream: it passes every byte through unchanged, and for
/// what the proxy sends towards the upstream it records when the kernel received it (SO_TIMESTAMPNS,
/// CLOCK_REALTIME, taken as the segment crossed loopback — not when a thread got round to reading it).
/// So "did the proxy send anything after time T" is answered by the kernel, free of scheduling delays.
/// </summary>
internal sealed partial class WireTimestamps : IAsyncDisposable
{
    private const int SolSocket = 1;
    private const int SoTimestampNs = 35;
    private const int ECONNRESET = 104;
    private const int EAGAIN = 11;
    private const int EINTR = 4;

    private readonly Socket _listener;
    private readonly int _target;
    private readonly ConcurrentDictionary<Socket, byte> _open = new(ReferenceEqualityComparer.Instance);
    private readonly Thread _acceptor;
    private volatile bool _stopping;

    private WireTimestamps(int target)
    {
        _target = target;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        // Set on the listener, so the kernel stamps segments from now on and accepted sockets inherit it
        // (a segment that arrives before the option is set on a socket carries no stamp).
        EnableTimestamps(_listener);
        _listener.Listen(256);
        _acceptor = new Thread(Accept) { IsBackground = true, Name = "wire-timestamps" };
        _acceptor.Start();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    /// <summary>
    /// Every read of bytes from the proxy: when the kernel received the last of them (null if the kernel
    /// gave no stamp), and how many.
    /// </summary>
    public ConcurrentQueue<(DateTimeOffset? Kernel, int Bytes)> FromProxy { get; } = new();

    /// <summary>Connections from the proxy still open.</summary>
    public int OpenConnections => _open.Count / 2;

    public static WireTimestamps Start(int upstreamPort) => new(upstreamPort);

    public ValueTask DisposeAsync()
    {
        _stopping = true;
        _listener.Dispose();
        foreach (var socket in _open.Keys)
        {
            Close(socket, reset: false);
        }

        return ValueTask.CompletedTask;
    }

    private void Accept()
    {
        while (!_stopping)
        {
            Socket proxy;
            try
            {
                proxy = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                upstream.Connect(IPAddress.Loopback, _target);
                proxy.NoDelay = true;
                proxy.Blocking = true;
                EnableTimestamps(proxy);
            }
            catch (SocketException)
            {
                proxy.Dispose();
                upstream.Dispose();
                continue;
            }

            _open.TryAdd(proxy, 0);
            _open.TryAdd(upstream, 0);
            new Thread(() => FromProxyToUpstream(proxy, upstream)) { IsBackground = true }.Start();
            new Thread(() => FromUpstreamToProxy(upstream, proxy)) { IsBackground = true }.Start();
        }
    }

    private unsafe void FromProxyToUpstream(Socket proxy, Socket upstream)
    {
        var buffer = new byte[65536];
        var control = new byte[256];
        var reset = false;
        try
        {
            fixed (byte* data = buffer)
            fixed (byte* cmsg = control)
            {
                while (true)
                {
                    var iov = new IoVec { Base = data, Length = (nuint)buffer.Length };
                    var header = new MsgHdr { Iov = &iov, IovLength = 1, Control = cmsg, ControlLength = (nuint)control.Length };
                    var read = RecvMsg((int)proxy.Handle, &header, 0);
                    if (read < 0)
                    {
                        var errno = Marshal.GetLastPInvokeError();
                        if (errno is EAGAIN or EINTR)
                        {
                            proxy.Poll(-1, SelectMode.SelectRead);
                            continue;
                        }

                        reset = errno == ECONNRESET;
                        return;
                    }

                    if (read == 0)
                    {
                        return;
                    }

                    FromProxy.Enqueue((KernelTime(cmsg, (int)header.ControlLength), (int)read));
                    upstream.Send(buffer.AsSpan(0, (int)read));
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            Close(upstream, reset);
            Close(proxy, reset);
        }
    }

    private void FromUpstreamToProxy(Socket upstream, Socket proxy)
    {
        var buffer = new byte[65536];
        try
        {
            int read;
            while ((read = upstream.Receive(buffer)) > 0)
            {
                proxy.Send(buffer.AsSpan(0, read));
            }

            proxy.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Close(proxy, reset: false);
            Close(upstream, reset: false);
        }
    }

    private void Close(Socket socket, bool reset)
    {
        if (!_open.TryRemove(socket, out _))
        {
            return;
        }

        try
        {
            if (reset)
            {
                socket.LingerState = new LingerOption(true, 0);
            }
            else
            {
                // Wakes the other direction's thread if it is blocked reading this socket.
                socket.Shutdown(SocketShutdown.Both);
            }

            socket.Dispose();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    private static void EnableTimestamps(Socket socket)
    {
        var on = 1;
        if (SetSockOpt((int)socket.Handle, SolSocket, SoTimestampNs, ref on, sizeof(int)) != 0)
        {
            throw new InvalidOperationException($"SO_TIMESTAMPNS: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    private static unsafe DateTimeOffset? KernelTime(byte* control, int length)
    {
        // struct cmsghdr { size_t len; int level; int type; } then the data, aligned to size_t.
        var offset = 0;
        while (offset + 16 <= length)
        {
            var cmsgLength = (int)*(nuint*)(control + offset);
            var level = *(int*)(control + offset + 8);
            var type = *(int*)(control + offset + 12);
            if (level == SolSocket && type == SoTimestampNs && cmsgLength >= 32)
            {
                var seconds = *(long*)(control + offset + 16);
                var nanoseconds = *(long*)(control + offset + 24);
                return DateTimeOffset.FromUnixTimeSeconds(seconds).AddTicks(nanoseconds / 100);
            }

            if (cmsgLength <= 0)
            {
                break;
            }

            offset += (cmsgLength + 7) & ~7;
        }

        return null;
    }

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public byte* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    private static unsafe partial nint RecvMsg(int socket, MsgHdr* message, int flags);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetSockOpt(int socket, int level, int name, ref int value, int length);
}
