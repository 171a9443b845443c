using SegmentController.Snmp.Tests.Infrastructure;

namespace SegmentController.Tests.Infrastructure;

/// <summary>
/// A site policy for a real <c>segctl run</c> against snmpd: two clients (alpha on VLAN 10, bravo on VLAN 20)
/// with ports on one switch (SNMPv3 with authentication and privacy, secrets in files, a short timeout and
/// one resend, so a switch that hangs fails a trip's port stage soon while a busy machine's late answer still
/// counts); a switch that does not answer only alerts, so only the operator suspends; one approver restores.
/// </summary>
internal static class TwoClientSwitchSite
{
    /// <summary>Writes <c>site.yaml</c> (and the SNMP secrets) into <paramref name="directory"/>; the ports are YAML lists.</summary>
    public static string WritePolicy(string directory, string siteId, string siteName, string agentAddress, string alphaPorts, string bravoPorts)
    {
        var auth = Path.Combine(directory, "snmp.auth");
        var priv = Path.Combine(directory, "snmp.priv");
        File.WriteAllText(auth, SnmpdAgent.AuthPass);
        File.WriteAllText(priv, SnmpdAgent.PrivPass);
        var path = Path.Combine(directory, "site.yaml");
        File.WriteAllText(path, $$$"""
            site:
              id: {{{siteId}}}
              name: {{{siteName}}}
            controller:
              management:
                listen: ["127.0.0.1:9410"]
                api_keys_file: {{{Path.Combine(directory, "api-keys")}}}
              store:
                path: {{{Path.Combine(directory, "segctl.db")}}}
              on_verification_lost: alert
            infrastructure:
              management_vlans: [99]
              subnets: [127.0.0.0/24]
              proxy_addresses: [127.0.0.1]
            switches:
              - name: sw1
                address: {{{agentAddress}}}
                profile: qbridge
                timeout: 1s
                retries: 1
                poll_interval: 1h
                snmp:
                  version: v3
                  user: sha256
                  auth: {protocol: SHA-256, pass: {file: {{{auth}}}}}
                  priv: {protocol: AES, pass: {file: {{{priv}}}}}
            clients:
              - id: alpha
                name: Alpha Insurance
                contract_end: 2029-06-30
                segments:
                  - name: agents
                    vlans: [10]
                    subnets: [127.0.110.0/24]
                    ports:
                      - switch: sw1
                        ports: {{{alphaPorts}}}
              - id: bravo
                name: Bravo Telecom
                contract_end: 2028-12-31
                segments:
                  - name: agents
                    vlans: [20]
                    subnets: [127.0.120.0/24]
                    ports:
                      - switch: sw1
                        ports: {{{bravoPorts}}}
            restore:
              approvers: 1
            """);
        return path;
    }
}
