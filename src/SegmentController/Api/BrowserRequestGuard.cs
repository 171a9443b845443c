using Microsoft.Extensions.Primitives;

namespace SegmentController.Api;

/// <summary>
/// Refuses, before authentication, every request of the management listener that changes something (any method
/// but GET, HEAD and OPTIONS) sent by a web browser: one that carries an <c>Origin</c> or a <c>Sec-Fetch-Site</c>
/// header other than <c>none</c> (a page, not a user typing a URL).
/// </summary>
/// <remarks>
/// Why: a browser holding an operator's client certificate presents it to any page's request, and a page on any
/// site can post a form or a no-CORS <c>fetch</c> (<c>text/plain</c>, no preflight) to the listener. Without this,
/// a page an approver visits could suspend a client or approve a restore in the approver's name, and a page
/// without a certificate could spend the address's failed-authentication allowance. The operator API has no
/// browser front end; <c>segctl</c>, <c>curl</c> and scripts send neither header. Browsers send <c>Origin</c>
/// on every cross-origin request and on every POST, and <c>Sec-Fetch-Site</c> on every request.
/// </remarks>
internal static partial class BrowserRequestGuard
{
    /// <summary>Adds the guard to the listener's pipeline (before authentication).</summary>
    public static IApplicationBuilder UseBrowserRequestGuard(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            if (RefusalReason(context.Request) is { } reason)
            {
                LogRefused(
                    context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(BrowserRequestGuard).FullName!),
                    context.Request.Method,
                    context.Request.Path.Value,
                    context.Connection.RemoteIpAddress,
                    reason);
                await Results.Problem(
                    statusCode: StatusCodes.Status403Forbidden,
                    title: "Browser request refused",
                    detail: $"{reason}: the management listener takes no changing request from a web page; use segctl or a script").ExecuteAsync(context);
                return;
            }

            await next(context);
        });

    /// <summary>Why <paramref name="request"/> is refused as a web page's; null when it is not refused.</summary>
    internal static string? RefusalReason(HttpRequest request)
    {
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method))
        {
            return null;
        }

        if (request.Headers.Origin is { Count: > 0 } origin)
        {
            return $"it carries Origin {Printable(origin)}";
        }

        if (request.Headers["Sec-Fetch-Site"] is { Count: > 0 } site && !string.Equals(site.ToString(), "none", StringComparison.OrdinalIgnoreCase))
        {
            return $"it carries Sec-Fetch-Site {Printable(site)}";
        }

        return null;
    }

    [LoggerMessage(EventId = ApiEventIds.BrowserRequestRefused, Level = LogLevel.Warning, Message = "Refused {Method} {Path} from {Address}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string method, string? path, System.Net.IPAddress? address, string reason);

    // A header value said back to the caller and logged: short, and nothing but printable ASCII.
    private static string Printable(StringValues value)
    {
        var text = value.ToString();
        if (text.Length > 100)
        {
            text = text[..100] + "…";
        }

        return string.Concat(text.Select(c => c is >= ' ' and <= '~' or '…' ? c : '?'));
    }
}
