using System.Text.Json.Serialization;

namespace SegmentController.Proxy.Notifications;

[JsonSerializable(typeof(Dictionary<string, object?>))]
[JsonSerializable(typeof(DateTimeOffset))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(string[]))]
internal sealed partial class WebhookJsonContext : JsonSerializerContext;
