namespace SegmentController.Cli;

/// <summary>Standard output could not be written (a full disk it is redirected to, a device that refuses writes).</summary>
internal sealed class StandardOutputException : IOException
{
    public StandardOutputException(IOException inner)
        : base(inner?.Message, inner)
    {
    }
}
