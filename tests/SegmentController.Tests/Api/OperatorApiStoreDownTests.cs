using System.Net;
using System.Text.Json;

namespace SegmentController.Tests.Api;

/// <summary>
/// The evidence store cannot be opened (its path is a directory): suspensions still take effect (fail
/// closed), but nothing that lifts one is accepted without a record.
/// </summary>
public sealed class OperatorApiStoreDownTests : IAsyncLifetime
{
    private OperatorApiSite _site = null!;

    public async Task InitializeAsync() =>
        _site = await OperatorApiSite.StartAsync(directory => Directory.CreateDirectory(Path.Combine(directory, "segctl.db")));

    public async Task DisposeAsync() => await _site.DisposeAsync();

    [Fact]
    public async Task StoreUnavailable_SuspendTakesEffectButRestoreIsRefused()
    {
        using var alice = _site.Client("alice");
        using var suspended = await alice.PostAsync("api/v1/clients/alpha/suspend", OperatorApiSite.Reason("leak while the store is down"));
        Assert.Equal(HttpStatusCode.Created, suspended.StatusCode);
        using (var body = JsonDocument.Parse(await suspended.Content.ReadAsStringAsync()))
        {
            Assert.Equal(JsonValueKind.Null, body.RootElement.GetProperty("record_index").ValueKind);
        }

        using var bob = _site.Client("bob");
        using var restore = await bob.PostAsync("api/v1/clients/alpha/restore", OperatorApiSite.Reason("cannot be recorded"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, restore.StatusCode);
        Assert.Equal("application/problem+json", restore.Content.Headers.ContentType?.MediaType);

        using var viewer = _site.Client("val");
        using var status = JsonDocument.Parse(await viewer.GetStringAsync("api/v1/status"));
        var alpha = status.RootElement.GetProperty("clients").EnumerateArray().Single(c => c.GetProperty("id").GetString() == "alpha");
        Assert.Equal("suspended", alpha.GetProperty("state").GetString());
    }
}
