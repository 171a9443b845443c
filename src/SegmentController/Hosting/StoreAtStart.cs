namespace SegmentController.Hosting;

/// <summary>
/// Whether the evidence store's file existed before this controller started (taken before any service
/// opens it). A store that did, beside a suspension state that does not, means the state was lost.
/// </summary>
internal sealed record StoreAtStart(string Path, bool Existed)
{
    public static StoreAtStart Of(string storePath)
    {
        var path = System.IO.Path.GetFullPath(storePath);
        return new StoreAtStart(path, File.Exists(path));
    }
}
