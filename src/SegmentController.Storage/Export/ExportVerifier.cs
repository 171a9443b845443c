using System.Globalization;
using System.Text.Json;
using SegmentController.Core.Policy;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Chain;

namespace SegmentController.Storage.Export;

/// <summary>
/// Verifies an export on its own: every disclosed record is recomputed, every link is chained, the
/// checkpoints and the head are checked against the keys the export's key-rotation records introduce.
/// The first problem names its line. The links an export for one client marks withheld (records that
/// concern other clients too) are counted, and the count must be the one its header gives.
/// </summary>
public static class ExportVerifier
{
    /// <summary>Longest line accepted (a 1 MiB payload in base64 fits with room to spare).</summary>
    public const int MaxLineBytes = 4 * 1024 * 1024;

    /// <summary>
    /// Verifies the export at <paramref name="path"/>. It is read three times (its header, what the chain needs
    /// first, then every line), so it must be a regular file: a named pipe, a device such as <c>/dev/zero</c>
    /// or a directory is refused at once, without waiting on it.
    /// </summary>
    /// <exception cref="IOException">The file cannot be read, or is not a regular file.</exception>
    /// <exception cref="InvalidOperationException">The file is not an export: its first line is not an export's header.</exception>
    public static VerificationReport Verify(string path, CancellationToken cancellationToken) => Verify(path, [], cancellationToken);

    /// <summary>
    /// As <see cref="Verify(string, CancellationToken)"/>, with keys the operator vouches for though no previous key
    /// endorsed them (<paramref name="acceptedKeys"/>, by id): without that, a key introduced unendorsed breaks the chain.
    /// </summary>
    public static VerificationReport Verify(string path, IReadOnlyCollection<string> acceptedKeys, CancellationToken cancellationToken)
    {
        RequireHeader(path);
        var (head, purges, policyLoads, window) = ReadAhead(path, cancellationToken);
        using var verifier = new ChainVerifier(head, purges, policyLoads, window, acceptedKeys);
        using var stream = BoundedFile.OpenRegular(path);
        using var lines = new BoundedLineReader(stream, MaxLineBytes);
        long number = 0, withheld = 0;
        long? announced = null;
        long firstIndex = 0;
        var forOneClient = false;
        var sawHead = false;
        while (!verifier.IsBroken)
        {
            ReadOnlyMemory<byte>? line;
            try
            {
                line = lines.ReadLine();
            }
            catch (InvalidDataException e)
            {
                verifier.Fail($"line {number + 1}: {e.Message}", number + 1);
                break;
            }

            if (line is not { } bytes)
            {
                break;
            }

            number++;
            if ((number & 0xFFFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (sawHead)
            {
                verifier.Fail($"line {number}: content after the head line", number);
                break;
            }

            try
            {
                using var document = JsonDocument.Parse(bytes);
                var root = document.RootElement;
                var kind = root.GetProperty("kind").GetString();
                switch (kind)
                {
                    case "header" when number == 1:
                        if (root.GetProperty("format").GetString() != EvidenceExport.FormatName)
                        {
                            verifier.Fail($"line {number}: not a {EvidenceExport.FormatName} file", number);
                        }

                        forOneClient = root.TryGetProperty("client", out var client) && client.ValueKind == JsonValueKind.String;
                        announced = root.TryGetProperty("withheld", out var count) ? count.GetInt64() : null;
                        firstIndex = root.TryGetProperty("first_index", out var first) ? first.GetInt64() : 0;
                        break;
                    case "record" when number > 1:
                        AddRecord(verifier, root, number);
                        break;
                    case "key" when number > 1:
                        AddKey(verifier, root, number);
                        break;
                    case "link" when number > 1:
                        if (root.TryGetProperty("withheld", out var mark))
                        {
                            if (!IsWithheldMark(root, mark))
                            {
                                verifier.Fail($"line {number}: malformed (a withheld link carries \"withheld\":true and its record type)", number);
                                break;
                            }

                            if (!forOneClient)
                            {
                                verifier.Fail($"line {number}: record {root.GetProperty("index").GetInt64()} is marked withheld in an export that is not for one client", number);
                                break;
                            }

                            withheld++;
                        }

                        verifier.AddLink(
                            root.GetProperty("index").GetInt64(),
                            ParseTime(root.GetProperty("time")),
                            Hex(root, "content_sha256"),
                            Hex(root, "prev_hash"),
                            Hex(root, "hash"),
                            number);
                        break;
                    case "head" when number > 1:
                        sawHead = true;
                        break;
                    default:
                        verifier.Fail(number == 1 ? "line 1: the header line is missing" : $"line {number}: unexpected line kind '{kind}'", number);
                        break;
                }
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                verifier.Fail($"line {number}: malformed ({e.Message})", number);
            }
        }

        var report = verifier.Finish() with { Withheld = withheld };
        if (report.Problem is { Line: null } problem)
        {
            return report with { Problem = problem with { Line = number } };
        }

        // The chain holds either way: a mark taken off (or added) changes no hash, only what the auditor is told.
        return report.IsIntact && announced is { } header && header != withheld
            ? report with { Problem = new VerificationProblem(firstIndex, null, string.Create(CultureInfo.InvariantCulture, $"the header counts {header} withheld records, the export marks {withheld} (marks removed or added)"), 1) }
            : report;
    }

    private static bool IsWithheldMark(JsonElement root, JsonElement mark) =>
        mark.ValueKind == JsonValueKind.True
        && root.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && RecordTypes.IsWellFormed(type.GetString());

    private static void AddKey(ChainVerifier verifier, JsonElement root, long number)
    {
        var payload = root.TryGetProperty("payload_b64", out var b64)
            ? b64.GetBytesFromBase64()
            : EvidenceExport.Utf8.GetBytes(root.GetProperty("payload").GetRawText());
        var clients = root.GetProperty("clients");
        verifier.AddKeyRecord(
            root.GetProperty("index").GetInt64(),
            ParseTime(root.GetProperty("time"))?.UtcTicks ?? -1,
            root.GetProperty("type").GetString() ?? "",
            clients.ValueKind == JsonValueKind.Null ? null : clients.GetString(),
            payload,
            Hex(root, "payload_sha256"),
            Hex(root, "prev_hash"),
            Hex(root, "hash"),
            number);
    }

    private static void AddRecord(ChainVerifier verifier, JsonElement root, long number)
    {
        var hasPayload = true;
        byte[] payload;
        if (root.TryGetProperty("payload_b64", out var b64))
        {
            payload = b64.GetBytesFromBase64();
        }
        else
        {
            var element = root.GetProperty("payload");
            if (element.ValueKind == JsonValueKind.Null && root.TryGetProperty("purged", out var purged) && purged.ValueKind == JsonValueKind.True)
            {
                hasPayload = false;
                payload = [];
            }
            else
            {
                payload = EvidenceExport.Utf8.GetBytes(element.GetRawText());
            }
        }

        var time = ParseTime(root.GetProperty("time"));
        var clients = root.GetProperty("clients");
        verifier.AddRecord(
            root.GetProperty("index").GetInt64(),
            time?.UtcTicks ?? -1,
            root.GetProperty("type").GetString() ?? "",
            clients.ValueKind == JsonValueKind.Null ? null : clients.GetString(),
            hasPayload,
            payload,
            Hex(root, "payload_sha256"),
            Hex(root, "prev_hash"),
            Hex(root, "hash"),
            number);
    }

    /// <summary>
    /// Refuses a file that is not an export at all (another file given by mistake: a store, a report, an
    /// empty file), so that it is said to be unreadable as an export rather than an export tampered with.
    /// Anything past the header's kind and format is judged by verification.
    /// </summary>
    private static void RequireHeader(string path)
    {
        using var stream = BoundedFile.OpenRegular(path);
        using var lines = new BoundedLineReader(stream, MaxLineBytes);
        ReadOnlyMemory<byte>? first;
        try
        {
            first = lines.ReadLine();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidOperationException($"{path} is not a {EvidenceExport.FormatName} file: its first line cannot be read ({e.Message})", e);
        }

        if (first is not { } bytes)
        {
            throw new InvalidOperationException($"{path} is not a {EvidenceExport.FormatName} file: it is empty");
        }

        try
        {
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("kind", out var kind) && kind.ValueKind == JsonValueKind.String && kind.GetString() == "header"
                && root.TryGetProperty("format", out var format) && format.ValueKind == JsonValueKind.String && format.GetString() == EvidenceExport.FormatName)
            {
                return;
            }
        }
        catch (JsonException)
        {
        }

        throw new InvalidOperationException($"{path} is not a {EvidenceExport.FormatName} file: its first line is not the export's header");
    }

    private static (CheckpointBody? Head, List<PurgeBody> Purges, List<PolicyLoadBody> PolicyLoads, ExportWindow? Window) ReadAhead(string path, CancellationToken cancellationToken)
    {
        CheckpointBody? head = null;
        ExportWindow? window = null;
        var purges = new List<PurgeBody>();
        var policyLoads = new List<PolicyLoadBody>();
        using var stream = BoundedFile.OpenRegular(path);
        using var lines = new BoundedLineReader(stream, MaxLineBytes);
        long number = 0;
        while (true)
        {
            ReadOnlyMemory<byte>? line;
            try
            {
                line = lines.ReadLine();
            }
            catch (InvalidDataException)
            {
                break;
            }

            if (line is not { } bytes)
            {
                break;
            }

            if ((++number & 0xFFFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            // Cheap pre-filter: only the header, the head, purges and policy loads matter here.
            var span = bytes.Span;
            if (number > 1 && span.IndexOf("\"kind\":\"head\""u8) < 0 && span.IndexOf("\"type\":\"purge\""u8) < 0 && span.IndexOf("\"type\":\"policy-load\""u8) < 0)
            {
                continue;
            }

            try
            {
                using var document = JsonDocument.Parse(bytes);
                var root = document.RootElement;
                switch (root.GetProperty("kind").GetString())
                {
                    case "header" when number == 1:
                        var from = root.TryGetProperty("from", out var f) && f.ValueKind == JsonValueKind.String ? ParseTime(f) : null;
                        var to = root.TryGetProperty("to", out var t) && t.ValueKind == JsonValueKind.String ? ParseTime(t) : null;
                        window = from is null && to is null ? null : new ExportWindow(from, to);
                        break;
                    case "head":
                        head = new CheckpointBody(
                            root.GetProperty("index").GetInt64(),
                            Hex(root, "hash"),
                            root.GetProperty("key_id").GetString() ?? "",
                            root.GetProperty("signature").GetBytesFromBase64());
                        break;
                    case "record" when root.TryGetProperty("payload", out var payload) && payload.ValueKind == JsonValueKind.Object:
                        var index = root.GetProperty("index").GetInt64();
                        var body = EvidenceExport.Utf8.GetBytes(payload.GetRawText());
                        switch (root.GetProperty("type").GetString())
                        {
                            case RecordTypes.Purge:
                                if (StorePayloads.ParsePurge(body, index, ParseTime(root.GetProperty("time"))?.UtcTicks ?? 0) is { } purge)
                                {
                                    purges.Add(purge);
                                }

                                break;
                            case RecordTypes.PolicyLoad when PolicyLoadRecord.ContractEnds(body) is { Count: > 0 } ends:
                                policyLoads.Add(new PolicyLoadBody(index, ends));
                                break;
                        }

                        break;
                }
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                // The second pass names malformed lines.
            }
        }

        return (head, purges, policyLoads, window);
    }

    private static byte[] Hex(JsonElement root, string name) =>
        Convert.FromHexString(root.GetProperty(name).GetString() ?? "");

    private static DateTimeOffset? ParseTime(JsonElement element) =>
        DateTimeOffset.TryParseExact(element.GetString(), "O", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time.ToUniversalTime()
            : null;
}
