using SegmentController.Core.Policy;
using SegmentController.Snmp.Inventory;
using SegmentController.Snmp.Transport;

namespace SegmentController.Snmp.Polling;

/// <summary>
/// Inventories switches: devices in parallel, the columns of one device in sequence. Whatever goes wrong
/// with one switch — no answer, rejected credentials, inconsistent tables, a fault of a driver — becomes
/// that switch's error, never an exception that would leave its state stale.
/// </summary>
internal sealed class SwitchPoller(TimeProvider time)
{
    public async Task<SwitchPollResult> PollAsync(SwitchDefinition switchDefinition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(switchDefinition);
        var started = time.GetTimestamp();
        try
        {
            await using var client = await SwitchConnections.ConnectAsync(switchDefinition, time, cancellationToken).ConfigureAwait(false);
            var inventory = await InventoryDrivers.For(switchDefinition.Profile)
                .CollectAsync(client, switchDefinition.Name, switchDefinition.MaxRepetitions, includeFdb: true, cancellationToken).ConfigureAwait(false);
            return new SwitchPollResult(switchDefinition.Name, inventory, null, time.GetElapsedTime(started));
        }
        catch (SnmpException e)
        {
            return new SwitchPollResult(switchDefinition.Name, null, e.Message, time.GetElapsedTime(started));
        }
        catch (FormatException e)
        {
            return new SwitchPollResult(switchDefinition.Name, null, e.Message, time.GetElapsedTime(started));
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new SwitchPollResult(switchDefinition.Name, null, $"the inventory failed: {e.GetType().Name}: {e.Message}", time.GetElapsedTime(started));
        }
    }

    public Task<SwitchPollResult[]> PollAllAsync(IEnumerable<SwitchDefinition> switches, CancellationToken cancellationToken) =>
        Task.WhenAll(switches.Select(s => PollAsync(s, cancellationToken)));
}
