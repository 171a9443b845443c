using System.Globalization;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace SegmentController.Api;

/// <summary>
/// Authenticates operators by API key (<c>Authorization: Bearer KEY</c> or <c>X-Api-Key: KEY</c>) or by
/// a client certificate pinned in the keys file. Failures are counted per source address; an address
/// over the limit is answered 429 for anything but a credential no guessing finds: a pinned client
/// certificate (the TLS handshake proved its private key) or an API key in the keys file that has the
/// shape of the recipe's keys (<see cref="RecipeKeyShape"/>: random hex of 256 bits, which no rate an
/// address can send finds). Operators sharing an address (a NAT, a jump host) with someone failing keep
/// working; guesses, and keys that may have been chosen (short ones, passphrases however long), still
/// wait: a chosen key is what a dictionary attack finds, and were it served while wrong guesses wait, a
/// right guess would still be told apart at full speed. A valid key without the recipe's shape is served
/// as usual from any other address, and the first use of each name's such key in a run is logged
/// (<see cref="ApiEventIds.KeyWithoutLockoutPass"/>) so that the operator replaces it.
/// </summary>
internal sealed partial class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyFile keys,
    FailedAuthLimiter limiter,
    RecipeKeyWarnings warnings)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The scheme name.</summary>
    public const string SchemeName = "segctl-api-key";

    private const string RateLimitedItem = "segctl.auth.rate-limited";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var remote = Context.Connection.RemoteIpAddress;
        var presented = PresentedKey();
        var recipeShaped = presented is not null && RecipeKeyShape.Matches(presented);
        var limited = limiter.RetryAfter(remote);
        if (limited is { } wait && !(recipeShaped || (presented is null && Context.Connection.ClientCertificate is not null)))
        {
            return RateLimited(wait);
        }

        ApiCredential? credential;
        string method;
        if (presented is not null)
        {
            credential = presented.Length is > 0 and <= 1024 ? keys.FindByKey(presented) : null;
            method = "api-key";
        }
        else if (Context.Connection.ClientCertificate is { } certificate)
        {
            credential = keys.FindByCertificate(certificate.RawData);
            method = "client-certificate";
        }
        else
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (credential is null)
        {
            // Over the limit, a wrong credential is a guess like any other: it waits (and is not counted again).
            if (limited is { } stillWait)
            {
                return RateLimited(stillWait);
            }

            Log.Rejected(Logger, method, remote?.ToString() ?? "unknown");
            return Task.FromResult(AuthenticateResult.Fail($"unknown {method}"));
        }

        if (presented is not null && !recipeShaped && warnings.First(credential.Name))
        {
            Log.KeyWithoutLockoutPass(Logger, credential.Name);
        }

        var claims = new List<Claim> { new(ClaimTypes.Name, credential.Name), new("segctl:auth-method", method) };
        claims.AddRange(credential.Roles.Select(r => new Claim(ClaimTypes.Role, r)));
        var identity = new ClaimsIdentity(claims, SchemeName, ClaimTypes.Name, ClaimTypes.Role);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    private Task<AuthenticateResult> RateLimited(TimeSpan wait)
    {
        Context.Items[RateLimitedItem] = wait;
        return Task.FromResult(AuthenticateResult.Fail("too many failed authentications from this address"));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items.TryGetValue(RateLimitedItem, out var value) && value is TimeSpan wait)
        {
            Response.Headers.RetryAfter = Math.Ceiling(wait.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            await Results.Problem(
                statusCode: StatusCodes.Status429TooManyRequests,
                title: "Too many failed authentications",
                detail: $"this address failed to authenticate {FailedAuthLimiter.MaxFailures} times; try again later").ExecuteAsync(Context);
            return;
        }

        limiter.RecordFailure(Context.Connection.RemoteIpAddress);
        Response.Headers.WWWAuthenticate = "Bearer";
        await Results.Problem(
            statusCode: StatusCodes.Status401Unauthorized,
            title: "Authentication required",
            detail: "present an API key (Authorization: Bearer KEY) or a client certificate listed in the API keys file").ExecuteAsync(Context);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        Results.Problem(
            statusCode: StatusCodes.Status403Forbidden,
            title: "Forbidden",
            detail: "your roles do not allow this action").ExecuteAsync(Context);

    private string? PresentedKey()
    {
        var authorization = Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..].Trim();
        }

        var header = Request.Headers["X-Api-Key"].ToString();
        return header.Length > 0 ? header.Trim() : null;
    }

    private static partial class Log
    {
        [LoggerMessage(ApiEventIds.AuthenticationRejected, LogLevel.Warning, "Operator API: {Method} rejected from {Remote}")]
        public static partial void Rejected(ILogger logger, string method, string remote);

        [LoggerMessage(ApiEventIds.KeyWithoutLockoutPass, LogLevel.Warning, "Operator API: the key of {Name} is not one the keys file's recipe makes (openssl rand -hex 32: 64 random hex digits), so from an address locked out for failed authentications it waits like a guess; replace it with a key made by the recipe")]
        public static partial void KeyWithoutLockoutPass(ILogger logger, string name);
    }
}
