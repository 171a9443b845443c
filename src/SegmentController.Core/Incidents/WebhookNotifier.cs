using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Incidents;

/// <summary>
/// Posts an incident notice as JSON to a contact's webhook, signed with HMAC-SHA-256 over the exact body
/// (<c>X-Segctl-Signature: sha256=HEX</c>); one attempt per call, returned for the record (the incident
/// manager retries with backoff until delivered or the deadline passes). A webhook without a secret is
/// not called: an unsigned notice could be forged.
/// </summary>
public sealed class WebhookNotifier(HttpClient client, TimeProvider time, WebhookNotifierOptions options) : IIncidentNotifier
{
    /// <summary>The signature header.</summary>
    public const string SignatureHeader = "X-Segctl-Signature";

    /// <summary>The header naming the incident (for receivers that de-duplicate).</summary>
    public const string IncidentHeader = "X-Segctl-Incident";

    public async Task<NotificationAttempt> SendAsync(Incident notice, string clientId, Contact contact, int attempt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notice);
        ArgumentNullException.ThrowIfNull(contact);
        var at = time.GetUtcNow();
        if (contact.Webhook is not { } webhook)
        {
            throw new ArgumentException($"contact {contact.Name} has no webhook", nameof(contact));
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
            return new NotificationAttempt(at, contact.Name, webhook.Url, attempt, false, $"not sent: {e.Message}", clientId);
        }

        var body = IncidentJson.ToUtf8(notice, "notice");
        var (delivered, outcome) = await SendAsync(webhook.Url, body, Sign(key, body), notice.Id, cancellationToken).ConfigureAwait(false);
        return new NotificationAttempt(at, contact.Name, webhook.Url, attempt, delivered, outcome, clientId);
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
