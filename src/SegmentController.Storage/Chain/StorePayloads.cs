using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace SegmentController.Storage.Chain;

/// <summary>The bodies of the records the store writes itself: key rotations, checkpoints, purges.</summary>
internal static class StorePayloads
{
    public static byte[] KeyRotation(SigningKey key, string? previousKeyId, byte[]? endorsement, string reason) =>
        Write(w =>
        {
            w.WriteString("key_id", key.Id);
            w.WriteString("public_key", Convert.ToBase64String(key.PublicKey));
            if (previousKeyId is null)
            {
                w.WriteNull("previous_key_id");
            }
            else
            {
                w.WriteString("previous_key_id", previousKeyId);
            }

            if (endorsement is null)
            {
                w.WriteNull("endorsement");
            }
            else
            {
                w.WriteString("endorsement", Convert.ToBase64String(endorsement));
            }

            w.WriteString("reason", reason);
        });

    public static byte[] Checkpoint(long headIndex, ReadOnlySpan<byte> headHash, string keyId, byte[] signature)
    {
        var hex = Convert.ToHexStringLower(headHash);
        return Write(w =>
        {
            w.WriteNumber("head_index", headIndex);
            w.WriteString("head_hash", hex);
            w.WriteString("key_id", keyId);
            w.WriteString("signature", Convert.ToBase64String(signature));
        });
    }

    public static byte[] Purge(DateOnly today, IReadOnlyDictionary<string, DateOnly> expired, long purged, long firstIndex, long lastIndex, long headIndex, ReadOnlySpan<byte> headHash)
    {
        var hex = Convert.ToHexStringLower(headHash);
        return Write(w =>
        {
            w.WriteString("today", today.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            w.WriteStartObject("clients");
            foreach (var (client, until) in expired.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                w.WriteString(client, until.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            }

            w.WriteEndObject();
            w.WriteNumber("purged", purged);
            w.WriteNumber("first_index", firstIndex);
            w.WriteNumber("last_index", lastIndex);
            w.WriteNumber("head_index", headIndex);
            w.WriteString("head_hash", hex);
        });
    }

    /// <summary>A parsed key-rotation body; null when malformed.</summary>
    public static KeyRotationBody? ParseKeyRotation(ReadOnlySpan<byte> payload)
    {
        try
        {
            using var doc = JsonDocument.Parse(payload.ToArray());
            var root = doc.RootElement;
            var keyId = root.GetProperty("key_id").GetString();
            var publicKey = root.GetProperty("public_key").GetBytesFromBase64();
            var previous = root.TryGetProperty("previous_key_id", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
            var endorsement = root.TryGetProperty("endorsement", out var e) && e.ValueKind == JsonValueKind.String ? e.GetBytesFromBase64() : null;
            return keyId is null ? null : new KeyRotationBody(keyId, publicKey, previous, endorsement);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>A parsed checkpoint body; null when malformed.</summary>
    public static CheckpointBody? ParseCheckpoint(ReadOnlySpan<byte> payload)
    {
        try
        {
            using var doc = JsonDocument.Parse(payload.ToArray());
            var root = doc.RootElement;
            var keyId = root.GetProperty("key_id").GetString();
            var hash = Convert.FromHexString(root.GetProperty("head_hash").GetString() ?? "");
            return keyId is null
                ? null
                : new CheckpointBody(root.GetProperty("head_index").GetInt64(), hash, keyId, root.GetProperty("signature").GetBytesFromBase64());
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>A parsed purge body (of the record at <paramref name="index"/>, sequenced at <paramref name="ticks"/>); null when malformed.</summary>
    public static PurgeBody? ParsePurge(ReadOnlySpan<byte> payload, long index, long ticks)
    {
        try
        {
            using var doc = JsonDocument.Parse(payload.ToArray());
            var root = doc.RootElement;
            var clients = new Dictionary<string, DateOnly>(StringComparer.Ordinal);
            foreach (var property in root.GetProperty("clients").EnumerateObject())
            {
                clients[property.Name] = Date(property.Value);
            }

            return new PurgeBody(index, ticks, root.GetProperty("head_index").GetInt64(), Date(root.GetProperty("today")), clients, root.GetProperty("first_index").GetInt64(), root.GetProperty("last_index").GetInt64());
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    private static DateOnly Date(JsonElement element) =>
        DateOnly.ParseExact(element.GetString() ?? "", "yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
