using SegmentController.Core.Policy;
using SegmentController.Snmp.Protocol;
using SegmentController.Snmp.Security;
using SegmentController.Snmp.Tests.Infrastructure;
using SegmentController.Snmp.Transport;
using SegmentController.Snmp.Walking;

namespace SegmentController.Snmp.Tests.Transport;

public sealed class SnmpdTests(SnmpdFixture fixture) : IClassFixture<SnmpdFixture>
{
    private static readonly Oid SysDescr = Oid.Parse("1.3.6.1.2.1.1.1.0");
    private static readonly Oid SysContact = Oid.Parse("1.3.6.1.2.1.1.4.0");
    // The agent's sysORTable: three columns (OIDs, strings, time ticks) over its registered MIB modules, fixed
    // once it runs. Not the interface table: the agent runs in the machine's own network namespace, where
    // other tests add and remove interfaces between one walk and the next.
    private static readonly Oid SysOrTable = Oid.Parse("1.3.6.1.2.1.1.9.1");

    private static readonly SnmpClientOptions Quick = new() { Timeout = TimeSpan.FromMilliseconds(500), Retries = 1 };

    // For an exchange whose outcome hangs on what snmpd answers (a Report, or the engine discovery before a
    // request it drops): a busy machine's late answer is not taken for silence, nor drawn out by a resend.
    private static readonly SnmpClientOptions Answered = new() { Timeout = TimeSpan.FromSeconds(3), Retries = 1 };

    internal static SnmpCredentials V3(string user, SnmpAuthProtocol auth, SnmpPrivProtocol? priv = SnmpPrivProtocol.Aes128, string authPass = SnmpdAgent.AuthPass, string privPass = SnmpdAgent.PrivPass, bool legacy = false) => new()
    {
        Version = SnmpVersion.V3,
        User = user,
        AuthProtocol = auth,
        AuthPassphrase = authPass,
        PrivProtocol = priv,
        PrivPassphrase = priv is null ? "" : privPass,
        AllowLegacy = legacy,
    };

    [Fact]
    public async Task V2cGet_SysDescr_ReturnsAgentString()
    {
        await using var client = await SnmpClient.ConnectAsync(fixture.Agent.Target, SnmpCredentials.V2c(SnmpdAgent.ReadCommunity));
        var result = await client.GetAsync([SysDescr]);
        Assert.Equal(SnmpType.OctetString, result[0].Value.Type);
        Assert.StartsWith("Linux", result[0].Value.AsText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task V2cBulkWalk_SysOrTable_EqualsSnmpbulkwalkOutput()
    {
        await using var client = await SnmpClient.ConnectAsync(fixture.Agent.Target, SnmpCredentials.V2c(SnmpdAgent.ReadCommunity));
        var ours = await TableWalker.WalkSubtreeAsync(client, SysOrTable, 10);
        var theirs = await ExternalProcess.CheckedAsync("snmpbulkwalk", "-v2c", "-c", SnmpdAgent.ReadCommunity, "-On", fixture.Agent.Target, SysOrTable.ToDotted());
        Assert.NotEmpty(ours);
        Assert.Equal(theirs, string.Concat(ours.Select(v => v + "\n")));
    }

    [Theory]
    [InlineData("sha1", SnmpAuthProtocol.Sha1, "SHA")]
    [InlineData("sha224", SnmpAuthProtocol.Sha224, "SHA-224")]
    [InlineData("sha256", SnmpAuthProtocol.Sha256, "SHA-256")]
    [InlineData("sha384", SnmpAuthProtocol.Sha384, "SHA-384")]
    [InlineData("sha512", SnmpAuthProtocol.Sha512, "SHA-512")]
    public async Task V3AuthPrivAes_Walk_EqualsSnmpbulkwalkOutput(string user, SnmpAuthProtocol auth, string netSnmpName)
    {
        await using var client = await SnmpClient.ConnectAsync(fixture.Agent.Target, V3(user, auth));
        var ours = await TableWalker.WalkSubtreeAsync(client, SysOrTable, 3);
        var theirs = await ExternalProcess.CheckedAsync(
            "snmpbulkwalk", "-v3", "-l", "authPriv", "-u", user, "-a", netSnmpName, "-A", SnmpdAgent.AuthPass, "-x", "AES", "-X", SnmpdAgent.PrivPass,
            "-On", fixture.Agent.Target, SysOrTable.ToDotted());
        Assert.Equal(theirs, string.Concat(ours.Select(v => v + "\n")));
        Assert.Equal(0, client.Statistics.AuthenticationFailures);
    }

    [Fact]
    public async Task V3AuthNoPriv_Get_ReturnsWhatSnmpgetReturns()
    {
        await using var client = await SnmpClient.ConnectAsync(fixture.Agent.Target, V3("sha256np", SnmpAuthProtocol.Sha256, priv: null));
        var result = await client.GetAsync([SysDescr, SysContact]);
        var theirs = await ExternalProcess.CheckedAsync(
            "snmpget", "-v3", "-l", "authNoPriv", "-u", "sha256np", "-a", "SHA-256", "-A", SnmpdAgent.AuthPass,
            "-On", fixture.Agent.Target, SysDescr.ToDotted(), SysContact.ToDotted());
        Assert.Equal(theirs, string.Concat(result.Select(v => v + "\n")));
        Assert.Equal([SysDescr, SysContact], result.Select(v => v.Oid));
        Assert.Equal(SnmpType.OctetString, result[0].Value.Type);
        Assert.Equal(0, client.Statistics.AuthenticationFailures);
        Assert.Contains("authNoPriv", client.Credentials.InsecurityReason(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task V3LegacyMd5Des_AllowedByPolicy_WorksAndIsReportedInsecure()
    {
        await using var client = await SnmpClient.ConnectAsync(fixture.Agent.Target, V3("md5des", SnmpAuthProtocol.Md5, SnmpPrivProtocol.Des, legacy: true));
        var result = await client.GetAsync([SysDescr]);
        Assert.StartsWith("Linux", result[0].Value.AsText(), StringComparison.Ordinal);
        Assert.Contains("MD5", client.Credentials.InsecurityReason(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task V3LegacyMd5_NotAllowed_RefusedBeforeSending()
    {
        var e = await Assert.ThrowsAsync<SnmpException>(() => SnmpClient.ConnectAsync(fixture.Agent.Target, V3("md5des", SnmpAuthProtocol.Md5, SnmpPrivProtocol.Des)));
        Assert.Equal(SnmpErrorKind.Configuration, e.Kind);
        Assert.Contains("legacy", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task V3WrongAuthPass_FailsWithWrongDigest()
    {
        await using var client = await SnmpClient.ConnectAsync(fixture.Agent.Target, V3("sha256", SnmpAuthProtocol.Sha256, authPass: "not-the-password"), Answered);
        var e = await Assert.ThrowsAsync<SnmpException>(() => client.GetAsync([SysDescr]));
        Assert.Equal(SnmpErrorKind.WrongDigest, e.Kind);
        Assert.True(e.IsCredentialRejection);
        Assert.Contains("wrong authentication pass phrase", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task V3UnknownUser_FailsWithUnknownUser()
    {
        await using var client = await SnmpClient.ConnectAsync(fixture.Agent.Target, V3("nobody-here", SnmpAuthProtocol.Sha256), Answered);
        var e = await Assert.ThrowsAsync<SnmpException>(() => client.GetAsync([SysDescr]));
        Assert.Equal(SnmpErrorKind.UnknownUser, e.Kind);
        Assert.Contains("nobody-here", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task V3WrongPrivPass_NetSnmpStaysSilent_TimeoutNamesThePrivacyPassPhrase()
    {
        // net-snmp authenticates the request, fails to parse what the wrong key decrypts ("error parsing
        // ScopedPDU" in its log) and answers nothing: no usmStatsDecryptionErrors report comes back.
        await using var client = await SnmpClient.ConnectAsync(fixture.Agent.Target, V3("sha256", SnmpAuthProtocol.Sha256, privPass: "wrong-priv-pass"), Answered);
        var e = await Assert.ThrowsAsync<SnmpException>(() => client.GetAsync([SysDescr]));
        Assert.Equal(SnmpErrorKind.Timeout, e.Kind);
        Assert.False(e.IsCredentialRejection);
        Assert.Contains("answered engine discovery", e.Message, StringComparison.Ordinal);
        Assert.Contains("wrong privacy pass phrase or protocol for user 'sha256'", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-priv-pass", e.Message, StringComparison.Ordinal);
        Assert.NotNull(client.EngineId);
        var statistics = client.Statistics;
        // Discovery answered; the request itself was sent twice (one retry) and drew nothing at all.
        Assert.Equal(1, statistics.Received);
        Assert.Equal(3, statistics.Sent);
        Assert.Equal(0, statistics.AuthenticationFailures + statistics.Malformed + statistics.Unmatched + statistics.WrongEngine);
    }

    [Fact]
    public async Task AgentRestartedWithAnotherEngineId_SameClientRediscoversAndKeepsWorking()
    {
        await using var agent = await SnmpdAgent.StartAsync(engineId: "segctl-engine-one");
        await using var client = await SnmpClient.ConnectAsync(agent.Target, V3("sha256", SnmpAuthProtocol.Sha256), new SnmpClientOptions { Timeout = TimeSpan.FromSeconds(2), Retries = 1 });
        var before = await client.GetAsync([SysDescr]);
        // net-snmp builds a text engine id as 80 00 1F 88 04 followed by the text.
        Assert.Equal("segctl-engine-one"u8.ToArray(), client.EngineId![5..]);
        var requestsBefore = client.Statistics.Requests;

        await agent.RestartAsync("segctl-engine-two");
        var after = await client.GetAsync([SysDescr]);

        Assert.Equal(before[0].Value.AsText(), after[0].Value.AsText());
        Assert.Equal("segctl-engine-two"u8.ToArray(), client.EngineId![5..]);
        // The request the new agent reported as an unknown engine id, the rediscovery, the request again.
        Assert.Equal(3, client.Statistics.Requests - requestsBefore);
        Assert.Equal(0, client.Statistics.WrongEngine);
        Assert.Equal(0, client.Statistics.AuthenticationFailures);
    }

    [Fact]
    public async Task AgentRestartedWithTheSameEngineId_BootsReset_ClientKeepsWorking()
    {
        await using var agent = await SnmpdAgent.StartAsync(engineId: "segctl-engine-same");
        var clock = new ShiftableTimeProvider();
        await using var client = await SnmpClient.ConnectAsync(agent.Target, V3("sha512", SnmpAuthProtocol.Sha512), time: clock);
        await client.GetAsync([SysDescr]);
        var engine = client.EngineId;
        // Our estimate of the agent's clock runs far ahead of the restarted agent's.
        clock.Shift(TimeSpan.FromHours(3));
        await agent.RestartAsync("segctl-engine-same");
        var after = await client.GetAsync([SysDescr]);
        Assert.StartsWith("Linux", after[0].Value.AsText(), StringComparison.Ordinal);
        Assert.Equal(engine, client.EngineId);
    }

    [Fact]
    public async Task V2cWrongCommunity_TimesOutWithClearError()
    {
        await using var client = await SnmpClient.ConnectAsync(fixture.Agent.Target, SnmpCredentials.V2c("wrong-community"), Quick);
        var e = await Assert.ThrowsAsync<SnmpException>(() => client.GetAsync([SysDescr]));
        Assert.Equal(SnmpErrorKind.Timeout, e.Kind);
        Assert.Contains("community rejected", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task V3Set_SysContact_ReadsBack()
    {
        await using var client = await SnmpClient.ConnectAsync(fixture.Agent.Target, V3("sha512", SnmpAuthProtocol.Sha512));
        var contact = $"noc-{Guid.NewGuid():N}";
        await client.SetAsync([new VarBind(SysContact, SnmpValue.OctetString(contact))]);
        var result = await client.GetAsync([SysContact]);
        Assert.Equal(contact, result[0].Value.AsText());
    }

    [Fact]
    public async Task V3ClockFarAhead_NotInTimeWindow_ResynchronisesAndSucceeds()
    {
        var clock = new ShiftableTimeProvider();
        await using var client = await SnmpClient.ConnectAsync(fixture.Agent.Target, V3("sha256", SnmpAuthProtocol.Sha256), time: clock);
        await client.GetAsync([SysDescr]);
        clock.Shift(TimeSpan.FromHours(2));
        var result = await client.GetAsync([SysDescr]);
        Assert.StartsWith("Linux", result[0].Value.AsText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoClientsSameCredentials_PasswordExpandedOnce()
    {
        var keys = new UsmKeys();
        await using (var first = await SnmpClient.ConnectAsync(fixture.Agent.Target, V3("sha256", SnmpAuthProtocol.Sha256), keys: keys))
        {
            await first.GetAsync([SysDescr]);
        }

        await using (var second = await SnmpClient.ConnectAsync(fixture.Agent.Target, V3("sha256", SnmpAuthProtocol.Sha256), keys: keys))
        {
            await second.GetAsync([SysDescr]);
        }

        // One expansion for the auth pass phrase, one for the privacy pass phrase.
        Assert.Equal(2, keys.MasterKeyComputations);
    }

    [Fact]
    public async Task NoSuchObject_IsReturnedAsExceptionValue()
    {
        await using var client = await SnmpClient.ConnectAsync(fixture.Agent.Target, SnmpCredentials.V2c(SnmpdAgent.ReadCommunity));
        var result = await client.GetAsync([Oid.Parse("1.3.6.1.2.1.1.99.0"), Oid.Parse("1.3.6.1.2.1.1.1.99")]);
        Assert.All(result, v => Assert.True(v.Value.IsException));
    }

    [Fact]
    public async Task Ipv6Agent_V3Get_Works()
    {
        await using var agent = await SnmpdAgent.StartAsync("::1");
        await using var client = await SnmpClient.ConnectAsync(agent.Target, V3("sha256", SnmpAuthProtocol.Sha256));
        var result = await client.GetAsync([SysDescr]);
        Assert.StartsWith("Linux", result[0].Value.AsText(), StringComparison.Ordinal);
        Assert.Equal(System.Net.Sockets.AddressFamily.InterNetworkV6, client.Endpoint.AddressFamily);
    }

    [Fact]
    public async Task ManyConcurrentRequests_AllAnsweredWithinInFlightBound()
    {
        await using var client = await SnmpClient.ConnectAsync(fixture.Agent.Target, SnmpCredentials.V2c(SnmpdAgent.ReadCommunity), new SnmpClientOptions { MaxInFlight = 3 });
        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => client.GetAsync([SysDescr])));
        Assert.All(results, r => Assert.StartsWith("Linux", r[0].Value.AsText(), StringComparison.Ordinal));
        var statistics = client.Statistics;
        Assert.Equal(0, statistics.Unmatched);
        Assert.Equal(50, statistics.Requests);
        // Fifty callers at once never had more than three requests outstanding, and did run side by side.
        Assert.InRange(statistics.PeakInFlight, 2, 3);
    }

    [Theory]
    [InlineData("1.3.6.1.2.1.1.1.0")]
    [InlineData("1.3.6.1.2.1.1.5.0")]
    [InlineData("1.3.6.1.2.1.1.99")]
    [InlineData("1.3.6.1.2.1.1.1.7")]
    [InlineData("1.3.6.1.9")]
    public async Task WalkOfScalarOrEmptySubtree_EqualsSnmpbulkwalk(string oid)
    {
        await using var client = await SnmpClient.ConnectAsync(fixture.Agent.Target, SnmpCredentials.V2c(SnmpdAgent.ReadCommunity));
        var ours = await TableWalker.WalkSubtreeAsync(client, Oid.Parse(oid), 10);
        var theirs = await ExternalProcess.CheckedAsync("snmpbulkwalk", "-v2c", "-c", SnmpdAgent.ReadCommunity, "-On", fixture.Agent.Target, oid);
        Assert.NotEmpty(ours);
        Assert.Equal(theirs, string.Concat(ours.Select(v => v + "\n")));
    }
}
