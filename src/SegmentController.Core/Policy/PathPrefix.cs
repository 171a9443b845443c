namespace SegmentController.Core.Policy;

/// <summary>
/// The rule for an upstream's path prefix (<c>clients[].upstreams[].paths</c>). The proxy turns each prefix
/// into a route (<c>prefix/{**rest}</c>) taken literally, so a prefix is a plain path: it starts with
/// <c>/</c>, its segments are made of ASCII letters, digits and <c>-._~!$&amp;'()*+,;=:@</c>, no segment is
/// empty (only the last, as a trailing <c>/</c>) or <c>.</c> or <c>..</c>. Anything else would be a route
/// the proxy refuses (<c>{</c>, <c>}</c>, <c>?</c>, <c>//</c>) or one no request can match (a request's
/// path reaches the routes decoded, with its dot segments removed).
/// </summary>
public static class PathPrefix
{
    /// <summary>The longest prefix accepted.</summary>
    public const int MaxLength = 1024;

    /// <summary>Why <paramref name="prefix"/> is not a usable path prefix, or null when it is.</summary>
    public static string? Problem(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (!prefix.StartsWith('/'))
        {
            return "it must start with '/'";
        }

        if (prefix.Length > MaxLength)
        {
            return $"it is longer than {MaxLength} characters";
        }

        // The last segment may be empty: "/" and "/api/" are prefixes like "/api".
        var segments = prefix[1..].Split('/');
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            if (segment.Length == 0)
            {
                if (i < segments.Length - 1)
                {
                    return "it has an empty segment ('//')";
                }

                continue;
            }

            if (segment is "." or "..")
            {
                return $"it has a '{segment}' segment, which no request path keeps";
            }

            foreach (var c in segment)
            {
                if (!IsSegmentCharacter(c))
                {
                    return c switch
                    {
                        '%' => "it has a '%': write the path decoded, as requests are matched decoded",
                        _ when char.IsControl(c) || char.IsWhiteSpace(c) => "it has a space or control character",
                        _ => $"it has a '{c}'; a path prefix takes ASCII letters, digits and -._~!$&'()*+,;=:@ between its '/'",
                    };
                }
            }
        }

        return null;
    }

    private static bool IsSegmentCharacter(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or '!' or '$' or '&' or '\'' or '(' or ')' or '*' or '+' or ',' or ';' or '=' or ':' or '@';
}
