using SegmentController.Core.Policy;
using SegmentController.Snmp.Security;

namespace SegmentController.Snmp.Transport;

/// <summary>Resolved credentials (secrets in memory only; <see cref="ToString"/> never shows them).</summary>
internal sealed record SnmpCredentials
{
    public SnmpVersion Version { get; init; } = SnmpVersion.V3;

    public string Community { get; init; } = "";

    public string User { get; init; } = "";

    public SnmpAuthProtocol? AuthProtocol { get; init; }

    public string AuthPassphrase { get; init; } = "";

    public SnmpPrivProtocol? PrivProtocol { get; init; }

    public string PrivPassphrase { get; init; } = "";

    public string Context { get; init; } = "";

    public bool AllowLegacy { get; init; }

    public static SnmpCredentials V2c(string community) => new() { Version = SnmpVersion.V2c, Community = community };

    /// <summary>Resolves the policy's secret references (environment or file).</summary>
    public static SnmpCredentials FromSettings(SnmpSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return new SnmpCredentials
        {
            Version = settings.Version,
            Community = settings.Community?.Resolve() ?? "",
            User = settings.User ?? "",
            AuthProtocol = settings.AuthProtocol,
            AuthPassphrase = settings.AuthPassphrase?.Resolve() ?? "",
            PrivProtocol = settings.PrivProtocol,
            PrivPassphrase = settings.PrivPassphrase?.Resolve() ?? "",
            Context = settings.Context ?? "",
            AllowLegacy = settings.AllowLegacy,
        };
    }

    /// <summary>Checks the combination; throws <see cref="SnmpException"/> (Configuration) when unusable.</summary>
    public void Validate()
    {
        if (Version == SnmpVersion.V2c)
        {
            if (Community.Length == 0)
            {
                throw new SnmpException(SnmpErrorKind.Configuration, "SNMPv2c needs a community (--community or SEGCTL_SNMP_COMMUNITY)");
            }

            return;
        }

        if (User.Length == 0)
        {
            throw new SnmpException(SnmpErrorKind.Configuration, "SNMPv3 needs a user name (--user)");
        }

        if (AuthProtocol is null && PrivProtocol is not null)
        {
            throw new SnmpException(SnmpErrorKind.Configuration, "SNMPv3 privacy needs authentication too (--auth-protocol)");
        }

        if (AuthProtocol is { } auth)
        {
            if (AuthAlgorithm.IsLegacy(auth) && !AllowLegacy)
            {
                throw new SnmpException(SnmpErrorKind.Configuration, "MD5 authentication is refused unless the policy allows legacy SNMP (snmp.allow_legacy)");
            }

            if (AuthPassphrase.Length < UsmKeys.MinimumPassphraseLength)
            {
                throw new SnmpException(SnmpErrorKind.Configuration, $"the authentication pass phrase is missing or shorter than {UsmKeys.MinimumPassphraseLength} characters (--auth-pass or SEGCTL_SNMP_AUTH_PASS)");
            }
        }

        if (PrivProtocol is { } priv)
        {
            if (priv == SnmpPrivProtocol.Des && !AllowLegacy)
            {
                throw new SnmpException(SnmpErrorKind.Configuration, "DES privacy is refused unless the policy allows legacy SNMP (snmp.allow_legacy)");
            }

            if (PrivPassphrase.Length < UsmKeys.MinimumPassphraseLength)
            {
                throw new SnmpException(SnmpErrorKind.Configuration, $"the privacy pass phrase is missing or shorter than {UsmKeys.MinimumPassphraseLength} characters (--priv-pass or SEGCTL_SNMP_PRIV_PASS)");
            }
        }
    }

    /// <summary>Why these credentials are weak, or null when they are not (the <c>insecure-snmp</c> rule).</summary>
    public string? InsecurityReason() => Version switch
    {
        SnmpVersion.V2c => "SNMPv2c sends the community in clear text and has no integrity protection",
        _ when AuthProtocol is null => "SNMPv3 without authentication (noAuthNoPriv)",
        _ when PrivProtocol is null => "SNMPv3 without privacy (authNoPriv): inventory crosses the network in clear text",
        _ when AuthProtocol == SnmpAuthProtocol.Md5 => "SNMPv3 with MD5 authentication (legacy)",
        _ when PrivProtocol == SnmpPrivProtocol.Des => "SNMPv3 with DES privacy (legacy)",
        _ => null,
    };

    public override string ToString() => Version == SnmpVersion.V2c
        ? "v2c community ***"
        : $"v3 user {User} auth {(AuthProtocol is { } a ? AuthAlgorithm.Name(a) : "none")} priv {(PrivProtocol is { } p ? PrivacyAlgorithm.Name(p) : "none")}";
}
