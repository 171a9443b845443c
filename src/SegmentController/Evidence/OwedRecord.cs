namespace SegmentController.Evidence;

/// <summary>A record the controller owes the chain about itself (a policy load, a rejected reload).</summary>
/// <param name="Type">Record type.</param>
/// <param name="Clients">Client key, or null (site-wide).</param>
/// <param name="Payload">The body.</param>
/// <param name="What">For the log: what it records.</param>
internal sealed record OwedRecord(string Type, string? Clients, byte[] Payload, string What);
