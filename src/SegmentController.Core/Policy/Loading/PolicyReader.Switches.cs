using YamlDotNet.RepresentationModel;

namespace SegmentController.Core.Policy.Loading;

internal sealed partial class PolicyReader
{
    private static readonly string[] SwitchKeys = ["name", "address", "port", "profile", "snmp", "max_repetitions", "timeout", "retries", "poll_interval"];
    private static readonly string[] SnmpKeys = ["version", "community", "user", "auth", "priv", "context", "allow_legacy"];
    private static readonly string[] SnmpAuthKeys = ["protocol", "pass"];

    private static readonly Dictionary<string, SwitchProfile> Profiles = new(StringComparer.Ordinal)
    {
        ["qbridge"] = SwitchProfile.QBridge,
        ["cisco"] = SwitchProfile.Cisco,
    };

    private static readonly Dictionary<string, SnmpVersion> Versions = new(StringComparer.Ordinal)
    {
        ["v2c"] = SnmpVersion.V2c,
        ["v3"] = SnmpVersion.V3,
    };

    private static readonly Dictionary<string, SnmpAuthProtocol> AuthProtocols = new(StringComparer.OrdinalIgnoreCase)
    {
        ["SHA"] = SnmpAuthProtocol.Sha1,
        ["SHA-224"] = SnmpAuthProtocol.Sha224,
        ["SHA-256"] = SnmpAuthProtocol.Sha256,
        ["SHA-384"] = SnmpAuthProtocol.Sha384,
        ["SHA-512"] = SnmpAuthProtocol.Sha512,
        ["MD5"] = SnmpAuthProtocol.Md5,
    };

    private static readonly Dictionary<string, SnmpPrivProtocol> PrivProtocols = new(StringComparer.OrdinalIgnoreCase)
    {
        ["AES"] = SnmpPrivProtocol.Aes128,
        ["DES"] = SnmpPrivProtocol.Des,
    };

    private SwitchDefinition? ReadSwitch(YamlNode node)
    {
        var map = YamlMap.Open(node, "switch", SwitchKeys, Diagnostics);
        if (map is null)
        {
            return null;
        }

        var nameNode = map["name"];
        var name = _values.Identifier(map, "name", "switch name");
        if (name is not null)
        {
            Facts.SwitchNames.Add(new Claim<string>(null, name, Position.Of(nameNode!.Start)));
        }

        var addressNode = _values.Scalar(map, "address", required: true);
        var address = addressNode?.Value;
        if (addressNode is not null && address is not null && !IsAddressOrHostName(address))
        {
            Diagnostics.Add(addressNode, NetworkText.HasLeadingZeroOctet(address)
                ? $"switch address '{YamlMap.Printable(address)}' {NetworkText.LeadingZeroProblem}"
                : $"switch address '{YamlMap.PrintableWithoutUserInfo(address)}' is not an IP address or host name");
        }

        var defaults = new SwitchDefinition { Name = "", Address = "", Snmp = new SnmpSettings() };
        var snmpMap = _values.Section(map, "snmp", "snmp", SnmpKeys, required: true);
        return new SwitchDefinition
        {
            Name = name ?? "",
            Address = address ?? "",
            Port = _values.Int(map, "port", 1, 65535) ?? defaults.Port,
            Profile = _values.Choice(map, "profile", Profiles) ?? defaults.Profile,
            Snmp = snmpMap is null ? new SnmpSettings() : ReadSnmp(snmpMap),
            MaxRepetitions = _values.Int(map, "max_repetitions", 1, SwitchDefinition.MaxRepetitionsLimit) ?? defaults.MaxRepetitions,
            Timeout = _values.Duration(map, "timeout", TimeSpan.FromMilliseconds(100), SwitchDefinition.MaxTimeout) ?? defaults.Timeout,
            Retries = _values.Int(map, "retries", 0, 10) ?? defaults.Retries,
            PollInterval = _values.Duration(map, "poll_interval", TimeSpan.FromSeconds(1)) ?? defaults.PollInterval,
        };
    }

    private SnmpSettings ReadSnmp(YamlMap map)
    {
        var version = _values.Choice(map, "version", Versions) ?? SnmpVersion.V3;
        var allowLegacy = _values.Bool(map, "allow_legacy") ?? false;
        if (version == SnmpVersion.V2c)
        {
            foreach (var key in new[] { "user", "auth", "priv", "context" })
            {
                if (map.KeyNode(key) is { } keyNode)
                {
                    Diagnostics.Add(keyNode, $"'{key}' applies to SNMPv3 only; this switch uses version v2c");
                }
            }

            return new SnmpSettings
            {
                Version = version,
                Community = _values.Secret(map, "community", required: true),
                AllowLegacy = allowLegacy,
            };
        }

        if (map.KeyNode("community") is { } communityKey)
        {
            // Still read it, so an inline community is reported as the exposed secret it is.
            _values.Secret(map, "community");
            Diagnostics.Add(communityKey, "'community' applies to SNMPv2c only; SNMPv3 authenticates with user, auth and priv");
        }

        var user = _values.Text(map, "user", required: true, maxLength: 64);
        SnmpAuthProtocol? authProtocol = null;
        SecretReference? authPass = null;
        if (_values.Section(map, "auth", "snmp auth", SnmpAuthKeys) is { } auth)
        {
            authProtocol = ReadProtocol(auth, AuthProtocols, SnmpAuthProtocol.Md5, "MD5 authentication", allowLegacy, "SHA-256");
            authPass = _values.Secret(auth, "pass", required: true);
        }

        SnmpPrivProtocol? privProtocol = null;
        SecretReference? privPass = null;
        if (_values.Section(map, "priv", "snmp priv", SnmpAuthKeys) is { } priv)
        {
            if (map["auth"] is null)
            {
                Diagnostics.Add(map.KeyNode("priv")!, "SNMPv3 privacy (priv) needs authentication (auth) as well; add auth: {protocol: SHA-256, pass: {env: NAME}}");
            }

            privProtocol = ReadProtocol(priv, PrivProtocols, SnmpPrivProtocol.Des, "DES privacy", allowLegacy, "AES");
            privPass = _values.Secret(priv, "pass", required: true);
        }

        return new SnmpSettings
        {
            Version = version,
            User = user,
            AuthProtocol = authProtocol,
            AuthPassphrase = authPass,
            PrivProtocol = privProtocol,
            PrivPassphrase = privPass,
            Context = _values.Text(map, "context", maxLength: 64),
            AllowLegacy = allowLegacy,
        };
    }

    private T? ReadProtocol<T>(YamlMap map, IReadOnlyDictionary<string, T> protocols, T legacy, string legacyName, bool allowLegacy, string better)
        where T : struct, Enum
    {
        var protocol = _values.Choice(map, "protocol", protocols);
        if (protocol is null && map["protocol"] is null)
        {
            _values.Missing(map, "protocol");
        }

        if (protocol is { } value && value.Equals(legacy) && !allowLegacy)
        {
            Diagnostics.Add(map["protocol"]!, $"{legacyName} is broken and refused; use {better}, or set allow_legacy: true in snmp for a switch that cannot do better (it is still reported as insecure-snmp)");
        }

        return protocol;
    }
}
