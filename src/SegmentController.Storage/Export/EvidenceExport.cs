using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Chain;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Storage.Export;

/// <summary>
/// Writes an export for an auditor: JSON Lines holding the records that match a query in full, every
/// other record as a chain link (index, content digest, previous hash, hash — nothing of its contents),
/// the store's own records (keys, checkpoints, purges) in full, and the signed head. With those the
/// export verifies on its own: <see cref="ExportVerifier"/>.
/// </summary>
/// <remarks>
/// Lines: <c>{"kind":"header",…}</c>, then <c>{"kind":"record",…}</c> or <c>{"kind":"link",…}</c> per
/// index, then <c>{"kind":"head",…}</c>. A payload that is single-line JSON is embedded verbatim as
/// <c>payload</c> (its bytes are what was hashed); any other payload is <c>payload_b64</c>.
/// An export for one client carries nothing of another: a record that concerns other clients too (an
/// incident or finding shared by two clients) is withheld — a link marked <c>"withheld":true</c> with its
/// type, never its client key — and the header counts them (<c>"withheld":N</c>) so the auditor knows they
/// exist. A purge record names every client whose retention it applied: such an export shows one in full
/// only when it vouches for a purged record the export shows, which its verification needs.
/// An export of a time window carries only the stretch of chain that proves it: it starts at the last
/// signed checkpoint before the window (preceded by the <c>{"kind":"key",…}</c> records that introduced the
/// keys in force there) and ends at the first checkpoint after it — or at the ends of the chain where
/// there is none. A purged record in the window stretches the end past the purge record that vouches for it.
/// </remarks>
public static class EvidenceExport
{
    /// <summary>Format name in the header line.</summary>
    public const string FormatName = "segctl-evidence-export";

    /// <summary>Exports from the store at <paramref name="storePath"/>.</summary>
    /// <exception cref="FileNotFoundException">No such store.</exception>
    /// <exception cref="InvalidOperationException">The file is not a readable store.</exception>
    public static ExportSummary Write(string storePath, RecordQuery query, Stream output, DateTimeOffset exportedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(output);
        using var reader = StoreReader.Open(storePath);
        var head = reader.ReadHead() ?? throw new InvalidOperationException($"store {storePath} has no signed head; verify it first");
        var start = query.From is { } from ? reader.LastCheckpointBefore(from.UtcTicks) ?? 0 : 0;
        var lastInWindow = query.To is { } to ? reader.LastIndexAtOrBefore(to.UtcTicks) ?? -1 : head.HeadIndex;
        var purges = reader.ReadPurges();
        var client = query.Client;
        using var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        WriteLine(writer, output, w =>
        {
            w.WriteString("kind", "header");
            w.WriteString("format", FormatName);
            w.WriteNumber("version", 1);
            w.WriteString("exported_at", Iso(exportedAt));
            w.WriteString("store", Path.GetFileName(storePath));
            WriteOptional(w, "from", query.From);
            WriteOptional(w, "to", query.To);
            if (client is null)
            {
                w.WriteNull("client");
            }
            else
            {
                w.WriteString("client", client);
                w.WriteNumber("withheld", CountWithheld(reader, query, client, Math.Min(lastInWindow, head.HeadIndex)));
            }

            w.WriteNumber("first_index", start);
        });

        long records = 0, matching = 0, links = 0, withheld = 0, rows = 0;
        if (start > 0)
        {
            foreach (var key in reader.ReadRecords(0, $"type = '{RecordTypes.KeyRotation}' AND idx < {start.ToString(CultureInfo.InvariantCulture)}"))
            {
                WriteLine(writer, output, w => WriteRecord(w, key, "key"));
                records++;
            }
        }

        // The end must lie past the window and past every purge record vouching for a purged record shown.
        var mustReach = lastInWindow;
        var endedAtCheckpoint = false;
        List<(long Index, IReadOnlyList<string> Clients)>? purgedShown = null;
        Span<byte> content = stackalloc byte[RecordHasher.HashSize];
        foreach (var record in reader.ReadRecords(start))
        {
            if ((++rows & 0xFFFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (record.Index > head.HeadIndex)
            {
                break;
            }

            var matches = query.Matches(record);
            var withhold = matches && client is not null && ConcernsOthersToo(record.Clients, client);
            if ((matches && !withhold) || (RecordTypes.IsReserved(record.Type) && (client is null || record.Type != RecordTypes.Purge || VouchesForShown(purges, record.Index, purgedShown))))
            {
                WriteLine(writer, output, w => WriteRecord(w, record, "record"));
                records++;
                matching += matches ? 1 : 0;
                if (matches && record.Payload is null)
                {
                    var ids = ClientKey.Split(record.Clients);
                    (purgedShown ??= []).Add((record.Index, ids));
                    if (PurgeBody.Emptied(purges, record.Index, ids) is { } purge)
                    {
                        mustReach = Math.Max(mustReach, purge.RecordIndex);
                    }
                }

                if (query.To is { } until && record.Type == RecordTypes.Checkpoint && record.Time > until && record.Index > mustReach)
                {
                    endedAtCheckpoint = true;
                    break;
                }
            }
            else
            {
                RecordHasher.ContentDigest(record.Index, record.Time.UtcTicks, record.Type, record.Clients, record.PayloadSha256.Span, content);
                var contentHex = Convert.ToHexStringLower(content);
                WriteLine(writer, output, w =>
                {
                    w.WriteString("kind", "link");
                    w.WriteNumber("index", record.Index);
                    w.WriteString("time", Iso(record.Time));
                    if (withhold)
                    {
                        // What the auditor may know of it: that it exists, concerns this client, and its type.
                        w.WriteString("type", record.Type);
                        w.WriteBoolean("withheld", true);
                    }

                    w.WriteString("content_sha256", contentHex);
                    w.WriteString("prev_hash", Convert.ToHexStringLower(record.PreviousHash.Span));
                    w.WriteString("hash", Convert.ToHexStringLower(record.Hash.Span));
                });
                links++;
                withheld += withhold ? 1 : 0;
            }
        }

        if (!endedAtCheckpoint)
        {
            WriteLine(writer, output, w =>
            {
                w.WriteString("kind", "head");
                w.WriteNumber("index", head.HeadIndex);
                w.WriteString("hash", Convert.ToHexStringLower(head.HeadHash));
                w.WriteString("key_id", head.KeyId);
                w.WriteString("signature", Convert.ToBase64String(head.Signature));
            });
        }

        return new ExportSummary(records, matching, links, withheld);
    }

    /// <summary>Whether a record whose client key is <paramref name="clients"/> concerns <paramref name="client"/> and other clients besides.</summary>
    private static bool ConcernsOthersToo(string? clients, string client) =>
        clients is not null && !string.Equals(clients, client, StringComparison.Ordinal) && ClientKey.Split(clients).Contains(client, StringComparer.Ordinal);

    /// <summary>
    /// The records of the window the export withholds, counted ahead (the header comes first) from the
    /// client keys alone: the window's records of the query's type whose key names the client and others.
    /// </summary>
    private static long CountWithheld(StoreReader reader, RecordQuery query, string client, long last)
    {
        var first = query.From is { } from ? reader.FirstIndexAtOrAfter(from.UtcTicks) : 0;
        return first is { } lo && lo <= last
            ? reader.CountByClients(lo, last, query.Type).Where(c => ConcernsOthersToo(c.Clients, client)).Sum(c => c.Count)
            : 0;
    }

    /// <summary>Whether the purge record at <paramref name="index"/> vouches for a purged record the export has shown.</summary>
    private static bool VouchesForShown(IReadOnlyList<PurgeBody> purges, long index, List<(long Index, IReadOnlyList<string> Clients)>? purgedShown) =>
        purgedShown is not null
        && purges.FirstOrDefault(p => p.RecordIndex == index) is { } purge
        && purgedShown.Exists(r => ReferenceEquals(PurgeBody.Emptied(purges, r.Index, r.Clients), purge));

    private static void WriteRecord(Utf8JsonWriter w, StoredRecord record, string kind)
    {
        w.WriteString("kind", kind);
        w.WriteNumber("index", record.Index);
        w.WriteString("time", Iso(record.Time));
        w.WriteString("type", record.Type);
        if (record.Clients is null)
        {
            w.WriteNull("clients");
        }
        else
        {
            w.WriteString("clients", record.Clients);
        }

        if (record.Payload is not { } payload)
        {
            w.WriteNull("payload");
            w.WriteBoolean("purged", true);
        }
        else if (IsEmbeddableJson(payload.Span))
        {
            w.WritePropertyName("payload");
            w.WriteRawValue(payload.Span, skipInputValidation: true);
        }
        else
        {
            w.WriteString("payload_b64", Convert.ToBase64String(payload.Span));
        }

        w.WriteString("payload_sha256", Convert.ToHexStringLower(record.PayloadSha256.Span));
        w.WriteString("prev_hash", Convert.ToHexStringLower(record.PreviousHash.Span));
        w.WriteString("hash", Convert.ToHexStringLower(record.Hash.Span));
    }

    /// <summary>
    /// Whether the payload can be embedded verbatim: one JSON value, no line breaks, no surrounding
    /// whitespace — so that the text a reader extracts is byte for byte what was hashed.
    /// </summary>
    internal static bool IsEmbeddableJson(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty || payload.IndexOfAny((byte)'\n', (byte)'\r') >= 0
            || IsSpace(payload[0]) || IsSpace(payload[^1]))
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 });
            if (!reader.Read())
            {
                return false;
            }

            reader.Skip();
            return !reader.Read() && reader.BytesConsumed == payload.Length;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t';

    private static void WriteLine(Utf8JsonWriter writer, Stream output, Action<Utf8JsonWriter> body)
    {
        writer.Reset(output);
        writer.WriteStartObject();
        body(writer);
        writer.WriteEndObject();
        writer.Flush();
        output.WriteByte((byte)'\n');
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, DateTimeOffset? value)
    {
        if (value is { } v)
        {
            w.WriteString(name, Iso(v));
        }
        else
        {
            w.WriteNull(name);
        }
    }

    internal static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    internal static readonly Encoding Utf8 = new UTF8Encoding(false, true);
}
