using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SegmentController.Core.Evidence;
using SegmentController.Evidence;

namespace SegmentController.Tests.Api;

/// <summary>
/// A restore request or approval names the suspension (and, for an approval, the request) it is for. The
/// API records the action before it takes effect; while that record is written, the suspension may be
/// lifted and tripped again, or withdrawn by a re-trip and asked for again. The action must then be
/// refused, never land on a suspension or request its author did not name.
/// </summary>
public sealed class OperatorApiRestoreBindingTests : IAsyncLifetime
{
    private readonly HeldRecord _held = new();
    private OperatorApiSite _site = null!;

    public async Task InitializeAsync() =>
        _site = await OperatorApiSite.StartAsync(configure: services => services.Replace(
            ServiceDescriptor.Singleton<IEvidenceStore>(sp => new HoldingStore(sp.GetRequiredService<DeferredEvidenceStore>(), _held))));

    public async Task DisposeAsync()
    {
        _held.Release();
        await _site.DisposeAsync();
    }

    [Fact]
    public async Task Approval_ForASuspensionLiftedAndTrippedAgainMeanwhile_IsRefusedAndTheNewOneStays()
    {
        using var alice = _site.Client("alice");
        using var bob = _site.Client("bob");
        using var carol = _site.Client("carol");
        var first = await SuspendAsync(alice, "first incident");
        Assert.Equal(HttpStatusCode.Accepted, (await alice.PostAsync("api/v1/clients/alpha/restore", OperatorApiSite.Reason("first incident resolved"))).StatusCode);

        // Bob approves the first suspension's restore; his action's record is held while the rest happens.
        _held.Hold("bob", "restore-approve");
        var bobApproves = bob.PostAsync($"api/v1/restores/{first}/approve", OperatorApiSite.Reason("agree: first incident resolved"));
        await _held.Entered.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.OK, (await carol.PostAsync($"api/v1/restores/{first}/approve", OperatorApiSite.Reason("agree"))).StatusCode);
        var second = await SuspendAsync(alice, "second incident: a new leak");
        Assert.NotEqual(first, second);
        Assert.Equal(HttpStatusCode.Accepted, (await alice.PostAsync("api/v1/clients/alpha/restore", OperatorApiSite.Reason("second incident resolved?"))).StatusCode);

        _held.Release();
        using var answer = await bobApproves;
        Assert.Equal(HttpStatusCode.Conflict, answer.StatusCode);
        var alpha = await AlphaAsync(alice);
        Assert.Equal("suspended", alpha.GetProperty("state").GetString());
        Assert.Equal(second, alpha.GetProperty("suspension").GetProperty("id").GetString());
        Assert.Equal(["alice"], alpha.GetProperty("pending_restore").GetProperty("approvers").EnumerateArray().Select(a => a.GetString()!).ToArray());
    }

    [Fact]
    public async Task Approval_OfARequestAReTripWithdrewMeanwhile_IsRefused()
    {
        using var alice = _site.Client("alice");
        using var bob = _site.Client("bob");
        var id = await SuspendAsync(alice, "first incident");
        Assert.Equal(HttpStatusCode.Accepted, (await alice.PostAsync("api/v1/clients/alpha/restore", OperatorApiSite.Reason("resolved"))).StatusCode);

        _held.Hold("bob", "restore-approve");
        var bobApproves = bob.PostAsync($"api/v1/restores/{id}/approve", OperatorApiSite.Reason("agree: resolved"));
        await _held.Entered.WaitAsync(TimeSpan.FromSeconds(30));

        // A new incident re-trips the client (withdrawing the request bob is approving); alice asks again.
        using (var retrip = await alice.PostAsync("api/v1/clients/alpha/suspend", OperatorApiSite.Reason("new incident")))
        {
            Assert.Equal(HttpStatusCode.OK, retrip.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Accepted, (await alice.PostAsync("api/v1/clients/alpha/restore", OperatorApiSite.Reason("new incident resolved too"))).StatusCode);

        _held.Release();
        using var answer = await bobApproves;
        Assert.Equal(HttpStatusCode.Conflict, answer.StatusCode);
        var alpha = await AlphaAsync(alice);
        Assert.Equal("suspended", alpha.GetProperty("state").GetString());
        Assert.Equal(["alice"], alpha.GetProperty("pending_restore").GetProperty("approvers").EnumerateArray().Select(a => a.GetString()!).ToArray());
    }

    [Fact]
    public async Task Request_ForASuspensionLiftedAndTrippedAgainMeanwhile_IsRefusedAndNothingIsPending()
    {
        using var alice = _site.Client("alice");
        using var bob = _site.Client("bob");
        using var carol = _site.Client("carol");
        var first = await SuspendAsync(alice, "first incident");

        _held.Hold("alice", "restore-request");
        var aliceAsks = alice.PostAsync("api/v1/clients/alpha/restore", OperatorApiSite.Reason("first incident was a false alarm"));
        await _held.Entered.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.Accepted, (await bob.PostAsync("api/v1/clients/alpha/restore", OperatorApiSite.Reason("resolved"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await carol.PostAsync($"api/v1/restores/{first}/approve", OperatorApiSite.Reason("agree"))).StatusCode);
        var second = await SuspendAsync(alice, "second incident: a real leak");

        _held.Release();
        using var answer = await aliceAsks;
        Assert.Equal(HttpStatusCode.Conflict, answer.StatusCode);
        var alpha = await AlphaAsync(alice);
        Assert.Equal(second, alpha.GetProperty("suspension").GetProperty("id").GetString());
        Assert.Equal(JsonValueKind.Null, alpha.GetProperty("pending_restore").ValueKind);
    }

    private static async Task<string> SuspendAsync(HttpClient client, string reason)
    {
        using var response = await client.PostAsync("api/v1/clients/alpha/suspend", OperatorApiSite.Reason(reason));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("suspension").GetProperty("id").GetString()!;
    }

    private static async Task<JsonElement> AlphaAsync(HttpClient client)
    {
        using var status = JsonDocument.Parse(await client.GetStringAsync("api/v1/status"));
        return status.RootElement.GetProperty("clients").EnumerateArray().Single(c => c.GetProperty("id").GetString() == "alpha").Clone();
    }

    /// <summary>Holds the first operator action of one actor and kind (before it is written) until released.</summary>
    private sealed class HeldRecord
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private (string Actor, string Action)? _target;

        public Task Entered => _entered.Task;

        public void Hold(string actor, string action) => _target = (actor, action);

        public void Release() => _release.TrySetResult();

        public Task WaitIfHeldAsync(string type, ReadOnlyMemory<byte> payload)
        {
            if (_target is not { } target || type != RecordTypes.OperatorAction)
            {
                return Task.CompletedTask;
            }

            using var json = JsonDocument.Parse(payload);
            var root = json.RootElement;
            if (root.GetProperty("actor").GetString() != target.Actor || root.GetProperty("action").GetString() != target.Action
                || root.GetProperty("outcome").GetString() != "requested")
            {
                return Task.CompletedTask;
            }

            _target = null;
            _entered.TrySetResult();
            return _release.Task;
        }
    }

    private sealed class HoldingStore(IEvidenceStore inner, HeldRecord held) : IEvidenceStore
    {
        public StoreHealth Health => inner.Health;

        public event EventHandler<StoreHealth>? HealthChanged
        {
            add => inner.HealthChanged += value;
            remove => inner.HealthChanged -= value;
        }

        public async ValueTask<long> AppendAsync(string type, string? clients, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
        {
            await held.WaitIfHeldAsync(type, payload);
            return await inner.AppendAsync(type, clients, payload, cancellationToken);
        }

        public bool TryHandOver(string type, string? clients, ReadOnlyMemory<byte> payload, IAppendObserver observer) =>
            inner.TryHandOver(type, clients, payload, observer);

        public async IAsyncEnumerable<StoredRecord> ReadAsync(RecordQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var record in inner.ReadAsync(query, cancellationToken))
            {
                yield return record;
            }
        }

        public Task<VerificationReport> VerifyAsync(CancellationToken cancellationToken) => inner.VerifyAsync(cancellationToken);

        public Task<long> CheckpointAsync(CancellationToken cancellationToken) => inner.CheckpointAsync(cancellationToken);

        public Task<PurgeResult> PurgeExpiredAsync(IReadOnlyDictionary<string, DateOnly> retainUntil, DateOnly today, CancellationToken cancellationToken) =>
            inner.PurgeExpiredAsync(retainUntil, today, cancellationToken);
    }
}
