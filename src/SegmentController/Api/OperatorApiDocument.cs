namespace SegmentController.Api;

/// <summary>
/// The hand-written OpenAPI 3.1 document of the operator API (Microsoft.AspNetCore.OpenApi is not in the
/// registry reachable here). Embedded from <c>Api/openapi.json</c>; a test checks it against the routes.
/// </summary>
internal static class OperatorApiDocument
{
    /// <summary>The document.</summary>
    public static string Json { get; } = Load();

    private static string Load()
    {
        using var stream = typeof(OperatorApiDocument).Assembly.GetManifestResourceStream("SegmentController.Api.openapi.json")
            ?? throw new InvalidOperationException("the OpenAPI document is not embedded in segctl");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
