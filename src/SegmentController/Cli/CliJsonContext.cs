using System.Text.Json.Serialization;

namespace SegmentController.Cli;

/// <summary>Source-generated JSON for the few shapes the operator commands send.</summary>
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
