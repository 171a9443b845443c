using SegmentController.Core.Suspension;

namespace SegmentController.Proxy;

/// <summary>
/// At start-up, shuts again the switch ports of every client the durable state holds suspended
/// (<see cref="SuspensionEngine.ReassertAsync"/>): a port brought up while the controller was down goes
/// down again, read back, on record. The proxy's gates are closed by the state itself before this runs.
/// </summary>
internal sealed class SuspensionReassertionService(SuspensionEngine engine) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await engine.ReassertAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping before the switches answered; the next start tries again.
        }
    }
}
