using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Incidents;

/// <summary>
/// Posts the incident as JSON to a contact's webhook, signed with HMAC-SHA-256 over the exact body
/// (<c>X-Segctl-Signature: sha256=HEX</c>), retrying with exponential backoff. Every attempt is
/// returned for the record. A webhook without a secret is not called: an unsigned notice could be forged.
/// </summary>
public sealed class WebhookNotifier(HttpClient client, TimeProvider time, WebhookNotifierOptions options) : IIncidentNotifier
{
    /// <summary>The signature header.</summary>
    public const string SignatureHeader = "X-Segctl-Signature";

    /// <summary>The header naming the incident (for receivers that de-duplicate).</summary>
    public const string IncidentHeader = "X-Segctl-Incident";

    public async Task<IReadOnlyList<NotificationAttempt>> NotifyAsync(Incident incident, Contact contact, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(incident);
        ArgumentNullException.ThrowIfNull(contact);
        var attempts = new List<NotificationAttempt>();
        if (contact.Webhook is not { } webhook)
        {
            return attempts;
        }

        byte[] key;
        try
        {
            key = webhook.Secret is { } secret
                ? Encoding.UTF8.GetBytes(secret.Resolve())
                : throw new SecretUnavailableException("the webhook has no secret configured");
        }
        catch (SecretUnavailableException e)
        {
            attempts.Add(new NotificationAttempt(time.GetUtcNow(), contact.Name, webhook.Url, 1, false, $"not sent: {e.Message}"));
            return attempts;
        }

        var body = IncidentJson.ToUtf8(incident, "notice");
        var signature = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(key, body));
        var backoff = options.InitialBackoff;
        for (var attempt = 1; attempt <= options.MaxAttempts; attempt++)
        {
            var at = time.GetUtcNow();
            var (delivered, outcome) = await SendAsync(webhook.Url, body, signature, incident.Id, cancellationToken).ConfigureAwait(false);
            attempts.Add(new NotificationAttempt(at, contact.Name, webhook.Url, attempt, delivered, outcome));
            if (delivered || attempt == options.MaxAttempts)
            {
                break;
            }

            await Task.Delay(backoff, time, cancellationToken).ConfigureAwait(false);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, options.MaxBackoff.Ticks));
        }

        return attempts;
    }

    /// <summary>The signature a receiver expects for <paramref name="body"/>.</summary>
    public static string Sign(byte[] key, byte[] body) => "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(key, body));

    private async Task<(bool Delivered, string Outcome)> SendAsync(Uri url, byte[] body, string signature, string incidentId, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.RequestTimeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add(SignatureHeader, signature);
        request.Headers.Add(IncidentHeader, incidentId);
        try
        {
            using var response = await client.SendAsync(request, timeout.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            return (response.IsSuccessStatusCode, string.Create(CultureInfo.InvariantCulture, $"HTTP {status}"));
        }
        catch (HttpRequestException e)
        {
            return (false, e.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (false, "timed out");
        }
    }
}
