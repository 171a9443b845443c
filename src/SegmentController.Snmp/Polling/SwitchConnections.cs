using SegmentController.Core.Policy;
using SegmentController.Snmp.Transport;

namespace SegmentController.Snmp.Polling;

/// <summary>Opens an SNMP client for a switch of the policy (secrets resolved here, at the last moment).</summary>
internal static class SwitchConnections
{
    public static Task<SnmpClient> ConnectAsync(SwitchDefinition switchDefinition, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(switchDefinition);
        SnmpCredentials credentials;
        try
        {
            credentials = SnmpCredentials.FromSettings(switchDefinition.Snmp);
        }
        catch (SecretUnavailableException e)
        {
            throw new SnmpException(SnmpErrorKind.Configuration, $"credentials for switch {switchDefinition.Name}: {e.Message}", e);
        }

        var target = switchDefinition.Address.Contains(':', StringComparison.Ordinal)
            ? $"[{switchDefinition.Address.Trim('[', ']')}]:{switchDefinition.Port}"
            : $"{switchDefinition.Address}:{switchDefinition.Port}";
        var options = new SnmpClientOptions { Timeout = switchDefinition.Timeout, Retries = switchDefinition.Retries };
        return SnmpClient.ConnectAsync(target, credentials, options, time, cancellationToken: cancellationToken);
    }
}
