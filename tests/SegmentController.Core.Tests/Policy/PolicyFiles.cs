namespace SegmentController.Core.Tests.Policy;

/// <summary>Finds the policy files copied next to the tests.</summary>
internal static class PolicyFiles
{
    public static string Directory { get; } = Path.Combine(AppContext.BaseDirectory, "Policies");

    public static string Shipped(string name) => Path.Combine(Directory, "Shipped", name);

    public static string Broken(string name) => Path.Combine(Directory, "Broken", name);
}
