using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SegmentController.Core.Findings;
using SegmentController.Core.Policy;
using SegmentController.Snmp.Inventory;
using SegmentController.Snmp.Polling;
using SegmentController.Snmp.Protocol;
using SegmentController.Snmp.Security;
using SegmentController.Snmp.Shutdown;
using SegmentController.Snmp.Transport;
using SegmentController.Snmp.Walking;

namespace SegmentController.Cli;

/// <summary>
/// <c>segctl snmp walk|inventory|check|shut|restore</c>. Credentials come from options or, for the
/// secrets, from SEGCTL_SNMP_COMMUNITY, SEGCTL_SNMP_AUTH_PASS and SEGCTL_SNMP_PRIV_PASS; they are never
/// printed. An agent that does not answer or rejects the credentials is exit 2.
/// </summary>
internal static class SnmpCommands
{
    public const string CommunityVariable = "SEGCTL_SNMP_COMMUNITY";
    public const string AuthPassVariable = "SEGCTL_SNMP_AUTH_PASS";
    public const string PrivPassVariable = "SEGCTL_SNMP_PRIV_PASS";

    private static readonly JsonWriterOptions JsonOptions = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var snmp = new Command("snmp", "Talk to switches over SNMP: walk, inventory, isolation checks, port shutdown.");
        snmp.Subcommands.Add(CreateWalk());
        snmp.Subcommands.Add(CreateInventory());
        snmp.Subcommands.Add(CreateCheck());
        snmp.Subcommands.Add(CreatePortAction("shut", "Shut a client's switch ports (ifAdminStatus down), verified by reading back.", up: false));
        snmp.Subcommands.Add(CreatePortAction("restore", "Bring a client's switch ports back up (ifAdminStatus up), verified by reading back.", up: true));
        return snmp;
    }

    private static Command CreateWalk()
    {
        var target = TargetOption();
        var oid = new Argument<string>("OID") { Description = "Numeric OID of the subtree to walk, e.g. 1.3.6.1.2.1.2.2.1.2." };
        var repetitions = new Option<int>("--max-repetitions") { Description = $"GETBULK max-repetitions, 1–{SwitchDefinition.MaxRepetitionsLimit} (snmpbulkwalk's -Cr).", DefaultValueFactory = _ => 10 };
        var json = JsonOption();
        var credentials = new CredentialOptions();
        var command = new Command("walk", "Walk a subtree with GETBULK; prints what 'snmpbulkwalk -On' prints.") { target, oid, repetitions, json };
        credentials.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => Guarded(parseResult, async (output, error) =>
        {
            var root = Oid.Parse(parseResult.GetRequiredValue(oid));
            await using var client = await ConnectAsync(parseResult, target, credentials, error, cancellationToken);
            var rows = await TableWalker.WalkSubtreeAsync(client, root, parseResult.GetValue(repetitions), Context(parseResult, credentials), cancellationToken: cancellationToken);
            if (parseResult.GetValue(json))
            {
                await WriteJsonAsync(output, writer =>
                {
                    writer.WriteStartArray();
                    foreach (var row in rows)
                    {
                        writer.WriteStartObject();
                        writer.WriteString("oid", row.Oid.ToString());
                        writer.WriteString("type", row.Value.Type.ToString());
                        writer.WriteString("value", row.Value.Type is SnmpType.OctetString or SnmpType.Opaque && !IsText(row.Value.Bytes) ? Convert.ToHexString(row.Value.Bytes) : row.Value.AsText());
                        writer.WriteEndObject();
                    }

                    writer.WriteEndArray();
                });
            }
            else
            {
                var text = new StringBuilder();
                foreach (var row in rows)
                {
                    text.Append(row.Oid).Append(" = ").Append(row.Value).Append('\n');
                }

                await output.WriteAsync(text.ToString());
            }

            return CliApplication.ExitClean;
        }));
        return command;
    }

    private static Command CreateInventory()
    {
        var target = TargetOption();
        var profile = new Option<string>("--profile") { Description = "Vendor profile: qbridge (IF/BRIDGE/Q-BRIDGE-MIB) or cisco (VTP, VLAN membership, per-VLAN FDB).", DefaultValueFactory = _ => "qbridge" };
        var repetitions = new Option<int>("--max-repetitions") { Description = $"GETBULK max-repetitions: rows of every column asked per request, 1–{SwitchDefinition.MaxRepetitionsLimit}.", DefaultValueFactory = _ => 25 };
        var json = JsonOption();
        var credentials = new CredentialOptions();
        var command = new Command("inventory", "Read a switch's ports, VLANs and learned MACs.") { target, profile, repetitions, json };
        credentials.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => Guarded(parseResult, async (output, error) =>
        {
            var driver = InventoryDrivers.For(InventoryDrivers.ParseProfile(parseResult.GetRequiredValue(profile)));
            await using var client = await ConnectAsync(parseResult, target, credentials, error, cancellationToken);
            var inventory = await driver.CollectAsync(client, parseResult.GetRequiredValue(target), parseResult.GetValue(repetitions), includeFdb: true, cancellationToken);
            if (parseResult.GetValue(json))
            {
                await WriteJsonAsync(output, writer => InventoryJson.Write(writer, inventory));
            }
            else
            {
                await output.WriteAsync(InventoryTable(inventory));
            }

            return CliApplication.ExitClean;
        }));
        return command;
    }

    private static Command CreateCheck()
    {
        var policy = PolicyOption();
        var json = JsonOption();
        var command = new Command("check", "Inventory every switch of the policy and report isolation findings (exit 0 clean, 1 findings, 2 a switch could not be read).") { policy, json };
        command.SetAction((parseResult, cancellationToken) => Guarded(parseResult, async (output, error) =>
        {
            var site = await LoadPolicyAsync(parseResult.GetRequiredValue(policy).FullName, error);
            if (site is null)
            {
                return CliApplication.ExitError;
            }

            var result = await new SiteAudit(TimeProvider.System).RunAsync(site, null, cancellationToken);
            if (parseResult.GetValue(json))
            {
                await WriteJsonAsync(output, writer => WriteCheck(writer, parseResult.GetRequiredValue(policy).FullName, site, result));
            }
            else
            {
                var text = new StringBuilder();
                foreach (var poll in result.Switches)
                {
                    text.Append(CultureInfo.InvariantCulture, $"switch {poll.Switch}: {(poll.Reachable ? $"{poll.Inventory!.Ports.Count} ports, {poll.Inventory.Vlans.Count} VLANs, {poll.Inventory.Fdb.Count} MACs" : "UNREACHABLE")} ({poll.Elapsed.TotalSeconds:0.000} s)\n");
                }

                foreach (var finding in result.Findings.OrderByDescending(f => f.Severity).ThenBy(f => f.Rule, StringComparer.Ordinal))
                {
                    text.Append(CultureInfo.InvariantCulture, $"{IdentifierNames.Of(finding.Severity),-8} {finding.Rule,-31} {finding.Summary}\n");
                }

                text.Append(CultureInfo.InvariantCulture, $"{result.Findings.Count} finding(s)\n");
                await output.WriteAsync(text.ToString());
            }

            foreach (var poll in result.Switches.Where(s => !s.Reachable))
            {
                await error.WriteLineAsync($"segctl: switch {poll.Switch}: {poll.Error}");
            }

            return result.Switches.Any(s => !s.Reachable) ? CliApplication.ExitError
                : result.Findings.Count > 0 ? CliApplication.ExitViolations
                : CliApplication.ExitClean;
        }));
        return command;
    }

    /// <summary>
    /// The check as one object, as <c>pcap analyze --json</c> prints its run: the policy, each switch checked
    /// (<c>switch</c>, <c>address</c>, <c>port</c>, <c>profile</c>, <c>reachable</c>, <c>seconds</c>, and its <c>ports</c>,
    /// <c>vlans</c> and <c>macs</c> counted when reachable, the <c>error</c> otherwise), then the findings.
    /// </summary>
    private static void WriteCheck(Utf8JsonWriter writer, string policyPath, SitePolicy site, SiteAuditResult result)
    {
        writer.WriteStartObject();
        writer.WriteString("policy", policyPath);
        writer.WriteStartArray("switches");
        foreach (var poll in result.Switches)
        {
            var definition = site.Switches.First(s => string.Equals(s.Name, poll.Switch, StringComparison.Ordinal));
            writer.WriteStartObject();
            writer.WriteString("switch", poll.Switch);
            writer.WriteString("address", definition.Address);
            writer.WriteNumber("port", definition.Port);
            writer.WriteString("profile", definition.Profile == SwitchProfile.Cisco ? "cisco" : "qbridge");
            writer.WriteBoolean("reachable", poll.Reachable);
            writer.WriteNumber("seconds", Math.Round(poll.Elapsed.TotalSeconds, 4));
            if (poll.Inventory is { } inventory)
            {
                writer.WriteNumber("ports", inventory.Ports.Count);
                writer.WriteNumber("vlans", inventory.Vlans.Count);
                writer.WriteNumber("macs", inventory.Fdb.Count);
                writer.WriteNull("error");
            }
            else
            {
                writer.WriteNull("ports");
                writer.WriteNull("vlans");
                writer.WriteNull("macs");
                writer.WriteString("error", poll.Error);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteStartArray("findings");
        foreach (var finding in result.Findings)
        {
            FindingJson.Write(writer, finding);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static Command CreatePortAction(string name, string description, bool up)
    {
        var policy = PolicyOption();
        var client = new Option<string>("--client") { Description = "The client id whose ports to act on.", Required = true };
        var json = JsonOption();
        var command = new Command(name, description + " Trunks, uplinks and shared ports are refused unless the client's kill.force_shut_ports names them (exit 0 all done, 1 some refused, 2 some failed).") { policy, client, json };
        command.SetAction((parseResult, cancellationToken) => Guarded(parseResult, async (output, error) =>
        {
            var site = await LoadPolicyAsync(parseResult.GetRequiredValue(policy).FullName, error);
            if (site is null)
            {
                return CliApplication.ExitError;
            }

            var clientId = parseResult.GetRequiredValue(client);
            if (site.FindClient(clientId) is null)
            {
                await error.WriteLineAsync($"segctl: the policy has no client '{clientId}'");
                return CliApplication.ExitError;
            }

            var shutdown = new PortShutdown(TimeProvider.System);
            var results = up
                ? await shutdown.RestoreAsync(site, clientId, cancellationToken)
                : await shutdown.ShutAsync(site, clientId, cancellationToken);
            if (parseResult.GetValue(json))
            {
                await WriteJsonAsync(output, writer =>
                {
                    writer.WriteStartArray();
                    foreach (var r in results)
                    {
                        writer.WriteStartObject();
                        writer.WriteString("switch", r.Switch);
                        writer.WriteString("port", r.Port);
                        if (r.IfIndex is { } ifIndex)
                        {
                            writer.WriteNumber("if_index", ifIndex);
                        }
                        else
                        {
                            writer.WriteNull("if_index");
                        }

                        writer.WriteString("action", r.Action);
                        writer.WriteString("outcome", r.Outcome.ToString().ToLowerInvariant());
                        writer.WriteString("detail", r.Detail);
                        writer.WriteNumber("seconds", Math.Round(r.Elapsed.TotalSeconds, 4));
                        writer.WriteEndObject();
                    }

                    writer.WriteEndArray();
                });
            }
            else
            {
                var text = new StringBuilder();
                foreach (var r in results)
                {
                    text.Append(CultureInfo.InvariantCulture, $"{r.Switch,-16} {r.Port,-16} {r.IfIndex?.ToString(CultureInfo.InvariantCulture) ?? "-",8} {r.Action,-8} {r.Outcome.ToString().ToLowerInvariant(),-8} {r.Elapsed.TotalSeconds,8:0.000}s  {r.Detail}\n");
                }

                await output.WriteAsync(text.ToString());
            }

            return results.Any(r => r.Outcome == PortActionOutcome.Failed) ? CliApplication.ExitError
                : results.Any(r => r.Outcome == PortActionOutcome.Refused) ? CliApplication.ExitViolations
                : CliApplication.ExitClean;
        }));
        return command;
    }

    private static async Task<int> Guarded(ParseResult parseResult, Func<TextWriter, TextWriter, Task<int>> body)
    {
        var output = parseResult.InvocationConfiguration.Output;
        var error = parseResult.InvocationConfiguration.Error;
        try
        {
            return await body(output, error);
        }
        catch (SnmpException e)
        {
            await error.WriteLineAsync($"segctl: {e.Message}");
            return CliApplication.ExitError;
        }
        catch (ArgumentException e)
        {
            await error.WriteLineAsync($"segctl: {e.Message}");
            return CliApplication.ExitError;
        }
    }

    /// <summary>
    /// Opens the client; credentials the <c>insecure-snmp</c> rule would report (v2c, no auth or no privacy,
    /// MD5, DES) get a warning on standard error, which leaves standard output as it is (JSON included).
    /// </summary>
    private static async Task<SnmpClient> ConnectAsync(ParseResult parseResult, Option<string> target, CredentialOptions credentials, TextWriter error, CancellationToken cancellationToken)
    {
        var options = new SnmpClientOptions
        {
            Timeout = TimeSpan.FromSeconds(parseResult.GetValue(credentials.Timeout)),
            Retries = parseResult.GetValue(credentials.Retries),
        };
        var resolved = credentials.Resolve(parseResult);
        var client = await SnmpClient.ConnectAsync(parseResult.GetRequiredValue(target), resolved, options, cancellationToken: cancellationToken);
        if (resolved.InsecurityReason() is { } reason)
        {
            await error.WriteLineAsync($"segctl: warning: insecure-snmp: {reason}; these credentials do not protect what is read from the switch");
        }

        return client;
    }

    private static SnmpContext? Context(ParseResult parseResult, CredentialOptions credentials) =>
        parseResult.GetValue(credentials.Context) is { Length: > 0 } context ? new SnmpContext(context, "") : null;

    private static async Task<SitePolicy?> LoadPolicyAsync(string path, TextWriter error)
    {
        var opened = await PolicyFile.OpenReportingAsync(path, error);
        if (opened.Provider is null)
        {
            await error.WriteLineAsync($"segctl: {path}: the policy does not load");
            return null;
        }

        return opened.Provider.Current;
    }

    private static string InventoryTable(SwitchInventory inventory)
    {
        var text = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        text.Append(inv, $"switch {inventory.Switch}: {inventory.Ports.Count} ports, {inventory.Vlans.Count} VLANs, {inventory.Fdb.Count} learned MACs\n\n");
        // UNTAGGED: the VLANs a port egresses untagged besides VLAN (its PVID), as a hybrid port does.
        text.Append(inv, $"{"IFINDEX",8}  {"NAME",-16} {"ADMIN",-6} {"OPER",-14} {"MODE",-6} {"VLAN",5}  {"UNTAGGED",-12} {"TAGGED",-20} ALIAS\n");
        foreach (var p in inventory.Ports)
        {
            var untagged = p.UntaggedVlans.Count == 0 ? "-" : string.Join(",", p.UntaggedVlans);
            text.Append(inv, $"{p.IfIndex,8}  {p.Name,-16} {p.Admin,-6} {p.Oper,-14} {(p.Mode == PortMode.Trunk ? "trunk" : "access"),-6} {p.AccessVlan?.ToString(inv) ?? "-",5}  {untagged,-12} {string.Join(",", p.TaggedVlans),-20} {p.Alias}\n");
        }

        text.Append(inv, $"\n{"VLAN",5}  NAME\n");
        foreach (var v in inventory.Vlans)
        {
            text.Append(inv, $"{v.Id,5}  {v.Name ?? "-"}\n");
        }

        text.Append(inv, $"\n{"MAC",-17}  {"VLAN",5}  {"IFINDEX",8}  PORT\n");
        var names = new Dictionary<int, string>();
        foreach (var port in inventory.Ports)
        {
            names.TryAdd(port.IfIndex, port.Name);
        }

        foreach (var f in inventory.Fdb)
        {
            text.Append(inv, $"{f.Mac,-17}  {f.Vlan,5}  {f.IfIndex?.ToString(inv) ?? "-",8}  {(f.IfIndex is { } i && names.TryGetValue(i, out var n) ? n : "-")}\n");
        }

        return text.ToString();
    }

    private static bool IsText(byte[] bytes) => bytes.All(b => b is >= 0x20 and < 0x7F or (byte)'\t' or (byte)'\n' or (byte)'\r');

    private static async Task WriteJsonAsync(TextWriter output, Action<Utf8JsonWriter> write)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, JsonOptions))
        {
            write(writer);
        }

        await output.WriteLineAsync(Encoding.UTF8.GetString(stream.ToArray()));
    }

    private static Option<string> TargetOption() => new("--target")
    {
        Description = "The agent: HOST[:PORT], [IPv6]:PORT or an IPv6 address (port 161 by default).",
        Required = true,
    };

    private static Option<FileInfo> PolicyOption() => new("--policy") { Description = "The site policy (YAML).", Required = true };

    private static Option<bool> JsonOption() => new("--json") { Description = "Print JSON instead of a table." };

    /// <summary>The credential options shared by walk and inventory.</summary>
    private sealed class CredentialOptions
    {
        public Option<string?> Community { get; } = new("--community") { Description = $"SNMPv2c community (or {CommunityVariable})." };

        public Option<string?> User { get; } = new("--user") { Description = "SNMPv3 user name (selects v3)." };

        public Option<string?> AuthProtocol { get; } = new("--auth-protocol") { Description = "SHA, SHA-224, SHA-256, SHA-384, SHA-512 (MD5 only with --allow-legacy)." };

        public Option<string?> AuthPass { get; } = new("--auth-pass") { Description = $"SNMPv3 authentication pass phrase (better: {AuthPassVariable})." };

        public Option<string?> PrivProtocol { get; } = new("--priv-protocol") { Description = "AES (DES only with --allow-legacy)." };

        public Option<string?> PrivPass { get; } = new("--priv-pass") { Description = $"SNMPv3 privacy pass phrase (better: {PrivPassVariable})." };

        public Option<string?> Context { get; } = new("--context") { Description = "SNMPv3 context name (e.g. vlan-10 on Cisco)." };

        public Option<bool> AllowLegacy { get; } = new("--allow-legacy") { Description = "Permit MD5 authentication and DES privacy (insecure)." };

        public Option<double> Timeout { get; } = Bounded(
            new Option<double>("--timeout") { Description = "Seconds to wait for each answer, 0.1–60 (a switch's timeout in the policy: 100ms–1m).", DefaultValueFactory = _ => 2 },
            seconds => seconds is >= 0.1 and <= 60,
            "--timeout must be from 0.1 to 60 seconds");

        public Option<int> Retries { get; } = Bounded(
            new Option<int>("--retries") { Description = "Retransmissions after the first attempt, 0–10.", DefaultValueFactory = _ => 2 },
            retries => retries is >= 0 and <= 10,
            "--retries must be from 0 to 10");

        // The policy's ranges for a switch's timeout and retries: outside them a walk would wait forever,
        // overflow a TimeSpan or count negative attempts.
        private static Option<T> Bounded<T>(Option<T> option, Func<T, bool> within, string rule)
        {
            option.Validators.Add(result =>
            {
                if (result.Tokens.Count > 0 && result.GetValueOrDefault<T>() is { } value && !within(value))
                {
                    result.AddError($"{rule}, not {result.Tokens[^1].Value}");
                }
            });
            return option;
        }

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { Community, User, AuthProtocol, AuthPass, PrivProtocol, PrivPass, Context, AllowLegacy, Timeout, Retries })
            {
                command.Options.Add(option);
            }
        }

        public SnmpCredentials Resolve(ParseResult parseResult)
        {
            var user = parseResult.GetValue(User);
            if (!string.IsNullOrEmpty(user))
            {
                try
                {
                    return new SnmpCredentials
                    {
                        Version = SnmpVersion.V3,
                        User = user,
                        AuthProtocol = parseResult.GetValue(AuthProtocol) is { Length: > 0 } auth ? AuthAlgorithm.Parse(auth) : null,
                        AuthPassphrase = parseResult.GetValue(AuthPass) ?? Environment.GetEnvironmentVariable(AuthPassVariable) ?? "",
                        PrivProtocol = parseResult.GetValue(PrivProtocol) is { Length: > 0 } priv ? PrivacyAlgorithm.Parse(priv) : null,
                        PrivPassphrase = parseResult.GetValue(PrivPass) ?? Environment.GetEnvironmentVariable(PrivPassVariable) ?? "",
                        Context = parseResult.GetValue(Context) ?? "",
                        AllowLegacy = parseResult.GetValue(AllowLegacy),
                    };
                }
                catch (FormatException e)
                {
                    throw new SnmpException(SnmpErrorKind.Configuration, e.Message, e);
                }
            }

            var community = parseResult.GetValue(Community) ?? Environment.GetEnvironmentVariable(CommunityVariable);
            return string.IsNullOrEmpty(community)
                ? throw new SnmpException(SnmpErrorKind.Configuration, $"no credentials: give --community (or {CommunityVariable}) for SNMPv2c, or --user with --auth-protocol/--priv-protocol for SNMPv3")
                : SnmpCredentials.V2c(community);
        }
    }
}
