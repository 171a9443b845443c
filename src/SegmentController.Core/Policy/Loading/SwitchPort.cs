namespace SegmentController.Core.Policy.Loading;

/// <summary>One port of one switch, compared as switches report ifName: case-insensitively.</summary>
internal readonly record struct SwitchPort(string Switch, string Port)
{
    public static IEqualityComparer<SwitchPort> Comparer { get; } = new IgnoreCaseComparer();

    private sealed class IgnoreCaseComparer : IEqualityComparer<SwitchPort>
    {
        public bool Equals(SwitchPort x, SwitchPort y) =>
            string.Equals(x.Switch, y.Switch, StringComparison.Ordinal)
            && string.Equals(x.Port, y.Port, StringComparison.OrdinalIgnoreCase);

        public int GetHashCode(SwitchPort obj) =>
            HashCode.Combine(StringComparer.Ordinal.GetHashCode(obj.Switch), StringComparer.OrdinalIgnoreCase.GetHashCode(obj.Port));
    }
}
