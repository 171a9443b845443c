namespace SegmentController.Tests.Infrastructure;

/// <summary>Finds files of the repository from the test's output folder.</summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string Policy(string name) => Path.Combine(Root, "policies", name);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SegmentController.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("SegmentController.sln not found above " + AppContext.BaseDirectory);
    }
}
