using System.Globalization;
using System.Net.NetworkInformation;
using System.Text;
using System.Text.Json;
using SegmentController.Core.Policy;

namespace SegmentController.Cli;

/// <summary>
/// The readable summary of a policy for <c>segctl policy show</c>. It names where secrets are kept only
/// by kind (SNMP security level), never the references' values and never a secret.
/// </summary>
internal static class PolicySummary
{
    public static string ToText(SitePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var text = new StringBuilder();
        text.AppendLine(Invariant($"site {policy.Site.Id}: {policy.Site.Name}"));
        text.AppendLine(Invariant($"policy {policy.SourcePath} (sha256 {policy.Sha256})"));
        text.AppendLine();
        text.AppendLine(Invariant($"clients ({policy.Clients.Count}):"));
        foreach (var client in policy.Clients)
        {
            text.AppendLine(Invariant($"  {client.Id}: {client.Name}"));
            text.AppendLine(Invariant($"    contract ends {Date(client.ContractEnd)}; records kept until {Date(client.RetainUntil)}"));
            foreach (var segment in client.Segments)
            {
                text.AppendLine(Invariant($"    segment {segment.Name}"));
                text.AppendLine(Invariant($"      VLANs:   {List(segment.Vlans.Select(v => v.ToString(CultureInfo.InvariantCulture)))}"));
                text.AppendLine(Invariant($"      subnets: {List(segment.Subnets.Select(s => s.ToString()))}"));
                text.AppendLine(Invariant($"      ports:   {Ports(segment.Ports)}"));
                if (segment.Macs.Count > 0)
                {
                    text.AppendLine(Invariant($"      MACs:    {List(segment.Macs.Select(Mac))}"));
                }
            }

            foreach (var upstream in client.Upstreams)
            {
                text.AppendLine(Invariant($"    upstream {upstream.Name}: {List(upstream.Hosts)} {List(upstream.PathPrefixes)} -> {List(upstream.Destinations.Select(d => d.ToString()))}"));
            }

            var kill = client.Kill.ShutPorts ? "close proxy, shut its switch ports" : "close proxy (switch ports stay up)";
            if (client.Kill.ForceShutPorts.Count > 0)
            {
                kill += Invariant($", also shut {Ports(client.Kill.ForceShutPorts)}");
            }

            if (client.Kill.Webhooks.Count > 0)
            {
                kill += Invariant($", call {List(client.Kill.Webhooks.Select(w => Endpoint(w.Url)))}");
            }

            text.AppendLine(Invariant($"    on suspension: {kill}"));
            foreach (var contact in client.Notify)
            {
                var ways = new[] { contact.Email, contact.Phone, contact.Webhook is { } hook ? Endpoint(hook.Url) : null }.Where(w => w is not null);
                text.AppendLine(Invariant($"    notify {contact.Name}: {List(ways!)}"));
            }
        }

        var infrastructure = policy.Infrastructure;
        text.AppendLine();
        text.AppendLine("infrastructure:");
        text.AppendLine(Invariant($"  management VLANs: {List(infrastructure.ManagementVlans.Select(v => v.ToString(CultureInfo.InvariantCulture)))}"));
        text.AppendLine(Invariant($"  subnets:          {List(infrastructure.Subnets.Select(s => s.ToString()))}"));
        text.AppendLine(Invariant($"  proxy addresses:  {List(infrastructure.ProxyAddresses.Select(a => a.ToString()))}"));
        text.AppendLine(Invariant($"  trunk ports:      {Ports(infrastructure.TrunkPorts)}"));
        text.AppendLine();
        text.AppendLine(Invariant($"switches ({policy.Switches.Count}):"));
        foreach (var sw in policy.Switches)
        {
            text.AppendLine(Invariant($"  {sw.Name}: {sw.Address}:{sw.Port}, profile {Profile(sw.Profile)}, {SecurityLevel(sw.Snmp)}, polled every {Duration(sw.PollInterval)}"));
        }

        text.AppendLine();
        text.AppendLine(Invariant($"on verification lost: {(policy.Controller.OnVerificationLost == VerificationLostAction.Suspend ? "suspend" : "alert")}; restore needs {policy.Restore.Approvers} person(s){(policy.Restore.RequirePassingAudit ? " and a passing audit" : "")}"));
        text.AppendLine(policy.Controller.InService
            ? "in service: a start that finds no suspension state suspends every client (a new site's is laid out with 'segctl state init')"
            : "not in service: a start that finds no suspension state, and no records of a controller in the store, is a first start (no client suspended)");
        return text.ToString();
    }

    public static string ToJson(SitePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartObject("site");
            json.WriteString("id", policy.Site.Id);
            json.WriteString("name", policy.Site.Name);
            json.WriteEndObject();
            json.WriteString("source", policy.SourcePath);
            json.WriteString("sha256", policy.Sha256);
            json.WriteBoolean("in_service", policy.Controller.InService);
            json.WriteStartArray("clients");
            foreach (var client in policy.Clients)
            {
                json.WriteStartObject();
                json.WriteString("id", client.Id);
                json.WriteString("name", client.Name);
                json.WriteString("contract_end", Date(client.ContractEnd));
                json.WriteString("retain_until", Date(client.RetainUntil));
                json.WriteStartArray("segments");
                foreach (var segment in client.Segments)
                {
                    json.WriteStartObject();
                    json.WriteString("name", segment.Name);
                    json.WriteStartArray("vlans");
                    foreach (var vlan in segment.Vlans)
                    {
                        json.WriteNumberValue(vlan);
                    }

                    json.WriteEndArray();
                    Strings(json, "subnets", segment.Subnets.Select(s => s.ToString()));
                    PortsJson(json, "ports", segment.Ports);
                    Strings(json, "macs", segment.Macs.Select(Mac));
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteStartArray("upstreams");
                foreach (var upstream in client.Upstreams)
                {
                    json.WriteStartObject();
                    json.WriteString("name", upstream.Name);
                    Strings(json, "hosts", upstream.Hosts);
                    Strings(json, "paths", upstream.PathPrefixes);
                    Strings(json, "destinations", upstream.Destinations.Select(d => d.ToString()));
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteStartObject("kill");
                json.WriteBoolean("shut_ports", client.Kill.ShutPorts);
                PortsJson(json, "force_shut_ports", client.Kill.ForceShutPorts);
                Strings(json, "webhooks", client.Kill.Webhooks.Select(w => Endpoint(w.Url)));
                json.WriteEndObject();
                json.WriteStartArray("notify");
                foreach (var contact in client.Notify)
                {
                    json.WriteStartObject();
                    json.WriteString("name", contact.Name);
                    json.WriteString("email", contact.Email);
                    json.WriteString("phone", contact.Phone);
                    json.WriteString("webhook", contact.Webhook is { } hook ? Endpoint(hook.Url) : null);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartObject("infrastructure");
            json.WriteStartArray("management_vlans");
            foreach (var vlan in policy.Infrastructure.ManagementVlans)
            {
                json.WriteNumberValue(vlan);
            }

            json.WriteEndArray();
            Strings(json, "subnets", policy.Infrastructure.Subnets.Select(s => s.ToString()));
            Strings(json, "proxy_addresses", policy.Infrastructure.ProxyAddresses.Select(a => a.ToString()));
            PortsJson(json, "trunk_ports", policy.Infrastructure.TrunkPorts);
            json.WriteEndObject();
            json.WriteStartArray("switches");
            foreach (var sw in policy.Switches)
            {
                json.WriteStartObject();
                json.WriteString("name", sw.Name);
                json.WriteString("address", sw.Address);
                json.WriteNumber("port", sw.Port);
                json.WriteString("profile", Profile(sw.Profile));
                json.WriteStartObject("snmp");
                json.WriteString("version", sw.Snmp.Version == SnmpVersion.V2c ? "v2c" : "v3");
                json.WriteString("security_level", Level(sw.Snmp));
                json.WriteString("auth_protocol", sw.Snmp.AuthProtocol is { } auth ? Auth(auth) : null);
                json.WriteString("priv_protocol", sw.Snmp.PrivProtocol is { } priv ? Priv(priv) : null);
                json.WriteEndObject();
                json.WriteString("poll_interval", Duration(sw.PollInterval));
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + Environment.NewLine;
    }

    private static void Strings(Utf8JsonWriter json, string name, IEnumerable<string> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }

    private static void PortsJson(Utf8JsonWriter json, string name, IEnumerable<PortAssignment> assignments)
    {
        json.WriteStartArray(name);
        foreach (var assignment in assignments)
        {
            json.WriteStartObject();
            json.WriteString("switch", assignment.Switch);
            Strings(json, "ports", PortRanges.Compress(assignment.Ports));
            json.WriteNumber("count", assignment.Ports.Count);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    /// <summary>
    /// A webhook's scheme and host only: chat and paging services put the access token in the path, so
    /// the rest of the URL is treated as a secret.
    /// </summary>
    private static string Endpoint(Uri url) =>
        url.AbsolutePath.Length > 1 || url.Query.Length > 0 ? $"{url.Scheme}://{url.Authority}/…" : $"{url.Scheme}://{url.Authority}/";

    private static string Ports(IEnumerable<PortAssignment> assignments) =>
        List(assignments.Select(a => Invariant($"{a.Switch} {string.Join(", ", PortRanges.Compress(a.Ports))} ({a.Ports.Count})")));

    private static string List(IEnumerable<string> values)
    {
        var joined = string.Join(", ", values);
        return joined.Length == 0 ? "-" : joined;
    }

    /// <summary>SNMP security as an operator judges it; the secrets' whereabouts are not shown.</summary>
    private static string SecurityLevel(SnmpSettings snmp) => snmp.Version == SnmpVersion.V2c
        ? "SNMPv2c (community)"
        : snmp.AuthProtocol is { } auth
            ? Invariant($"SNMPv3 {Level(snmp)} ({Auth(auth)}{(snmp.PrivProtocol is { } priv ? "/" + Priv(priv) : "")})")
            : "SNMPv3 noAuthNoPriv";

    private static string Level(SnmpSettings snmp) => snmp.Version == SnmpVersion.V2c
        ? "community"
        : snmp.AuthProtocol is null ? "noAuthNoPriv" : snmp.PrivProtocol is null ? "authNoPriv" : "authPriv";

    private static string Auth(SnmpAuthProtocol protocol) => protocol switch
    {
        SnmpAuthProtocol.Md5 => "MD5",
        SnmpAuthProtocol.Sha1 => "SHA",
        SnmpAuthProtocol.Sha224 => "SHA-224",
        SnmpAuthProtocol.Sha256 => "SHA-256",
        SnmpAuthProtocol.Sha384 => "SHA-384",
        _ => "SHA-512",
    };

    private static string Priv(SnmpPrivProtocol protocol) => protocol == SnmpPrivProtocol.Des ? "DES" : "AES";

    private static string Profile(SwitchProfile profile) => profile == SwitchProfile.Cisco ? "cisco" : "qbridge";

    private static string Date(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Mac(PhysicalAddress mac) =>
        string.Join(':', mac.GetAddressBytes().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));

    private static string Duration(TimeSpan value)
    {
        var ms = (long)value.TotalMilliseconds;
        return ms % 3_600_000 == 0 ? Invariant($"{ms / 3_600_000}h")
            : ms % 60_000 == 0 ? Invariant($"{ms / 60_000}m")
            : ms % 1000 == 0 ? Invariant($"{ms / 1000}s")
            : Invariant($"{ms}ms");
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
