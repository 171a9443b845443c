namespace SegmentController.Core.Tests.Policy;

public sealed class ForceShutPortTests
{
    [Fact]
    public void ForceShutPortsOfAnotherClient_AreReportedOncePerEntryNamingTheOwner()
    {
        var result = PolicyLoaderTests.Load(WithForceShutPorts("[Gi1/0/5-8]"));

        var error = Assert.Single(result.Errors);
        Assert.Equal(13, error.Line);
        Assert.Equal("port Gi1/0/5 on switch 'sw' in force_shut_ports is assigned to client 'beta' (line 12); suspending this client must not shut another client's port", error.Message);
    }

    [Fact]
    public void ForceShutPortThatNobodyOwns_IsReported()
    {
        var result = PolicyLoaderTests.Load(WithForceShutPorts("[Gi1/0/99]"));

        Assert.StartsWith("port Gi1/0/99 on switch 'sw' in force_shut_ports is neither a port of this client nor an infrastructure trunk port", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[Te1/1/1]")]
    [InlineData("[te1/1/1-2]")]
    [InlineData("[Gi1/0/1-4]")]
    [InlineData("[gi1/0/2, Te1/1/2]")]
    public void ForceShutPortsThatAreTrunksOrTheClientsOwn_AreAccepted(string ports)
    {
        var result = PolicyLoaderTests.Load(WithForceShutPorts(ports));

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
    }

    [Fact]
    public void ForceShutPortsOnAnUndefinedSwitch_AreReportedOnlyAsTheUndefinedSwitch()
    {
        var result = PolicyLoaderTests.Load(WithForceShutPorts("[Gi1/0/99]").Replace("{switch: sw, ports: [Gi1/0/99]}", "{switch: sw9, ports: [Gi1/0/99]}", StringComparison.Ordinal));

        Assert.StartsWith("switch 'sw9' is not defined under switches", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    /// <summary>Client alpha (ports Gi1/0/1-4) force-shuts <paramref name="ports"/> on line 13; beta has Gi1/0/5-8 (line 12).</summary>
    private static string WithForceShutPorts(string ports) => """
        site: {id: s, name: S}
        infrastructure:
          trunk_ports: [{switch: sw, ports: [Te1/1/1-2]}]
        switches:
          - name: sw
            address: 10.0.0.2
            snmp: {user: u, auth: {protocol: SHA, pass: {env: A}}}
        clients:
          - id: beta
            name: Beta
            contract_end: 2030-01-01
            segments: [{name: s, vlans: [102], ports: [{switch: sw, ports: [Gi1/0/5-8]}]}]
          - {id: alpha, name: Alpha, contract_end: 2030-01-01, segments: [{name: s, vlans: [101], ports: [{switch: sw, ports: [Gi1/0/1-4]}]}], kill: {force_shut_ports: [{switch: sw, ports: PORTS}]}}
        """.Replace("PORTS", ports, StringComparison.Ordinal);
}
