using YamlDotNet.Core;

namespace SegmentController.Core.Policy.Loading;

/// <summary>A 1-based line and column in the policy file.</summary>
internal readonly record struct Position(int Line, int Column)
{
    public static Position Of(Mark mark) =>
        new((int)Math.Clamp(mark.Line, 0, int.MaxValue), (int)Math.Clamp(mark.Column, 0, int.MaxValue));

    public override string ToString() => $"{Line}:{Column}";
}
