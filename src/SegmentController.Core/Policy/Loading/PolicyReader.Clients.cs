using System.Globalization;
using System.Net.NetworkInformation;
using YamlDotNet.RepresentationModel;

namespace SegmentController.Core.Policy.Loading;

internal sealed partial class PolicyReader
{
    private static readonly string[] ClientKeys = ["id", "name", "contract_end", "segments", "upstreams", "agent_certificates", "kill", "notify"];
    private static readonly string[] AgentCertificateKeys = ["subjects", "fingerprints"];
    private static readonly string[] SegmentKeys = ["name", "vlans", "subnets", "ports", "macs"];
    private static readonly string[] UpstreamKeys = ["name", "hosts", "paths", "destinations"];
    private static readonly string[] KillKeys = ["shut_ports", "force_shut_ports", "webhooks"];
    private static readonly string[] WebhookKeys = ["url", "secret"];
    private static readonly string[] ContactKeys = ["name", "email", "phone", "webhook"];

    private int _clientIndex;

    private ClientDefinition? ReadClient(YamlNode node)
    {
        _clientIndex++;
        var map = YamlMap.Open(node, "client", ClientKeys, Diagnostics);
        if (map is null)
        {
            return null;
        }

        var idNode = map["id"];
        var id = _values.Identifier(map, "id", "client id");
        if (id is not null)
        {
            Facts.ClientIds.Add(new Claim<string>(id, id, Position.Of(idNode!.Start)));
        }

        // Claims of a client without a usable id still need an owner distinct from every other client.
        var owner = id ?? $"#{_clientIndex}";
        var segmentNames = new Dictionary<string, int>(StringComparer.Ordinal);
        var segments = ReadList(map, "segments", required: true, n => ReadSegment(n, owner, segmentNames));
        var upstreamNames = new Dictionary<string, int>(StringComparer.Ordinal);
        var upstreams = ReadList(map, "upstreams", required: false, n => ReadUpstream(n, owner, upstreamNames));
        var agentCertificates = _values.Section(map, "agent_certificates", "agent_certificates", AgentCertificateKeys) is { } certificates
            ? ReadAgentCertificates(certificates, owner)
            : new AgentCertificates();
        if (map["agent_certificates"] is null && upstreams.Count > 0)
        {
            Facts.ClientCertificates.ClientsWithoutCertificates.Add(new Claim<string>(owner, owner, Position.Of((idNode ?? map.Node).Start)));
        }

        return new ClientDefinition
        {
            Id = id ?? "",
            Name = _values.Text(map, "name", required: true) ?? "",
            ContractEnd = ReadDate(map, "contract_end") ?? DateOnly.MinValue,
            Segments = segments,
            Upstreams = upstreams,
            AgentCertificates = agentCertificates,
            Kill = _values.Section(map, "kill", "kill", KillKeys) is { } kill ? ReadKill(kill, owner) : new KillActions(),
            Notify = ReadList(map, "notify", required: false, ReadContact),
        };
    }

    private AgentCertificates ReadAgentCertificates(YamlMap map, string owner)
    {
        Facts.ClientCertificates.Sections.Add(new Claim<string>(owner, owner, Position.Of(map.Node.Start)));
        var subjects = new List<SubjectPattern>();
        foreach (var item in _values.ScalarItems(map, "subjects"))
        {
            if (item.Value!.Length > 1024 || item.Value.Any(char.IsControl))
            {
                Diagnostics.Add(item, "a subject in agent_certificates must be one line of at most 1024 characters");
                continue;
            }

            if (!SubjectPattern.TryParse(item.Value, out var pattern, out var error))
            {
                Diagnostics.Add(item, $"subject '{YamlMap.Printable(item.Value)}' {error}");
                continue;
            }

            subjects.Add(pattern!);
            Facts.ClientCertificates.Subjects.Add(new Claim<SubjectPattern>(owner, pattern!, Position.Of(item.Start)));
        }

        var fingerprints = new List<string>();
        foreach (var item in _values.ScalarItems(map, "fingerprints"))
        {
            if (CertificateFingerprint.Normalize(item.Value!) is not { } fingerprint)
            {
                Diagnostics.Add(item, $"fingerprint '{YamlMap.Printable(item.Value)}' is not a SHA-256 fingerprint; write the 64 hex digits (AB:CD:… as openssl x509 -noout -fingerprint -sha256 prints them, or without colons)");
                continue;
            }

            if (!fingerprints.Contains(fingerprint, StringComparer.Ordinal))
            {
                fingerprints.Add(fingerprint);
                Facts.ClientCertificates.Fingerprints.Add(new Claim<string>(owner, fingerprint, Position.Of(item.Start)));
            }
        }

        if (map["subjects"] is null && map["fingerprints"] is null)
        {
            Diagnostics.Add(map.Node, "agent_certificates must list subjects or fingerprints (or both)");
        }

        return new AgentCertificates { Subjects = subjects, Fingerprints = fingerprints };
    }

    private DateOnly? ReadDate(YamlMap map, string key)
    {
        var scalar = _values.Scalar(map, key, required: true);
        if (scalar?.Value is null)
        {
            return null;
        }

        if (DateOnly.TryParseExact(scalar.Value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            // Records are kept until contract end + 6 years: that date must exist too.
            if (date > ClientDefinition.LatestContractEnd)
            {
                Diagnostics.Add(scalar, $"{key} '{YamlMap.Printable(scalar.Value)}' is too far ahead; at most {ClientDefinition.LatestContractEnd:yyyy-MM-dd}");
                return null;
            }

            return date;
        }

        Diagnostics.Add(scalar, $"{key} '{YamlMap.Printable(scalar.Value)}' is not a date; write it as YYYY-MM-DD, e.g. 2029-06-30");
        return null;
    }

    private Segment? ReadSegment(YamlNode node, string owner, Dictionary<string, int> names)
    {
        var map = YamlMap.Open(node, "segment", SegmentKeys, Diagnostics);
        if (map is null)
        {
            return null;
        }

        var name = _values.Text(map, "name", required: true) ?? "";
        if (map["name"] is { } nameNode && name.Length > 0)
        {
            if (names.TryGetValue(name, out var line))
            {
                Diagnostics.Add(nameNode, $"segment '{YamlMap.Printable(name)}' is defined twice in this client (first at line {line})");
            }
            else
            {
                names[name] = Position.Of(nameNode.Start).Line;
            }
        }

        var vlans = ReadVlans(map, "vlans", owner);
        var subnets = ReadSubnets(map, "subnets", owner);
        if (map["vlans"] is null && map["subnets"] is null)
        {
            Diagnostics.Add(map.Node, "a segment must name at least one VLAN or subnet (vlans, subnets)");
        }

        var macs = new List<PhysicalAddress>();
        foreach (var item in _values.ScalarItems(map, "macs"))
        {
            if (NetworkText.TryParseMac(item.Value!, out var mac, out var error))
            {
                macs.Add(mac);
            }
            else
            {
                Diagnostics.Add(item, error!);
            }
        }

        return new Segment
        {
            Name = name,
            Vlans = vlans,
            Subnets = subnets,
            Ports = ReadPortAssignments(map, "ports", "segment port list", owner, Facts.Ports),
            Macs = macs,
        };
    }

    private Upstream? ReadUpstream(YamlNode node, string owner, Dictionary<string, int> names)
    {
        var map = YamlMap.Open(node, "upstream", UpstreamKeys, Diagnostics);
        if (map is null)
        {
            return null;
        }

        var name = _values.Text(map, "name", required: true) ?? "";
        if (map["name"] is { } nameNode && name.Length > 0)
        {
            if (names.TryGetValue(name, out var line))
            {
                Diagnostics.Add(nameNode, $"upstream '{YamlMap.Printable(name)}' is defined twice in this client (first at line {line})");
            }
            else
            {
                names[name] = Position.Of(nameNode.Start).Line;
            }
        }

        var hosts = new List<string>();
        foreach (var item in _values.ScalarItems(map, "hosts", required: true))
        {
            var host = item.Value!;
            var bare = host.StartsWith("*.", StringComparison.Ordinal) ? host[2..] : host;
            if (!IsAddressOrHostName(bare))
            {
                Diagnostics.Add(item, $"'{YamlMap.PrintableWithoutUserInfo(host)}' is not a host name (e.g. crm.example.com or *.example.com)");
                continue;
            }

            hosts.Add(host);
            Facts.UpstreamHosts.Add(new Claim<string>(owner, host.ToLowerInvariant(), Position.Of(item.Start)));
        }

        var paths = new List<string>();
        foreach (var item in _values.ScalarItems(map, "paths"))
        {
            if (PathPrefix.Problem(item.Value!) is { } problem)
            {
                Diagnostics.Add(item, $"path '{YamlMap.Printable(item.Value!)}' is not a path prefix: {problem} (e.g. /api or /api/v1/)");
                continue;
            }

            paths.Add(item.Value!);
        }

        var destinations = new List<Uri>();
        foreach (var item in _values.ScalarItems(map, "destinations", required: true))
        {
            if (ReadHttpsUrl(item, "upstream destination") is { } uri)
            {
                destinations.Add(uri);
            }
        }

        return new Upstream
        {
            Name = name,
            Hosts = hosts,
            PathPrefixes = map["paths"] is null ? new Upstream { Name = "", Hosts = [], Destinations = [] }.PathPrefixes : paths,
            Destinations = destinations,
        };
    }

    /// <summary>An absolute https:// URL without credentials in it.</summary>
    private Uri? ReadHttpsUrl(YamlScalarNode item, string what)
    {
        var text = item.Value ?? "";
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || text.Length > 2048 || string.IsNullOrEmpty(uri.Host))
        {
            // Echoed without user-info: a URL that does not parse may still carry a password before its host.
            Diagnostics.Add(item, $"{what} '{YamlMap.PrintableWithoutUserInfo(text)}' is not a URL; write e.g. https://crm.example.com");
            return null;
        }

        if (uri.UserInfo.Length > 0)
        {
            // The URL is not echoed: it carries a password.
            Diagnostics.Add(item, $"{what} has a user name or password in it; credentials never go in the policy");
            return null;
        }

        if (!string.Equals(uri.Scheme, Uri.UriSchemeHttps, StringComparison.Ordinal))
        {
            Diagnostics.Add(item, $"{what} '{YamlMap.PrintableWithoutUserInfo(text)}' is not https://; client data in transit must use TLS");
            return null;
        }

        // Uri reads "010.0.0.1" as 8.0.0.1 and "10.1" as 10.0.0.1; an address host is held to the policy's own form.
        if (uri.HostNameType == UriHostNameType.IPv4 && WrittenHost(text) is { } host && !NetworkText.TryParseAddress(host, out _))
        {
            Diagnostics.Add(item, NetworkText.HasLeadingZeroOctet(host)
                ? $"{what} '{YamlMap.PrintableWithoutUserInfo(text)}' is not a URL: its address {NetworkText.LeadingZeroProblem}"
                : $"{what} '{YamlMap.PrintableWithoutUserInfo(text)}' is not a URL: write its address as four decimal octets, e.g. https://192.0.2.10");
            return null;
        }

        return uri;
    }

    /// <summary>The host of an absolute URL as written (no user-info), without its port.</summary>
    private static string? WrittenHost(string url)
    {
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0)
        {
            return null;
        }

        var authority = url[(scheme + 3)..];
        var end = authority.IndexOfAny(['/', '?', '#', '\\']);
        authority = end < 0 ? authority : authority[..end];
        var colon = authority.LastIndexOf(':');
        return colon < 0 ? authority : authority[..colon];
    }

    private KillActions ReadKill(YamlMap map, string owner)
    {
        var defaults = new KillActions();
        return new KillActions
        {
            ShutPorts = _values.Bool(map, "shut_ports") ?? defaults.ShutPorts,
            ForceShutPorts = ReadPortAssignments(map, "force_shut_ports", "force-shut port list", owner, Facts.ForceShutPorts),
            Webhooks = ReadList(map, "webhooks", required: false, ReadWebhook),
        };
    }

    private Webhook? ReadWebhook(YamlNode node)
    {
        var map = YamlMap.Open(node, "webhook", WebhookKeys, Diagnostics);
        if (map is null)
        {
            return null;
        }

        var urlNode = _values.Scalar(map, "url", required: true);
        var url = urlNode is null ? null : ReadHttpsUrl(urlNode, "webhook url");
        var secret = _values.Secret(map, "secret");
        return url is null ? null : new Webhook { Url = url, Secret = secret };
    }

    private Contact? ReadContact(YamlNode node)
    {
        var map = YamlMap.Open(node, "notify contact", ContactKeys, Diagnostics);
        if (map is null)
        {
            return null;
        }

        var email = _values.Text(map, "email");
        if (map["email"] is { } emailNode && email is not null)
        {
            var at = email.IndexOf('@', StringComparison.Ordinal);
            if (at <= 0 || at != email.LastIndexOf('@') || at == email.Length - 1 || email.Any(char.IsWhiteSpace))
            {
                Diagnostics.Add(emailNode, $"'{YamlMap.Printable(email)}' is not an e-mail address");
            }
        }

        var phone = _values.Text(map, "phone", maxLength: 32);
        if (map["phone"] is { } phoneNode && phone is not null
            && (!phone.All(c => char.IsAsciiDigit(c) || c is '+' or ' ' or '-' or '(' or ')' or '.') || phone.Count(char.IsAsciiDigit) < 5))
        {
            Diagnostics.Add(phoneNode, $"'{YamlMap.Printable(phone)}' is not a telephone number (digits, spaces, + - ( ) .)");
        }

        var webhook = map["webhook"] is { } webhookNode ? ReadWebhook(webhookNode) : null;
        var name = _values.Text(map, "name", required: true);
        if (email is null && phone is null && map["webhook"] is null)
        {
            Diagnostics.Add(map.Node, "a notify contact needs at least one of email, phone or webhook");
        }

        return new Contact { Name = name ?? "", Email = email, Phone = phone, Webhook = webhook };
    }
}
