using System.Text.Json;
using SegmentController.Core.Evidence;

namespace SegmentController.Api;

/// <summary>Reads request bodies as hostile input: bounded size, strict shape, problem details on failure.</summary>
internal static class ApiRequests
{
    /// <summary>Largest accepted body.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    /// <summary>Longest accepted reason.</summary>
    public const int MaxReasonLength = 2000;

    /// <summary>Reads <c>{"reason": "…"}</c>; returns the reason or a problem to answer with.</summary>
    public static async Task<(string? Reason, IResult? Problem)> ReadReasonAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var (document, problem) = await ReadObjectAsync(request, cancellationToken);
        using (document)
        {
            return problem is not null ? (null, problem) : Reason(document!.RootElement);
        }
    }

    /// <summary>Longest accepted auditor name.</summary>
    public const int MaxAuditorLength = 200;

    /// <summary>
    /// Reads an external audit: <c>{"client": "…", "result": "pass"|"fail", "external_auditor": "…", "summary": "…"}</c>
    /// (also the earlier <c>"auditor"</c> for <c>"external_auditor"</c>, and <c>{"client", "passed": true|false, "reason"}</c>;
    /// an earlier name given beside the current one must say the same). The external auditor is optional: who
    /// recorded the audit is the caller's credential, whatever the body says.
    /// </summary>
    public static async Task<(ExternalAuditRequest? Audit, IResult? Problem)> ReadExternalAuditAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var (document, problem) = await ReadObjectAsync(request, cancellationToken);
        using (document)
        {
            if (problem is not null)
            {
                return (null, problem);
            }

            var root = document!.RootElement;
            if (!root.TryGetProperty("client", out var client) || client.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(client.GetString()))
            {
                return (null, BadRequest("\"client\" is required: the audited client's id"));
            }

            bool passed;
            var hasLegacy = root.TryGetProperty("passed", out var legacy) && legacy.ValueKind != JsonValueKind.Null;
            if (hasLegacy && legacy.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return (null, BadRequest("\"passed\" (the earlier form of \"result\") must be true or false"));
            }

            if (root.TryGetProperty("result", out var result))
            {
                if (result.ValueKind != JsonValueKind.String || result.GetString() is not ("pass" or "fail"))
                {
                    return (null, BadRequest("\"result\" must be \"pass\" or \"fail\""));
                }

                passed = result.GetString() == "pass";

                // Both given and at odds: which one the auditor meant cannot be told, and a fail read as a pass
                // would lift what the failure should hold.
                if (hasLegacy && legacy.GetBoolean() != passed)
                {
                    return (null, BadRequest($"\"result\" is \"{result.GetString()}\" but \"passed\" is {(legacy.GetBoolean() ? "true" : "false")}: give \"result\" alone"));
                }
            }
            else if (hasLegacy)
            {
                passed = legacy.GetBoolean();
            }
            else
            {
                return (null, BadRequest("\"result\" is required: \"pass\" or \"fail\""));
            }

            // "summary" is the current name; "reason" belongs to the earlier body and is read only where no summary is given.
            var hasSummary = root.TryGetProperty("summary", out _);
            var (summary, summaryProblem) = hasSummary || !root.TryGetProperty("reason", out _)
                ? Text(root, "summary", "with the auditor's findings")
                : Reason(root);
            if (summaryProblem is not null)
            {
                return (null, summaryProblem);
            }

            if (hasSummary && root.TryGetProperty("reason", out var reason) && reason.ValueKind != JsonValueKind.Null
                && !string.Equals(reason.ValueKind == JsonValueKind.String ? reason.GetString()!.Trim() : null, summary, StringComparison.Ordinal))
            {
                return (null, BadRequest("\"summary\" and \"reason\" (its earlier name) say different things: give \"summary\" alone"));
            }

            // The external auditor is what the caller says of whom they audited with: kept apart from who
            // recorded it (the credential), never in its place. "auditor" is its earlier name.
            string? auditor = null;
            foreach (var name in (ReadOnlySpan<string>)["external_auditor", "auditor"])
            {
                if (!root.TryGetProperty(name, out var named) || named.ValueKind == JsonValueKind.Null)
                {
                    continue;
                }

                if (named.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(named.GetString()) || named.GetString()!.Trim().Length > MaxAuditorLength)
                {
                    return (null, BadRequest($"\"{name}\" must be the external auditor's organisation or name (at most {MaxAuditorLength} characters)"));
                }

                if (!HasVisible(named.GetString()!))
                {
                    return (null, BadRequest(NoVisible(name)));
                }

                if (auditor is not null && !string.Equals(auditor, named.GetString()!.Trim(), StringComparison.Ordinal))
                {
                    return (null, BadRequest("\"external_auditor\" and \"auditor\" name different auditors; give one"));
                }

                auditor = named.GetString()!.Trim();
            }

            return (new ExternalAuditRequest(client.GetString()!.Trim(), passed, auditor, summary!), null);
        }
    }

    private static async Task<(JsonDocument? Document, IResult? Problem)> ReadObjectAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > MaxBodyBytes)
                {
                    return (null, TooLarge());
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException e)
        {
            // The server refused the body's framing or pace (a broken chunk, a body trickled in below the
            // minimum data rate): the caller hears why in a problem, and it is no unhandled exception.
            return (null, e.StatusCode switch
            {
                StatusCodes.Status408RequestTimeout => Results.Problem(statusCode: StatusCodes.Status408RequestTimeout, title: "Request timeout", detail: "the request body came too slowly: send it whole, at once"),
                StatusCodes.Status413PayloadTooLarge => TooLarge(),
                _ => BadRequest($"the request body is not valid HTTP: {e.Message}"),
            });
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(buffer.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            return (null, BadRequest($"malformed JSON: {e.Message}"));
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            return (null, BadRequest("the body must be a JSON object like {\"reason\": \"…\"}"));
        }

        if (!IsText(document.RootElement))
        {
            document.Dispose();
            return (null, BadRequest("the body holds a string that is not text: invalid UTF-8 or a lone surrogate escape (\\ud800)"));
        }

        if (Repeated(document.RootElement) is { } name)
        {
            document.Dispose();
            return (null, BadRequest($"the body names \"{name}\" more than once: which one is meant cannot be told"));
        }

        return (document, null);
    }

    // A name given twice in one object: JSON leaves the meaning open (the readers would take one of them,
    // and a proxy or log in between may have shown the other). The first name repeated; null when none is.
    private static string? Repeated(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    if (!names.Add(property.Name))
                    {
                        return property.Name.Length > 100 ? property.Name[..100] + "…" : property.Name;
                    }

                    if (Repeated(property.Value) is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (Repeated(item) is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            default:
                return null;
        }
    }

    // JSON's parser lets through strings that cannot become .NET strings (invalid UTF-8 bytes, a lone
    // \uD800): every name and string of the body is checked once, so no reader meets one later.
    private static bool IsText(JsonElement element)
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    _ = element.GetString();
                    return true;
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        _ = property.Name;
                        if (!IsText(property.Value))
                        {
                            return false;
                        }
                    }

                    return true;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray())
                    {
                        if (!IsText(item))
                        {
                            return false;
                        }
                    }

                    return true;
                default:
                    return true;
            }
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// Reads the optional body of an audit run, <c>{"client": "…"}</c> or nothing at all; returns the client
    /// (null: every client) or a problem to answer with.
    /// </summary>
    public static async Task<(string? Client, IResult? Problem)> ReadAuditRunAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ContentLength == 0 || (request.ContentLength is null && !request.Headers.ContainsKey("Transfer-Encoding")))
        {
            return (null, null);
        }

        var (document, problem) = await ReadObjectAsync(request, cancellationToken);
        using (document)
        {
            if (problem is not null)
            {
                return (null, problem);
            }

            if (!document!.RootElement.TryGetProperty("client", out var client) || client.ValueKind == JsonValueKind.Null)
            {
                return (null, null);
            }

            return client.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(client.GetString())
                ? (client.GetString()!.Trim(), null)
                : (null, BadRequest("\"client\" must be a client id, or left out to audit every client"));
        }
    }

    /// <summary>Most clients one incident may name.</summary>
    public const int MaxIncidentClients = 64;

    /// <summary>Reads <c>{"nature": "…", "clients": ["…"], "reason": "…"}</c> (reason optional) for an incident an operator opens.</summary>
    public static async Task<(string? Nature, IReadOnlyList<string>? Clients, string? Reason, IResult? Problem)> ReadIncidentAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var (document, problem) = await ReadObjectAsync(request, cancellationToken);
        using (document)
        {
            if (problem is not null)
            {
                return (null, null, null, problem);
            }

            var root = document!.RootElement;
            var (nature, natureProblem) = Text(root, "nature", "saying what happened");
            if (natureProblem is not null)
            {
                return (null, null, null, natureProblem);
            }

            if (!root.TryGetProperty("clients", out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() is 0 or > MaxIncidentClients
                || list.EnumerateArray().Any(c => c.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(c.GetString())))
            {
                return (null, null, null, BadRequest($"\"clients\" is required: 1 to {MaxIncidentClients} client ids"));
            }

            string? reason = null;
            if (root.TryGetProperty("reason", out var given) && given.ValueKind != JsonValueKind.Null)
            {
                var (text, reasonProblem) = Reason(root);
                if (reasonProblem is not null)
                {
                    return (null, null, null, reasonProblem);
                }

                reason = text;
            }

            var clients = list.EnumerateArray().Select(c => c.GetString()!.Trim()).Distinct(StringComparer.Ordinal).ToArray();
            if (clients.Sum(c => c.Length + 1) - 1 > ClientKey.MaxLength)
            {
                // The incident's records name its clients in one key: checked here, before anything is recorded.
                return (null, null, null, BadRequest($"the clients named are too many for one record (their ids together exceed {ClientKey.MaxLength} characters): open one incident per group of clients"));
            }

            return (nature, clients, reason, null);
        }
    }

    /// <summary>Reads <c>{"client": "…", "reason": "…"}</c>: a notice given by other means, and how.</summary>
    public static async Task<(string? Client, string? How, IResult? Problem)> ReadNoticeAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var (document, problem) = await ReadObjectAsync(request, cancellationToken);
        using (document)
        {
            if (problem is not null)
            {
                return (null, null, problem);
            }

            var root = document!.RootElement;
            if (!root.TryGetProperty("client", out var client) || client.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(client.GetString()))
            {
                return (null, null, BadRequest("\"client\" is required: the client that was given notice"));
            }

            var (how, howProblem) = Reason(root);
            return (client.GetString()!.Trim(), how, howProblem);
        }
    }

    /// <summary>Reads <c>{"consequences": "…"}</c>.</summary>
    public static async Task<(string? Consequences, IResult? Problem)> ReadConsequencesAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var (document, problem) = await ReadObjectAsync(request, cancellationToken);
        using (document)
        {
            return problem is not null ? (null, problem) : Text(document!.RootElement, "consequences", "with the likely consequences as assessed");
        }
    }

    /// <summary>Reads <c>{"note": "…"}</c>.</summary>
    public static async Task<(string? Note, IResult? Problem)> ReadNoteAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var (document, problem) = await ReadObjectAsync(request, cancellationToken);
        using (document)
        {
            return problem is not null ? (null, problem) : Text(document!.RootElement, "note", "the note's text");
        }
    }

    private static (string? Reason, IResult? Problem) Reason(JsonElement root) => Text(root, "reason", "saying why");

    private static (string? Text, IResult? Problem) Text(JsonElement root, string name, string what)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String
            || string.IsNullOrWhiteSpace(value.GetString()))
        {
            return (null, BadRequest($"\"{name}\" is required: a non-empty string {what}"));
        }

        if (!HasVisible(value.GetString()!))
        {
            return (null, BadRequest(NoVisible(name)));
        }

        var text = value.GetString()!.Trim();
        return text.Length > MaxReasonLength
            ? (null, BadRequest($"\"{name}\" is longer than {MaxReasonLength} characters"))
            : (text, null);
    }

    private static string NoVisible(string name) =>
        $"\"{name}\" must contain a visible character: it holds only white space, control or format characters (such as U+0000, U+200B, U+FEFF)";

    /// <summary>
    /// Whether <paramref name="text"/> shows anything: a character that is not white space, a control
    /// character (Cc: NUL, escapes) or a format character (Cf: zero-width space, byte order mark, bidi
    /// controls). Text of those alone reads as empty in every log, table and export, yet would be on record
    /// as the reason given.
    /// </summary>
    public static bool HasVisible(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (var c in text)
        {
            if (!char.IsWhiteSpace(c) && char.GetUnicodeCategory(c) is not (System.Globalization.UnicodeCategory.Control or System.Globalization.UnicodeCategory.Format))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// A <c>limit</c> query parameter: absent is <paramref name="fallback"/>, a number is clamped to 1 to
    /// <paramref name="max"/>, anything else is a 400 problem (the framework's own binding would answer an
    /// empty 400).
    /// </summary>
    public static (int Take, IResult? Problem) Limit(string? value, int fallback, int max)
    {
        if (value is null)
        {
            return (fallback, null);
        }

        return long.TryParse(value, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var parsed)
            ? ((int)Math.Clamp(parsed, 1, max), null)
            : (0, BadRequest($"\"limit\" must be a whole number from 1 to {max}"));
    }

    private static IResult TooLarge() =>
        Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request body too large", detail: $"at most {MaxBodyBytes} bytes");

    /// <summary>A 400 problem.</summary>
    public static IResult BadRequest(string detail) =>
        Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad request", detail: detail);
}
