namespace SegmentController.Cli;

/// <summary>A command's output file (<c>--out FILE</c>) could not be made, written or put in place.</summary>
internal sealed class OutputFileException : IOException
{
    public OutputFileException(string message)
        : base(message)
    {
    }

    /// <summary>From the runtime's error, without the partial file's name it ends with (" : '/dir/.file.partial'").</summary>
    public OutputFileException(IOException inner)
        : base(WithoutPath(inner.Message), inner)
    {
    }

    private static string WithoutPath(string message)
    {
        var at = message.IndexOf(" : '", StringComparison.Ordinal);
        return at > 0 ? message[..at] : message;
    }
}
