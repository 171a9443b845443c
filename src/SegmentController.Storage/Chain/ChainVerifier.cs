using System.Globalization;
using System.Security.Cryptography;
using SegmentController.Core.Evidence;
using SegmentController.Storage.Sqlite;

namespace SegmentController.Storage.Chain;

/// <summary>
/// Checks a chain fed in index order — from the database or from an export — and keeps the first
/// problem. Each record's hash is recomputed from its contents; each link must point at the hash
/// recomputed for its predecessor; checkpoints and the head must carry valid signatures of a key the
/// chain introduced. When a record is self-consistent but its successor remembers a different hash,
/// the record (not its successor) is the one named: it was rewritten.
/// </summary>
internal sealed class ChainVerifier : IDisposable
{
    private readonly CheckpointBody? _head;
    private readonly IReadOnlyList<(PurgeBody Purge, string? Problem)> _purges;
    private readonly IReadOnlyList<PolicyLoadBody> _policyLoads;
    private readonly ExportWindow? _window;
    private readonly IReadOnlyCollection<string> _acceptedKeys;
    private readonly Dictionary<string, ECDsa> _keys = new(StringComparer.Ordinal);
    private readonly List<string> _keyOrder = [];
    private readonly List<string> _warnings = [];
    private readonly byte[] _running = new byte[RecordHasher.HashSize];
    private readonly byte[] _scratch = new byte[RecordHasher.HashSize];
    private readonly byte[] _content = new byte[RecordHasher.HashSize];
    private string? _currentKey;
    private long _expected;
    private long _previousTicks = long.MinValue;
    private long? _previousLine;
    private DateTimeOffset? _previousTime;
    private long _signedThrough = -1;
    private long _keyLineIndex = -1;
    private bool _lastWasCheckpoint;
    private long _anchor = -1;
    private VerificationProblem? _problem;

    /// <param name="head">The signed head the chain must end at; null when none was found (a problem unless a partial export ends at a checkpoint).</param>
    /// <param name="purges">Every purge record's body, read ahead, to tell lawful removals from destroyed evidence.</param>
    /// <param name="policyLoads">Every policy-load record's retention facts, read ahead, to tell a lawful purge from an early one.</param>
    /// <param name="window">For an export of a time window: it may start at a signed checkpoint before the window and end at one after it.</param>
    /// <param name="acceptedKeys">
    /// Ids of keys the operator vouches for, out of band, though no previous key endorsed them (a site that replaced a
    /// lost key); any other key introduced without endorsement breaks the chain there.
    /// </param>
    public ChainVerifier(CheckpointBody? head, IReadOnlyList<PurgeBody> purges, IReadOnlyList<PolicyLoadBody> policyLoads, ExportWindow? window = null, IReadOnlyCollection<string>? acceptedKeys = null)
    {
        ArgumentNullException.ThrowIfNull(purges);
        ArgumentNullException.ThrowIfNull(policyLoads);
        _head = head;
        _window = window;
        _acceptedKeys = acceptedKeys ?? [];
        _policyLoads = policyLoads;
        _purges = purges.Select(p => (p, Judge(p, policyLoads))).ToArray();
    }

    /// <summary>Entries accepted so far.</summary>
    public long Count { get; private set; }

    /// <summary>True once a problem was found; later entries are ignored.</summary>
    public bool IsBroken => _problem is not null;

    /// <summary>Adds a full record. Returns false once the chain is broken.</summary>
    public bool AddRecord(long index, long ticks, string type, string? clients, bool hasPayload, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> payloadSha256, ReadOnlySpan<byte> previousHash, ReadOnlySpan<byte> hash, long? line = null) =>
        AddRecord(index, ticks, type, clients, hasPayload, payload, payloadSha256, previousHash, hash, line, default);

    /// <summary>
    /// Adds a full record whose digests were computed ahead (in parallel, see <see cref="RecordDigests"/>):
    /// the same checks, in the same order, as <see cref="AddRecord(long, long, string, string?, bool, ReadOnlySpan{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte}, long?)"/>.
    /// </summary>
    public bool AddRecord(long index, long ticks, string type, string? clients, bool hasPayload, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> payloadSha256, ReadOnlySpan<byte> previousHash, ReadOnlySpan<byte> hash, RecordDigests digests) =>
        AddRecord(index, ticks, type, clients, hasPayload, payload, payloadSha256, previousHash, hash, null, digests);

    private bool AddRecord(long index, long ticks, string type, string? clients, bool hasPayload, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> payloadSha256, ReadOnlySpan<byte> previousHash, ReadOnlySpan<byte> hash, long? line, RecordDigests digests)
    {
        if (_problem is not null)
        {
            return false;
        }

        var time = TimeOf(ticks);
        if (!CheckPosition(index, time, line))
        {
            return false;
        }

        if (!RecordTypes.IsWellFormed(type) || !ClientKey.IsCanonical(clients) || payloadSha256.Length != RecordHasher.HashSize
            || previousHash.Length != RecordHasher.HashSize || hash.Length != RecordHasher.HashSize || ticks < 0)
        {
            return Fail(index, time, "record is malformed (type, clients, time or hash fields)", line);
        }

        if (ticks < _previousTicks)
        {
            return Fail(index, time, "record is earlier than the record before it (reordered)", line);
        }

        if (hasPayload)
        {
            if (digests.IsComputed)
            {
                digests.Payload.CopyTo(_scratch);
            }
            else
            {
                RecordHasher.PayloadDigest(payload, _scratch);
            }

            if (!payloadSha256.SequenceEqual(_scratch))
            {
                return Fail(index, time, "payload does not match its digest (edited)", line);
            }
        }
        else if (!IsLawfullyPurged(index, ticks, type, clients, out var why))
        {
            return Fail(index, time, why, line);
        }

        if (digests.IsComputed)
        {
            digests.Content.CopyTo(_content);
            digests.Link.CopyTo(_scratch);
        }
        else
        {
            RecordHasher.ContentDigest(index, ticks, type, clients, payloadSha256, _content);
            RecordHasher.Link(_content, previousHash, _scratch);
        }

        if (!hash.SequenceEqual(_scratch) && Renumbered(index, ticks, type, clients, payloadSha256, previousHash, hash) is { } shift)
        {
            return shift > 0
                ? Fail(index, time, string.Create(CultureInfo.InvariantCulture, $"a record was deleted here: the record now at {index} was chained as record {index + 1} (renumbered)"), line)
                : Fail(index - 1, _previousTime, string.Create(CultureInfo.InvariantCulture, $"record {index - 1} was inserted: the record after it was chained as record {index - 1} (renumbered)"), _previousLine);
        }

        if (index == _anchor && Count == 0)
        {
            if (!string.Equals(type, RecordTypes.Checkpoint, StringComparison.Ordinal) || !hasPayload)
            {
                return Fail(index, time, string.Create(CultureInfo.InvariantCulture, $"the export starts at record {index}, which is not a signed checkpoint: records 0..{index - 1} are missing"), line);
            }

            if (_window!.From is not { } from || time is not { } at || at >= from)
            {
                return Fail(index, time, "the export starts at a checkpoint that is not before its window (records of the window may be missing)", line);
            }

            // Taken on trust only until the checkpoint's signature is checked below, over this very hash.
            previousHash.CopyTo(_running);
        }

        // _scratch holds the link hash computed just above: not computed twice.
        if (!Link(index, time, previousHash, hash, line))
        {
            return false;
        }

        if (hasPayload && !CheckStoreRecord(index, time, type, payload, previousHash, line))
        {
            return false;
        }

        _lastWasCheckpoint = type == RecordTypes.Checkpoint;
        _previousTicks = ticks;
        return true;
    }

    /// <summary>
    /// Adds a key-rotation record an export of a window carries ahead of its chain (the keys introduced
    /// before the checkpoint it starts at): checked for consistency with its own hash and for the
    /// previous key's endorsement, not for its place in the chain, which the export does not hold.
    /// </summary>
    public bool AddKeyRecord(long index, long ticks, string type, string? clients, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> payloadSha256, ReadOnlySpan<byte> previousHash, ReadOnlySpan<byte> hash, long? line)
    {
        if (_problem is not null)
        {
            return false;
        }

        var time = TimeOf(ticks);
        if (Count > 0 || index <= _keyLineIndex || type != RecordTypes.KeyRotation || clients is not null
            || payloadSha256.Length != RecordHasher.HashSize || previousHash.Length != RecordHasher.HashSize || hash.Length != RecordHasher.HashSize || ticks < 0)
        {
            return Fail(index, time, "key line is malformed or out of order (keys come first, in index order)", line);
        }

        if (_keyLineIndex < 0 && (index != 0 || previousHash.ContainsAnyExcept((byte)0)))
        {
            return Fail(index, time, "the first key line is not the record that starts the chain", line);
        }

        RecordHasher.PayloadDigest(payload, _scratch);
        if (!payloadSha256.SequenceEqual(_scratch))
        {
            return Fail(index, time, "payload does not match its digest (edited)", line);
        }

        RecordHasher.ContentDigest(index, ticks, type, clients, payloadSha256, _content);
        RecordHasher.Link(_content, previousHash, _scratch);
        if (!hash.SequenceEqual(_scratch))
        {
            return Fail(index, time, "record was altered: its hash does not match its contents", line);
        }

        _keyLineIndex = index;
        return AcceptKey(index, time, payload, line);
    }

    /// <summary>Adds a link (a record an export does not disclose). Returns false once the chain is broken.</summary>
    public bool AddLink(long index, DateTimeOffset? time, ReadOnlySpan<byte> content, ReadOnlySpan<byte> previousHash, ReadOnlySpan<byte> hash, long? line = null)
    {
        if (_problem is not null)
        {
            return false;
        }

        if (!CheckPosition(index, time, line))
        {
            return false;
        }

        if (index == _anchor && Count == 0)
        {
            return Fail(index, time, string.Create(CultureInfo.InvariantCulture, $"the export starts at record {index}, which is not a signed checkpoint: records 0..{index - 1} are missing"), line);
        }

        if (content.Length != RecordHasher.HashSize || previousHash.Length != RecordHasher.HashSize || hash.Length != RecordHasher.HashSize)
        {
            return Fail(index, time, "link is malformed", line);
        }

        RecordHasher.Link(content, previousHash, _scratch);
        return Link(index, time, previousHash, hash, line);
    }

    /// <summary>Fails verification from outside (an unreadable line, say).</summary>
    public void Fail(string reason, long? line)
    {
        if (_problem is null)
        {
            Fail(_expected, _previousTime, reason, line);
        }
    }

    /// <summary>Checks the end of the chain against the signed head and returns the report.</summary>
    public VerificationReport Finish()
    {
        if (_problem is null)
        {
            var last = _expected - 1;
            if (_head is null)
            {
                if (_window is null || !_lastWasCheckpoint)
                {
                    Fail(Math.Max(last, 0), _previousTime, "the signed head is missing: truncation cannot be ruled out", null);
                }
                else if (_window.To is not { } to || _previousTime is not { } end || end <= to)
                {
                    Fail(last, _previousTime, "the export ends at a checkpoint that is not after its window, without the signed head (records of the window may be missing)", null);
                }
            }
            else if (last < _head.HeadIndex)
            {
                Fail(last + 1, _previousTime, string.Create(CultureInfo.InvariantCulture, $"records {last + 1}..{_head.HeadIndex} are missing: the chain ends at {last} but the signed head covers {_head.HeadIndex} (truncated)"), null);
            }
            else if (!_head.HeadHash.AsSpan().SequenceEqual(_running))
            {
                Fail(last, _previousTime, "the last record differs from the signed head", null);
            }
            else if (!string.Equals(_head.KeyId, _currentKey, StringComparison.Ordinal) || !_keys.TryGetValue(_head.KeyId, out var key))
            {
                Fail(last, _previousTime, string.Create(CultureInfo.InvariantCulture, $"the head is signed by key {_head.KeyId}, not by the key in force at its record ({_currentKey ?? "none"})"), null);
            }
            else if (SigningKey.Verify(key, RecordHasher.TipStatement(_head.HeadIndex, _head.HeadHash), _head.Signature))
            {
                _signedThrough = _head.HeadIndex;
            }
            else if (SigningKey.Verify(key, RecordHasher.HeadStatement(_head.HeadIndex, _head.HeadHash), _head.Signature))
            {
                // Versions before the head's own statement signed it as a checkpoint is signed, and closed the
                // store with a checkpoint: such a head at a checkpoint is theirs. One at any other record could be
                // the signature of a checkpoint cut off the end, over the record before it.
                if (_lastWasCheckpoint)
                {
                    _warnings.Add(string.Create(CultureInfo.InvariantCulture, $"the head (record {_head.HeadIndex}) is signed in the form of earlier versions; the next commit of this version's writer signs it anew"));
                    _signedThrough = _head.HeadIndex;
                }
                else
                {
                    Fail(last, _previousTime, "the head is signed as a checkpoint is, at a record that is no checkpoint: it can be the signature of a checkpoint that followed, moved into the head after the records from it on were cut off (truncation cannot be ruled out); a store an earlier version left so (it stopped without closing) is signed anew by this version's writer when it next opens and writes it", null);
                }
            }
            else
            {
                Fail(last, _previousTime, "the head's signature is invalid or made by an unknown key (a checkpoint's signature does not sign a head)", null);
            }
        }

        return new VerificationReport
        {
            Count = Count,
            Problem = _problem,
            Warnings = _warnings,
            KeyIds = _keyOrder,
            SignedThrough = _signedThrough,
            HeadHash = Convert.ToHexStringLower(_running),
        };
    }

    public void Dispose()
    {
        foreach (var key in _keys.Values)
        {
            key.Dispose();
        }
    }

    private bool CheckPosition(long index, DateTimeOffset? time, long? line)
    {
        if (Count == 0 && index > 0 && _expected == 0 && _window is not null)
        {
            // A window's export may start at a checkpoint: the chain before it is vouched for by its signature.
            _expected = index;
            _anchor = index;
        }

        if (index > _expected)
        {
            var reason = string.Create(CultureInfo.InvariantCulture, $"records {_expected}..{index - 1} are missing (deleted); the next present record is {index} at {Format(time)}");
            return Fail(_expected, _previousTime, reason, line);
        }

        if (index < _expected)
        {
            return Fail(index, time, "record is out of order or duplicated", line);
        }

        if (_head is not null && index > _head.HeadIndex)
        {
            return Fail(index, time, "record lies beyond the signed head (inserted or appended outside the store)", line);
        }

        return true;
    }

    /// <summary>Checks a record's link, whose hash the caller has just computed into <see cref="_scratch"/>.</summary>
    private bool Link(long index, DateTimeOffset? time, ReadOnlySpan<byte> previousHash, ReadOnlySpan<byte> hash, long? line)
    {
        if (!hash.SequenceEqual(_scratch))
        {
            return Fail(index, time, "record was altered: its hash does not match its contents", line);
        }

        if (!previousHash.SequenceEqual(_running))
        {
            return index == 0
                ? Fail(0, time, "the first record does not start the chain", line)
                : Fail(index - 1, _previousTime, string.Create(CultureInfo.InvariantCulture, $"record {index - 1} was rewritten or replaced: record {index} chains to a different hash"), _previousLine);
        }

        hash.CopyTo(_running);
        _expected = index + 1;
        _previousTime = time;
        _previousLine = line;
        Count++;
        return true;
    }

    /// <summary>+1 or -1 when the record's hash matches a neighbouring index (rows renumbered around an insertion or deletion).</summary>
    private static int? Renumbered(long index, long ticks, string type, string? clients, ReadOnlySpan<byte> payloadSha256, ReadOnlySpan<byte> previousHash, ReadOnlySpan<byte> hash)
    {
        Span<byte> content = stackalloc byte[RecordHasher.HashSize];
        Span<byte> candidate = stackalloc byte[RecordHasher.HashSize];
        foreach (var shift in (ReadOnlySpan<int>)[1, -1])
        {
            if (index + shift < 0)
            {
                continue;
            }

            RecordHasher.ContentDigest(index + shift, ticks, type, clients, payloadSha256, content);
            RecordHasher.Link(content, previousHash, candidate);
            if (hash.SequenceEqual(candidate))
            {
                return shift;
            }
        }

        return null;
    }

    private bool CheckStoreRecord(long index, DateTimeOffset? time, string type, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> previousHash, long? line)
    {
        switch (type)
        {
            case RecordTypes.KeyRotation:
                return AcceptKey(index, time, payload, line);
            case RecordTypes.Checkpoint:
                var checkpoint = StorePayloads.ParseCheckpoint(payload);
                if (checkpoint is null || checkpoint.HeadIndex != index - 1 || !previousHash.SequenceEqual(checkpoint.HeadHash))
                {
                    return Fail(index, time, "checkpoint is malformed or names another head", line);
                }

                if (!string.Equals(checkpoint.KeyId, _currentKey, StringComparison.Ordinal) || !_keys.TryGetValue(checkpoint.KeyId, out var key)
                    || !SigningKey.Verify(key, RecordHasher.HeadStatement(checkpoint.HeadIndex, checkpoint.HeadHash), checkpoint.Signature))
                {
                    return Fail(index, time, "checkpoint signature is invalid or made by a key not in force", line);
                }

                _signedThrough = index - 1;
                return true;
            case RecordTypes.Purge:
                return StorePayloads.ParsePurge(payload, index, time?.UtcTicks ?? 0) is not null || Fail(index, time, "purge record is malformed", line);
            default:
                return true;
        }
    }

    private bool AcceptKey(long index, DateTimeOffset? time, ReadOnlySpan<byte> payload, long? line)
    {
        var body = StorePayloads.ParseKeyRotation(payload);
        if (body is null || !string.Equals(body.KeyId, SigningKey.KeyIdOf(body.PublicKey), StringComparison.Ordinal))
        {
            return Fail(index, time, "key-rotation record is malformed", line);
        }

        var key = SigningKey.ImportPublic(body.PublicKey);
        if (key is null)
        {
            return Fail(index, time, "key-rotation record does not hold a P-256 public key", line);
        }

        if (_currentKey is not null)
        {
            if (body.Endorsement is null)
            {
                // Nothing ties such a key to the chain before it: whoever cuts records off the end and signs the rest
                // anew with a key of their own writes exactly this. Only the operator can say it was the site's.
                if (!_acceptedKeys.Contains(body.KeyId, StringComparer.Ordinal))
                {
                    key.Dispose();
                    return Fail(index, time, string.Create(CultureInfo.InvariantCulture, $"key {body.KeyId} was introduced without endorsement by key {_currentKey}: nothing vouches for the chain from here on (records cut off the end and the rest signed anew with another key read the same); if the site replaced a lost key with this one, verify with --accept-key {body.KeyId}"), line);
                }

                _warnings.Add(string.Create(CultureInfo.InvariantCulture, $"key {body.KeyId} was introduced at record {index} ({Format(time)}) without endorsement by key {_currentKey}; accepted as the operator vouches for it (--accept-key)"));
            }
            else if (!SigningKey.Verify(_keys[_currentKey], RecordHasher.EndorsementStatement(body.PublicKey), body.Endorsement))
            {
                key.Dispose();
                return Fail(index, time, "key-rotation endorsement is invalid", line);
            }
        }

        if (_keys.TryAdd(body.KeyId, key))
        {
            _keyOrder.Add(body.KeyId);
        }
        else
        {
            key.Dispose();
        }

        _currentKey = body.KeyId;
        return true;
    }

    /// <summary>
    /// Whether the payload of record <paramref name="index"/>, made at <paramref name="ticks"/>, was removed by a
    /// lawful purge: the purge that emptied it (<see cref="PurgeBody.Emptied"/>) was lawful (<see cref="Judge"/>)
    /// and the record was old enough on its date — made more than six years before, as every version of the
    /// store should have kept it, whatever contract end the purge applied. A later purge that covers the record
    /// too does not excuse an early one: the record was gone before it ran.
    /// </summary>
    private bool IsLawfullyPurged(long index, long ticks, string type, string? clients, out string why)
    {
        if (RecordTypes.IsReserved(type) || clients is null)
        {
            why = "payload was removed from a record that is never purged (evidence destroyed)";
            return false;
        }

        var ids = ClientKey.Split(clients);
        if (PurgeBody.Emptied(_purges.Select(p => p.Purge), index, ids) is not { } purge)
        {
            why = "payload was removed without a purge record covering it (evidence destroyed)";
            return false;
        }

        if (_purges.First(p => ReferenceEquals(p.Purge, purge)).Problem is { } problem)
        {
            why = string.Create(CultureInfo.InvariantCulture, $"payload was removed by purge record {purge.RecordIndex} before its retention ended: {problem}");
            return false;
        }

        if (ticks >= PurgeSelection.MadeBefore(purge.Today))
        {
            var made = DateOnly.FromDateTime(new DateTime(ticks, DateTimeKind.Utc));
            why = string.Create(CultureInfo.InvariantCulture, $"payload was removed by purge record {purge.RecordIndex} before its retention ended: the record was made on {made:yyyy-MM-dd} and is kept at least {PurgeSelection.MinimumYears} years from then (until {made.AddYears(PurgeSelection.MinimumYears):yyyy-MM-dd}), whatever the contract end; the purge ran on {purge.Today:yyyy-MM-dd}");
            return false;
        }

        foreach (var client in ids)
        {
            if (PurgeSelection.InForceAt(_policyLoads, index, client) is { } end && end.AddYears(6) >= purge.Today)
            {
                var load = _policyLoads.Last(p => p.RecordIndex < index && p.ContractEnds.ContainsKey(client));
                why = string.Create(CultureInfo.InvariantCulture, $"payload was removed by purge record {purge.RecordIndex} before its retention ended: the policy in force when it was made (record {load.RecordIndex}) kept {client}'s records until {end.AddYears(6):yyyy-MM-dd} (contract end {end:yyyy-MM-dd} + 6 years), the purge ran on {purge.Today:yyyy-MM-dd}");
                return false;
            }
        }

        why = "";
        return true;
    }

    /// <summary>
    /// Why a purge was not lawful, or null when it was: every client's retention had ended by the purge's
    /// date, that date is not later than the purge was recorded, and — where the chain holds a policy load
    /// before it naming the client — the contract end plus six years of that policy had passed too.
    /// </summary>
    private static string? Judge(PurgeBody purge, IReadOnlyList<PolicyLoadBody> policyLoads)
    {
        var recorded = TimeOf(purge.RecordTicks) is { } at ? DateOnly.FromDateTime(at.UtcDateTime) : DateOnly.MinValue;
        if (purge.Today > recorded)
        {
            return string.Create(CultureInfo.InvariantCulture, $"it is dated {purge.Today:yyyy-MM-dd} but was recorded on {recorded:yyyy-MM-dd}");
        }

        foreach (var (client, until) in purge.RetainUntil.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (until >= purge.Today)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{client}'s records are kept until {until:yyyy-MM-dd}, the purge ran on {purge.Today:yyyy-MM-dd}");
            }

            var policy = policyLoads.LastOrDefault(p => p.RecordIndex < purge.RecordIndex && p.ContractEnds.ContainsKey(client));
            if (policy is not null)
            {
                var required = policy.ContractEnds[client].AddYears(6);
                if (required >= purge.Today)
                {
                    return string.Create(CultureInfo.InvariantCulture, $"the policy in force (record {policy.RecordIndex}) kept {client}'s records until {required:yyyy-MM-dd} (contract end {policy.ContractEnds[client]:yyyy-MM-dd} + 6 years), the purge ran on {purge.Today:yyyy-MM-dd} with {until:yyyy-MM-dd}");
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Names a record (already added) whose stored entries count is not what its payload implies: the count,
    /// outside the chain, was changed — it feeds exposure counts. Always false.
    /// </summary>
    public bool RejectEntries(long index, long ticks, long? stored, int? counted) =>
        Fail(index, TimeOf(ticks), string.Create(CultureInfo.InvariantCulture, $"entries column is {stored?.ToString(CultureInfo.InvariantCulture) ?? "empty"} but the payload holds {counted?.ToString(CultureInfo.InvariantCulture) ?? "no array of entries"} (count edited)"), null);

    /// <summary>Fails at a record whose stored payload cannot be read back (<paramref name="problem"/> says why); false.</summary>
    public bool RejectPayload(long index, long ticks, string problem) =>
        Fail(index, TimeOf(ticks), $"stored payload cannot be read: {problem}", null);

    private bool Fail(long index, DateTimeOffset? time, string reason, long? line)
    {
        _problem ??= new VerificationProblem(index, time, reason, line);
        return false;
    }

    private static DateTimeOffset? TimeOf(long ticks) =>
        ticks is >= 0 and <= 3155378975999999999 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    private static string Format(DateTimeOffset? time) =>
        time?.ToString("O", CultureInfo.InvariantCulture) ?? "an unknown time";
}
