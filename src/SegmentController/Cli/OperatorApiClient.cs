using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using SegmentController.Core.Policy;

namespace SegmentController.Cli;

/// <summary>
/// The operator commands' HTTP client: TLS 1.2+ with the system trust store or only the CAs of
/// <c>--ca-file</c> (never "accept any"), the API key as a bearer token (never printed), and refusal to
/// send a key in clear text anywhere but loopback.
/// </summary>
internal sealed class OperatorApiClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly X509Certificate2Collection? _roots;
    private X509Certificate2? _clientCertificate;
    private volatile bool _certificatePresented;
    private volatile string? _rejection;

    private OperatorApiClient(HttpClient http, X509Certificate2Collection? roots)
    {
        _http = http;
        _roots = roots;
    }

    /// <summary>Default URL: the policy's default management listener.</summary>
    public const string DefaultUrl = "http://127.0.0.1:9410";

    /// <summary>
    /// The text of the PEM file an option names, read as the controller reads its certificates (a regular file of
    /// at most 1 MiB, never a pipe waited on); an error that names the option when it cannot be read.
    /// </summary>
    private static string ReadPemOption(string option, string path, string role)
    {
        try
        {
            return CertificateLoader.ReadPem(path, role);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new InvalidOperationException($"{option} {path}: {e.Message}", e);
        }
    }

    /// <summary>Builds a client; throws <see cref="InvalidOperationException"/> with a plain message for unusable settings.</summary>
    public static OperatorApiClient Create(string? url, string? apiKey, string? caFile, TimeSpan timeout, string? clientCertificateFile = null, string? clientKeyFile = null)
    {
        url = string.IsNullOrWhiteSpace(url) ? DefaultUrl : url.Trim();
        if (!Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var baseUri) || (baseUri.Scheme != Uri.UriSchemeHttp && baseUri.Scheme != Uri.UriSchemeHttps))
        {
            throw new InvalidOperationException($"--url '{url}' is not an http(s) URL");
        }

        if (baseUri.Scheme == Uri.UriSchemeHttp && !IsLoopback(baseUri))
        {
            throw new InvalidOperationException($"refusing to send an API key in clear text to {baseUri.Host}; use https:// (the management listener has TLS off loopback)");
        }

        X509Certificate2Collection? roots = null;
        if (caFile is not null)
        {
            var caPem = ReadPemOption("--ca-file", caFile, "CA file");
            roots = [];
            try
            {
                roots.ImportFromPem(caPem);
            }
            catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or ArgumentException)
            {
                throw new InvalidOperationException($"--ca-file {caFile}: {e.Message}", e);
            }

            if (roots.Count == 0)
            {
                throw new InvalidOperationException($"--ca-file {caFile}: no certificate in it");
            }
        }

        X509Certificate2? clientCertificate = null;
        if (clientCertificateFile is not null)
        {
            if (baseUri.Scheme != Uri.UriSchemeHttps)
            {
                throw new InvalidOperationException("--client-cert needs an https:// --url");
            }

            var keyPem = clientKeyFile is null ? null : ReadPemOption("--client-key", clientKeyFile, "file");
            var certificatePem = ReadPemOption("--client-cert", clientCertificateFile, "certificate file");
            try
            {
                clientCertificate = X509Certificate2.CreateFromPem(certificatePem, keyPem ?? certificatePem);
            }
            catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or ArgumentException)
            {
                throw new InvalidOperationException($"--client-cert {clientCertificateFile}: {e.Message}", e);
            }
        }

        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(10),
            SslOptions = new SslClientAuthenticationOptions { EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13 },
        };
        if (clientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [clientCertificate];
        }

        var client = new OperatorApiClient(new HttpClient(handler) { BaseAddress = baseUri, Timeout = timeout }, roots) { _clientCertificate = clientCertificate };
        handler.SslOptions.RemoteCertificateValidationCallback = client.ValidateCertificate;

        if (!string.IsNullOrEmpty(apiKey))
        {
            client._http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        client._http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return client;
    }

    /// <summary>The API's address, for messages.</summary>
    public Uri? BaseAddress => _http.BaseAddress;

    /// <summary>Sends a request; the answer's status and body (JSON text, possibly problem details).</summary>
    public Task<(HttpStatusCode Status, string Body)> SendAsync(HttpMethod method, string path, string? reason, CancellationToken cancellationToken) =>
        SendJsonAsync(method, path, reason is null ? null : new Dictionary<string, string> { ["reason"] = reason }, cancellationToken);

    /// <summary>Sends a request with a JSON object of string fields as its body (none when null).</summary>
    public Task<(HttpStatusCode Status, string Body)> SendJsonAsync(HttpMethod method, string path, Dictionary<string, string>? fields, CancellationToken cancellationToken) =>
        SendJsonAsync(method, path, fields is null ? null : JsonSerializer.Serialize(fields, CliJsonContext.Default.DictionaryStringString), cancellationToken);

    /// <summary>Sends a request with <paramref name="json"/> as its body (none when null).</summary>
    public async Task<(HttpStatusCode Status, string Body)> SendJsonAsync(HttpMethod method, string path, string? json, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        try
        {
            using var response = await _http.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            ThrowIfNoSuchCall(response.StatusCode, body, request.RequestUri);
            return (response.StatusCode, body);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new IOException($"{_http.BaseAddress} did not answer in {_http.Timeout.TotalSeconds:0} s", e);
        }
    }

    /// <summary>The body of a changing call: <c>{"reason": "…"}</c>.</summary>
    public static string ReasonBody(string reason) =>
        JsonSerializer.Serialize(new Dictionary<string, string> { ["reason"] = reason }, CliJsonContext.Default.DictionaryStringString);

    /// <summary>Longest line accepted from a streamed answer.</summary>
    public const int MaxStreamLineChars = 4 * 1024 * 1024;

    /// <summary>
    /// Sends a request asking for a streamed answer (<c>application/x-ndjson</c>) and hands each line to
    /// <paramref name="onLine"/> as it arrives. Returns the status and, when the server did not stream
    /// (an error, problem details), the body. Fails when no line comes for <paramref name="idleTimeout"/>.
    /// </summary>
    public async Task<(HttpStatusCode Status, string? Body)> SendStreamingAsync(HttpMethod method, string path, string? jsonBody, Func<string, Task> onLine, TimeSpan idleTimeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onLine);
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/x-ndjson"));
        if (jsonBody is not null)
        {
            request.Content = new StringContent(jsonBody, Encoding.UTF8, "application/json");
        }

        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(idleTimeout);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, idle.Token);
            if (!response.IsSuccessStatusCode || !string.Equals(response.Content.Headers.ContentType?.MediaType, "application/x-ndjson", StringComparison.OrdinalIgnoreCase))
            {
                var body = await response.Content.ReadAsStringAsync(idle.Token);
                ThrowIfNoSuchCall(response.StatusCode, body, request.RequestUri);
                return (response.StatusCode, body);
            }

            await using var stream = await response.Content.ReadAsStreamAsync(idle.Token);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var line = new StringBuilder();
            var buffer = new char[8192];
            int read;
            idle.CancelAfter(idleTimeout);
            while ((read = await reader.ReadAsync(buffer.AsMemory(), idle.Token)) > 0)
            {
                idle.CancelAfter(idleTimeout);
                for (var i = 0; i < read; i++)
                {
                    if (buffer[i] != '\n')
                    {
                        if (line.Length >= MaxStreamLineChars)
                        {
                            throw new IOException($"{_http.BaseAddress} sent a line longer than {MaxStreamLineChars} characters");
                        }

                        line.Append(buffer[i]);
                        continue;
                    }

                    await onLine(line.ToString());
                    line.Clear();
                }
            }

            if (line.Length > 0)
            {
                await onLine(line.ToString());
            }

            return (response.StatusCode, null);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new IOException($"{_http.BaseAddress} sent nothing for {idleTimeout.TotalSeconds:0} s", e);
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        _clientCertificate?.Dispose();
        if (_roots is not null)
        {
            foreach (var root in _roots)
            {
                root.Dispose();
            }
        }
    }

    // Notes that the server answered TLS with a certificate: a handshake that fails without one met a
    // server that does not speak TLS there, which no --ca-file mends.
    private bool ValidateCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        _certificatePresented = true;
        if (_roots is not null)
        {
            return ValidateWithCustomRoots(certificate, chain, errors);
        }

        if (errors != SslPolicyErrors.None)
        {
            // What the platform's own check would have said, for the message.
            _rejection = (errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0 && chain is not null
                ? $"the certificate chain does not verify: {string.Join(", ", chain.ChainStatus.Select(c => c.Status))}"
                : $"the certificate does not verify: {errors}";
        }

        return errors == SslPolicyErrors.None;
    }

    private bool ValidateWithCustomRoots(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        // The name must still match; only the set of trusted roots is replaced.
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_roots!);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            custom.ChainPolicy.ExtraStore.AddRange(chain.ChainElements.Select(e => e.Certificate).ToArray());
        }

        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return custom.Build(leaf);
    }

    /// <summary>
    /// Why a request got no answer, with what to do where the cause is the client's settings: a plain
    /// http:// URL to a listener that serves only TLS (the default URL, at a site whose management listener
    /// has a certificate), or a certificate the client does not trust (no or the wrong --ca-file).
    /// </summary>
    private IOException Unreachable(HttpRequestException e)
    {
        var address = _http.BaseAddress!;
        var cause = Innermost(e).Message;
        if (address.Scheme == Uri.UriSchemeHttp && e.HttpRequestError is HttpRequestError.ResponseEnded or HttpRequestError.InvalidResponse)
        {
            var https = new UriBuilder(address) { Scheme = Uri.UriSchemeHttps, Port = address.Port }.Uri;
            return new IOException(
                $"{address} did not answer plain HTTP ({cause}): a management listener with a certificate (controller.management.certificate) "
                + $"serves TLS only, on loopback too; use --url {https} (or SEGCTL_URL), with --ca-file naming the CA that issued its certificate", e);
        }

        if (e.HttpRequestError == HttpRequestError.SecureConnectionError && e.InnerException is AuthenticationException && !_certificatePresented)
        {
            var http = new UriBuilder(address) { Scheme = Uri.UriSchemeHttp, Port = address.Port }.Uri;
            return new IOException(
                $"{address} did not answer TLS ({cause}): a management listener without a certificate (controller.management.certificate) "
                + $"serves plain HTTP, on loopback only; use --url {http} (or SEGCTL_URL), or give the listener a certificate", e);
        }

        if (e.HttpRequestError == HttpRequestError.SecureConnectionError && e.InnerException is AuthenticationException)
        {
            return new IOException(
                _roots is null
                    ? $"{address} presented a TLS certificate this machine does not trust ({_rejection ?? cause}); pass --ca-file with the CA that issued the management listener's certificate"
                    : $"{address} presented a TLS certificate not issued under the CA certificates of --ca-file, or not for this host name ({cause})",
                e);
        }

        return new IOException($"{address} unreachable: {cause}", e);
    }

    /// <summary>
    /// A 404 that is not one of the API's own (an unknown client, incident, restore …: problem details with
    /// their own title) means the path maps to nothing: the --url is not the management listener's root (a
    /// URL ending in /api/v1, another service on that port), and every call would fail the same way.
    /// </summary>
    private void ThrowIfNoSuchCall(HttpStatusCode status, string body, Uri? requested)
    {
        if (status != HttpStatusCode.NotFound || ApiTitle(body) is not (null or "Not Found"))
        {
            return;
        }

        var call = requested is null ? "" : $" {new Uri(_http.BaseAddress!, requested).AbsolutePath}";
        throw new IOException(
            $"{_http.BaseAddress} serves no segctl operator API call{call} (HTTP 404): --url names the management listener itself "
            + $"(as {DefaultUrl}), without /api/v1 or another path under it");
    }

    /// <summary>The title of a problem-details body; null when the body is none.</summary>
    private static string? ApiTitle(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("title", out var title) && title.ValueKind == JsonValueKind.String
                ? title.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e;
    }
}
