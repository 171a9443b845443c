namespace SegmentController.Core.Policy;

/// <summary>Someone told of incidents concerning a client.</summary>
public sealed record Contact
{
    /// <summary>Who it is.</summary>
    public required string Name { get; init; }

    /// <summary>E-mail address, for the record and the notice text.</summary>
    public string? Email { get; init; }

    /// <summary>Telephone, for the record and the notice text.</summary>
    public string? Phone { get; init; }

    /// <summary>The webhook that receives the incident notice.</summary>
    public Webhook? Webhook { get; init; }
}
