namespace SegmentController.Capture;

/// <summary>Registers passive capture for <c>segctl run</c>.</summary>
internal static class CaptureServiceCollectionExtensions
{
    /// <summary>Captures on the policy's interfaces and publishes findings; needs the controller core services.</summary>
    public static IServiceCollection AddCapture(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddHostedService<CaptureService>();
        return services;
    }
}
