using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SegmentController.Core.Incidents;
using SegmentController.Core.Policy;
using SegmentController.Core.Suspension;
using SegmentController.Proxy.Forwarding;

namespace SegmentController.Proxy.Notifications;

/// <summary>
/// Calls the clients' kill webhooks on trip and restore: an HTTPS POST of a JSON body signed with
/// HMAC-SHA-256 (<c>X-Segctl-Signature: sha256=HEX</c>) when the webhook names a secret. TLS 1.2+,
/// trusting the system store or the policy's upstream CA bundle. Failures are collected and thrown
/// together after every webhook was tried, so the stage's record says which failed.
/// </summary>
internal sealed class WebhookNotifier : ISuspensionNotifier, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    // A receiver that drops one connection (a restart, a full accept queue) or stalls on one request must not
    // cost the client's SOC the news of a trip: transport errors, 5xx answers and attempts that time out are
    // retried twice, quickly. A retried attempt may reach a receiver that had the first after all: the body's
    // event and id say it is the same news.
    private static readonly TimeSpan[] RetryDelays = [TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1)];

    private readonly IPolicyProvider _policy;
    private readonly HttpClient _http;

    public WebhookNotifier(IPolicyProvider policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _policy = policy;
        _http = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            SslOptions = UpstreamTls.CreateOptions(policy.Current.Controller.Proxy.UpstreamCaFile),
            ConnectTimeout = Timeout,
        })
        {
            Timeout = Timeout,
        };
    }

    public ValueTask TrippedAsync(SuspensionRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        return SendAsync(record.Scope, new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["event"] = "suspended",
            ["id"] = record.Id,
            ["scope"] = record.Scope,
            ["trigger"] = SuspensionNames.Of(record.Trigger),
            ["actor"] = record.Actor,
            ["reason"] = record.Reason,
            ["rule"] = record.Rule,
            ["at"] = record.TrippedAt,
        }, cancellationToken);
    }

    public ValueTask RestoredAsync(RestoreRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        return SendAsync(record.Suspension.Scope, new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["event"] = "restored",
            ["id"] = record.Suspension.Id,
            ["scope"] = record.Suspension.Scope,
            ["requested_by"] = record.RequestedBy,
            ["approvers"] = record.Approvers,
            ["reason"] = record.Reason,
            ["at"] = record.RestoredAt,
        }, cancellationToken);
    }

    public void Dispose() => _http.Dispose();

    private async ValueTask SendAsync(string scope, Dictionary<string, object?> body, CancellationToken cancellationToken)
    {
        var policy = _policy.Current;
        var clients = scope == SuspensionNames.AllClients ? policy.Clients : policy.FindClient(scope) is { } c ? [c] : [];
        List<Exception>? failures = null;
        foreach (var client in clients)
        {
            foreach (var webhook in client.Kill.Webhooks)
            {
                try
                {
                    await PostAsync(webhook, client.Id, body, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or SecretUnavailableException or InvalidOperationException)
                {
                    (failures ??= []).Add(new InvalidOperationException($"{client.Id} webhook {webhook.Url.GetLeftPart(UriPartial.Path)}: {e.Message}", e));
                }
            }
        }

        if (failures is not null)
        {
            throw new AggregateException("webhooks failed", failures);
        }
    }

    private async Task PostAsync(Webhook webhook, string clientId, Dictionary<string, object?> body, CancellationToken cancellationToken)
    {
        if (!string.Equals(webhook.Url.Scheme, Uri.UriSchemeHttps, StringComparison.Ordinal))
        {
            throw new InvalidOperationException("webhooks are https:// only");
        }

        // A reason is often a finding's summary, which names every client the finding concerns (a flow
        // from one client's VLAN to another's): each client's SOC reads its own part only.
        var own = new Dictionary<string, object?>(body, StringComparer.Ordinal) { ["client"] = clientId };
        if (own.TryGetValue("reason", out var reason) && reason is string text)
        {
            own["reason"] = IncidentView.Redact(text, clientId, _policy.Current);
        }

        var payload = JsonSerializer.SerializeToUtf8Bytes(own, WebhookJsonContext.Default.DictionaryStringObject);
        var signature = webhook.Secret is null
            ? null
            : "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(webhook.Secret.Resolve()), payload));
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, webhook.Url) { Content = new ByteArrayContent(payload) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            if (signature is not null)
            {
                request.Headers.Add("X-Segctl-Signature", signature);
            }

            try
            {
                using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
                response.EnsureSuccessStatusCode();
                return;
            }
            catch (Exception e) when (attempt < RetryDelays.Length && Retried(e, cancellationToken))
            {
                await Task.Delay(RetryDelays[attempt], cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Whether an attempt's failure is worth another: no answer, a 5xx, or no answer in time (not the caller's cancellation).</summary>
    private static bool Retried(Exception failure, CancellationToken cancellationToken) => failure switch
    {
        HttpRequestException e => e.StatusCode is null || (int)e.StatusCode >= 500,
        TaskCanceledException => !cancellationToken.IsCancellationRequested,
        _ => false,
    };
}
