namespace SegmentController.Tests.Infrastructure;

/// <summary>Finds files of the repository from the test's output folder.</summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string Policy(string name) => Path.Combine(Root, "policies", name);

    private static string FindRoot()
    {
        // The build records where the sources are, so tests built into another artifacts folder find them too.
        var recorded = typeof(RepositoryPaths).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "RepositoryRoot")?.Value;
        if (recorded is not null && File.Exists(Path.Combine(recorded, "SegmentController.sln")))
        {
            return recorded;
        }

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
