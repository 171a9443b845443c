using System.Runtime.CompilerServices;
using SegmentController.Core.Evidence;

namespace SegmentController.Evidence;

/// <summary>
/// The process's <see cref="IEvidenceStore"/>: forwards to the SQLite store once
/// <see cref="EvidenceStoreService"/> has opened it. Until then (or when it could not be opened) every
/// append fails with <see cref="StoreUnavailableException"/> and health says unwritable — fail closed.
/// </summary>
internal sealed class DeferredEvidenceStore(TimeProvider time) : IEvidenceStore
{
    private volatile IEvidenceStore? _inner;
    private volatile StoreHealth _pending = new(false, "the evidence store is not open yet", time.GetUtcNow());

    public StoreHealth Health => _inner?.Health ?? _pending;

    public event EventHandler<StoreHealth>? HealthChanged;

    public void Attach(IEvidenceStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        store.HealthChanged += (_, health) => HealthChanged?.Invoke(this, health);
        _inner = store;
        HealthChanged?.Invoke(this, store.Health);
    }

    public void Fail(string reason)
    {
        _pending = new StoreHealth(false, reason, time.GetUtcNow());
        HealthChanged?.Invoke(this, _pending);
    }

    public ValueTask<long> AppendAsync(string type, string? clients, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        Inner.AppendAsync(type, clients, payload, cancellationToken);

    public bool TryHandOver(string type, string? clients, ReadOnlyMemory<byte> payload, IAppendObserver observer) =>
        Inner.TryHandOver(type, clients, payload, observer);

    public async IAsyncEnumerable<StoredRecord> ReadAsync(RecordQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var record in Inner.ReadAsync(query, cancellationToken).ConfigureAwait(false))
        {
            yield return record;
        }
    }

    public Task<VerificationReport> VerifyAsync(CancellationToken cancellationToken) => Inner.VerifyAsync(cancellationToken);

    public Task<long> CheckpointAsync(CancellationToken cancellationToken) => Inner.CheckpointAsync(cancellationToken);

    public Task<PurgeResult> PurgeExpiredAsync(IReadOnlyDictionary<string, DateOnly> retainUntil, DateOnly today, CancellationToken cancellationToken) =>
        Inner.PurgeExpiredAsync(retainUntil, today, cancellationToken);

    private IEvidenceStore Inner => _inner ?? throw new StoreUnavailableException(_pending.LastError ?? "the evidence store is not open");
}
