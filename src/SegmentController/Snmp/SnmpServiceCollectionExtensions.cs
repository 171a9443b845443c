using Microsoft.Extensions.DependencyInjection.Extensions;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Snmp.Shutdown;

namespace SegmentController.Snmp;

/// <summary>Wires SNMP into <c>segctl run</c>.</summary>
internal static class SnmpServiceCollectionExtensions
{
    /// <summary>
    /// The switch poller (<see cref="SnmpInventoryService"/>) and the SNMP <see cref="IPortShutter"/> the
    /// suspension engine uses to shut a client's ports. Needs <see cref="IPolicyProvider"/>,
    /// <see cref="TimeProvider"/>, <c>ControllerMetrics</c>, <c>VerificationHealth</c> and
    /// <c>IFindingSink</c> (all from <c>AddControllerCore</c>).
    /// </summary>
    public static IServiceCollection AddSnmpInventory(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<IPortShutter>(sp => new SnmpPortShutter(sp.GetRequiredService<IPolicyProvider>(), sp.GetRequiredService<TimeProvider>()));
        services.AddHostedService<SnmpInventoryService>();
        return services;
    }
}
