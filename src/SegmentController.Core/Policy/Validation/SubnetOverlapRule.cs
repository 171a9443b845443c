using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using SegmentController.Core.Policy.Loading;

namespace SegmentController.Core.Policy.Validation;

/// <summary>
/// No subnet of a client overlaps a subnet of another client or of the infrastructure: an address
/// must say whose it is. CIDR blocks either nest or are disjoint, so one sorted sweep with a stack of
/// enclosing blocks finds every overlap in O(n log n) even for a hostile file.
/// </summary>
internal sealed class SubnetOverlapRule : IPolicyRule
{
    public void Check(PolicyFacts facts, PolicyDiagnostics diagnostics)
    {
        Sweep(facts.Subnets.Where(s => s.Value.BaseAddress.AddressFamily == AddressFamily.InterNetwork), diagnostics);
        Sweep(facts.Subnets.Where(s => s.Value.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6), diagnostics);
    }

    private static void Sweep(IEnumerable<Claim<IPNetwork>> subnets, PolicyDiagnostics diagnostics)
    {
        // The same block written again by the same owner adds nothing (and would stack up without end).
        var ordered = subnets
            .Select(s => (Claim: s, Start: Start(s.Value), End: End(s.Value)))
            .DistinctBy(s => (s.Start, s.End, s.Claim.Client))
            .OrderBy(s => s.Start).ThenByDescending(s => s.End)
            .ToList();
        var enclosing = new List<(Claim<IPNetwork> Claim, UInt128 Start, UInt128 End)>();

        // Each owner with a block on the stack, by the depth of its innermost one, and the depths of all
        // its blocks: the owners to report against are read innermost first without walking the blocks
        // in between, which for many owners claiming the same block would make the sweep quadratic.
        var innermost = new SortedSet<(int Depth, string Owner)>();
        var depths = new Dictionary<string, Stack<int>>(StringComparer.Ordinal);
        foreach (var current in ordered)
        {
            while (enclosing.Count > 0 && enclosing[^1].End < current.Start)
            {
                var owner = OwnerKey(enclosing[^1].Claim);
                var own = depths[owner];
                innermost.Remove((own.Pop(), owner));
                if (own.Count > 0)
                {
                    innermost.Add((own.Peek(), owner));
                }

                enclosing.RemoveAt(enclosing.Count - 1);
            }

            // Every block left on the stack contains the current one; report the innermost of each other owner.
            var currentOwner = OwnerKey(current.Claim);
            foreach (var (depth, owner) in innermost.Reverse())
            {
                if (owner == currentOwner)
                {
                    continue;
                }

                // Past the cap nothing more is shown: one more report marks the list as cut short.
                var full = diagnostics.Count >= PolicyDiagnostics.MaxErrors;
                Report(enclosing[depth].Claim, current.Claim, diagnostics);
                if (full)
                {
                    return;
                }
            }

            if (!depths.TryGetValue(currentOwner, out var stack))
            {
                stack = new Stack<int>();
                depths[currentOwner] = stack;
            }

            if (stack.Count > 0)
            {
                innermost.Remove((stack.Peek(), currentOwner));
            }

            stack.Push(enclosing.Count);
            innermost.Add((enclosing.Count, currentOwner));
            enclosing.Add(current);
        }
    }

    /// <summary>The infrastructure is one owner, as is each client.</summary>
    private static string OwnerKey(Claim<IPNetwork> claim) => claim.Client is null ? "" : "client:" + claim.Client;

    private static void Report(Claim<IPNetwork> a, Claim<IPNetwork> b, PolicyDiagnostics diagnostics)
    {
        // Reported where the later of the two is written, naming the earlier one.
        var (earlier, later) = (a.At.Line, a.At.Column).CompareTo((b.At.Line, b.At.Column)) <= 0 ? (a, b) : (b, a);
        diagnostics.Add(later.At, $"subnet {later.Value} overlaps {earlier.Value} of {earlier.Owner} (line {earlier.At.Line}); subnets of different clients and of the infrastructure must not overlap");
    }

    private static UInt128 Start(IPNetwork network) => ToNumber(network.BaseAddress);

    private static UInt128 End(IPNetwork network)
    {
        var bits = network.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        var hostBits = bits - network.PrefixLength;
        var span = hostBits == 128 ? UInt128.MaxValue : (UInt128.One << hostBits) - 1;
        return Start(network) + span;
    }

    private static UInt128 ToNumber(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var written);
        return written == 4
            ? BinaryPrimitives.ReadUInt32BigEndian(bytes)
            : BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }
}
