namespace SegmentController.Core.Policy;

/// <summary>One problem with a policy file, at the position of the offending node.</summary>
public sealed record PolicyError
{
    /// <summary>The policy file as the caller named it.</summary>
    public required string File { get; init; }

    /// <summary>1-based line; 0 when the problem concerns the file as a whole (unreadable, too large).</summary>
    public int Line { get; init; }

    /// <summary>1-based column; 0 with <see cref="Line"/> 0.</summary>
    public int Column { get; init; }

    /// <summary>What is wrong, in words a network engineer uses. Never contains a secret.</summary>
    public required string Message { get; init; }

    /// <summary><c>file:line:col: message</c>, or <c>file: message</c> for whole-file problems.</summary>
    public override string ToString() => Line > 0 ? $"{File}:{Line}:{Column}: {Message}" : $"{File}: {Message}";
}
