using System.Text.Json.Serialization;

namespace SegmentController.Proxy.Access;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AccessRecord))]
[JsonSerializable(typeof(GateRefusalRecord))]
internal sealed partial class AccessJsonContext : JsonSerializerContext;
