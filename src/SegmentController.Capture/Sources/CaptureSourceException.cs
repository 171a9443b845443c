namespace SegmentController.Capture.Sources;

/// <summary>A capture source could not be opened or failed while reading.</summary>
public sealed class CaptureSourceException : Exception
{
    public CaptureSourceException()
    {
    }

    public CaptureSourceException(string message)
        : base(message)
    {
    }

    public CaptureSourceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
