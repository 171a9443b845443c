namespace SegmentController.Core.Policy;

/// <summary>
/// Values the controller writes in a metric's <c>client</c> label where no one client of the policy is meant.
/// A client whose id were one of them would share its series with them (a site-wide trip counted as that
/// client's, an unknown source's requests as its own), so the policy loader refuses such an id.
/// </summary>
public static class ReservedClientLabels
{
    /// <summary>Every client of the site: a site-wide trip (<c>segctl_killswitch_trips_total{client="all"}</c>).</summary>
    public const string AllClients = "all";

    /// <summary>
    /// A source in no client segment (<c>segctl_proxy_requests_total</c>, <c>segctl_proxy_request_duration_seconds</c>,
    /// <c>segctl_proxy_connections_refused_total</c>).
    /// </summary>
    public const string UnknownClient = "unknown";

    /// <summary>A finding that concerns no client (<c>segctl_findings_total{client="none"}</c>).</summary>
    public const string NoClient = "none";

    /// <summary>Every reserved value, in the order the documentation lists them.</summary>
    public static IReadOnlyList<string> Values { get; } = [AllClients, NoClient, UnknownClient];

    /// <summary>True when <paramref name="id"/> is one of the reserved values (compared exactly, as client ids are).</summary>
    public static bool IsReserved(string id) => Values.Contains(id, StringComparer.Ordinal);
}
