namespace SegmentController.Tests.Infrastructure;

/// <summary>
/// A small site policy the tests can really run: everything on loopback, no capture interface and no
/// switch, so a controller started with it talks to nothing but the test.
/// </summary>
internal static class TestSite
{
    public static string WritePolicy(string directory, string siteId = "test-site", string? apiKeysFile = null, string? certificateFile = null, string? keyFile = null)
    {
        var path = Path.Combine(directory, "site.yaml");
        File.WriteAllText(path, $"""
            site:
              id: {siteId}
              name: Test site on loopback
            controller:
              management:
                listen: ["127.0.0.1:9410"]{(apiKeysFile is null ? "" : $"\n    api_keys_file: {apiKeysFile}")}{(certificateFile is null ? "" : $"\n    certificate:\n      file: {certificateFile}\n      key_file: {keyFile}")}
              store:
                path: {Path.Combine(directory, "segctl.db")}
              on_verification_lost: suspend
            infrastructure:
              management_vlans: [10]
              subnets: [127.0.0.0/24]
              proxy_addresses: [127.0.0.1]
            switches: []
            clients:
              - id: alpha
                name: Alpha Insurance
                contract_end: 2029-06-30
                segments:
                  - name: agents
                    vlans: [110]
                    subnets: [127.0.110.0/24]
              - id: beta
                name: Beta Telecom
                contract_end: 2028-12-31
                segments:
                  - name: agents
                    vlans: [120]
                    subnets: [127.0.120.0/24]
            """);
        return path;
    }
}
