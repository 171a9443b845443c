using System.Text.Json.Serialization;

namespace SegmentController.Core.Suspension;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UseStringEnumConverter = true,
    WriteIndented = false)]
[JsonSerializable(typeof(SuspensionState))]
internal sealed partial class SuspensionJsonContext : JsonSerializerContext;
