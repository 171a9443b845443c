using System.Globalization;
using System.Text.Json;
using SegmentController.Core.Evidence;
using SegmentController.Core.Policy;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Hosting;

/// <summary>
/// What the evidence store shows, before any service opens it, of a controller that ran here before. A
/// store that holds one's records (the policy it loaded at a start or a reload, a suspension, a restore),
/// beside a suspension state that does not exist, means the state was lost. A store that holds none — an
/// empty file, or one only <c>segctl log</c> or <c>pcap analyze --store</c> wrote — is a first run's.
/// </summary>
/// <param name="Path">The store file.</param>
/// <param name="Existed">Whether the file existed.</param>
/// <param name="RanBefore">Why a controller ran here before (the evidence, in words), or null when nothing shows one did.</param>
internal sealed record StoreAtStart(string Path, bool Existed, string? RanBefore)
{
    public static StoreAtStart Of(string storePath)
    {
        var path = System.IO.Path.GetFullPath(storePath);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return new StoreAtStart(path, Existed: false, RanBefore: null);
        }

        // An empty file is no store yet: nothing was ever written to it.
        return new StoreAtStart(path, Existed: true, info.Length == 0 ? null : ControllerRecords(path));
    }

    /// <summary>
    /// The first record only <c>segctl run</c> writes, described; null when there is none. A store that
    /// cannot be read to tell counts as one a controller ran with (fail closed).
    /// </summary>
    private static string? ControllerRecords(string path)
    {
        try
        {
            var load = StoreFile.Read(path, new RecordQuery { Type = RecordTypes.PolicyLoad })
                .FirstOrDefault(r => Event(r) is PolicyLoadRecord.Start or PolicyLoadRecord.Reload);
            if (load is not null)
            {
                return string.Create(CultureInfo.InvariantCulture, $"the evidence store {path} holds the records of a controller that ran here (a policy loaded at its {Event(load)}, record {load.Index} of {load.Time:O})");
            }

            foreach (var type in (string[])[RecordTypes.Suspension, RecordTypes.Restoration])
            {
                if (StoreFile.Read(path, new RecordQuery { Type = type }) is [var record, ..])
                {
                    return string.Create(CultureInfo.InvariantCulture, $"the evidence store {path} holds the records of a controller that ran here (a {type} record, record {record.Index} of {record.Time:O})");
                }
            }

            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            return $"the evidence store {path} exists and cannot be read to tell whether a controller ran here ({e.Message})";
        }
    }

    private static string? Event(StoredRecord record)
    {
        if (record.Payload is not { } payload)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(payload);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("event", out var e) && e.ValueKind == JsonValueKind.String
                ? e.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
