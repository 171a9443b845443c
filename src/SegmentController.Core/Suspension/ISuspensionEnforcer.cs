namespace SegmentController.Core.Suspension;

/// <summary>
/// A local enforcement stage (gate, in-flight, upstream pool) run synchronously right after the trip is
/// durable and the new state is in force. Must be fast and must not throw for an unknown client.
/// </summary>
public interface ISuspensionEnforcer
{
    /// <summary>The stage this enforcer belongs to: <see cref="SuspensionStage.Gate"/>, <see cref="SuspensionStage.InFlight"/> or <see cref="SuspensionStage.UpstreamPool"/>.</summary>
    SuspensionStage Stage { get; }

    /// <summary>Enforces a suspension of a client, or of every client when the scope is <see cref="SuspensionNames.AllClients"/>.</summary>
    void Enforce(string scope);
}
