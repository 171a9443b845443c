using System.Text;
using SegmentController.Api;

namespace SegmentController.Tests.Api;

public sealed class ExportSpoolTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("segctl-spool-test-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void WhileTheExportIsWrittenAndRead_TheDirectoryHoldsNoFile()
    {
        var content = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"type\":\"access\",\"client\":\"acme\"}\n", 10_000)));
        using (var spool = ExportSpool.Create(_directory))
        {
            Assert.Empty(Directory.GetFileSystemEntries(_directory));
            spool.Write(content);
            spool.Flush();
            Assert.Empty(Directory.GetFileSystemEntries(_directory));

            spool.Position = 0;
            var read = new MemoryStream();
            spool.CopyTo(read);
            Assert.Equal(content, read.ToArray());
        }

        Assert.Empty(Directory.GetFileSystemEntries(_directory));
    }

    [Fact]
    public void MissingDirectory_ClearError()
    {
        var missing = Path.Combine(_directory, "gone");
        Assert.Throws<DirectoryNotFoundException>(() => ExportSpool.Create(missing));
    }
}
