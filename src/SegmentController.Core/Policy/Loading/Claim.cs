namespace SegmentController.Core.Policy.Loading;

/// <summary>
/// Something a policy entry claims (a VLAN, a subnet, a port, a name) with who claims it and where it
/// is written, so cross-checks can name both sides of a conflict. <see cref="Client"/> is null for the
/// shared infrastructure.
/// </summary>
internal sealed record Claim<T>(string? Client, T Value, Position At)
{
    public string Owner => Client is null ? "the infrastructure" : $"client '{Client}'";
}
