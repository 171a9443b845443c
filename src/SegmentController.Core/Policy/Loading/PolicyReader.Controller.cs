using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace SegmentController.Core.Policy.Loading;

internal sealed partial class PolicyReader
{
    private static readonly string[] ControllerKeys = ["proxy", "management", "capture", "store", "on_verification_lost", "in_service"];
    private static readonly string[] ProxyKeys = ["listen", "certificate", "upstream_ca", "require_client_certificate", "client_ca"];
    private static readonly string[] ManagementKeys = ["listen", "certificate", "api_keys_file"];
    private static readonly string[] CertificateKeys = ["file", "key_file", "password"];
    private static readonly string[] CaptureKeys = ["interfaces", "loss_threshold", "silence", "qinq", "segment_tag", "evidence_directory", "evidence_max_mib", "arp_bindings"];
    private static readonly string[] CaptureInterfaceKeys = ["name", "snaplen", "buffer_mib", "filter", "promiscuous"];
    private static readonly string[] StoreKeys = ["path", "signing_key_file", "previous_signing_key_file", "checkpoint_interval"];

    private static readonly Dictionary<string, VerificationLostAction> VerificationLostActions = new(StringComparer.Ordinal)
    {
        ["suspend"] = VerificationLostAction.Suspend,
        ["alert"] = VerificationLostAction.Alert,
    };

    private static readonly Dictionary<string, SegmentTag> SegmentTags = new(StringComparer.Ordinal)
    {
        ["inner"] = SegmentTag.Inner,
        ["outer"] = SegmentTag.Outer,
    };

    private ControllerSettings ReadController(YamlMap map)
    {
        var defaults = new ControllerSettings();
        return new ControllerSettings
        {
            Proxy = _values.Section(map, "proxy", "proxy", ProxyKeys) is { } proxy ? ReadProxy(proxy) : defaults.Proxy,
            Management = _values.Section(map, "management", "management", ManagementKeys) is { } management ? ReadManagement(management) : defaults.Management,
            Capture = _values.Section(map, "capture", "capture", CaptureKeys) is { } capture ? ReadCapture(capture) : defaults.Capture,
            Store = _values.Section(map, "store", "store", StoreKeys) is { } store ? ReadStore(store) : defaults.Store,
            OnVerificationLost = _values.Choice(map, "on_verification_lost", VerificationLostActions) ?? defaults.OnVerificationLost,
            InService = _values.Bool(map, "in_service") ?? defaults.InService,
        };
    }

    private ProxySettings ReadProxy(YamlMap map)
    {
        var defaults = new ProxySettings();
        return new ProxySettings
        {
            Listen = ReadEndpoints(map, "listen", defaults.Listen),
            Certificate = ReadCertificate(map, "proxy"),
            UpstreamCaFile = CaBundle(map, "upstream_ca"),
            RequireClientCertificate = ReadRequireClientCertificate(map) ?? defaults.RequireClientCertificate,
            ClientCaFile = ReadClientCa(map),
        };
    }

    private bool? ReadRequireClientCertificate(YamlMap map)
    {
        var value = _values.Bool(map, "require_client_certificate");
        Facts.ClientCertificates.Required = value == true ? Position.Of(map["require_client_certificate"]!.Start) : null;
        return value;
    }

    private string? ReadClientCa(YamlMap map)
    {
        var path = CaBundle(map, "client_ca");
        Facts.ClientCertificates.ClientCa = path is null ? null : Position.Of(map["client_ca"]!.Start);
        return path;
    }

    /// <summary>The path of a PEM bundle of CA certificates, noted for the check that it can be read.</summary>
    private string? CaBundle(YamlMap map, string key)
    {
        var path = Path(map, key);
        if (path is not null)
        {
            Facts.CaBundles.Add(new Claim<string>(key, path, Position.Of(map[key]!.Start)));
        }

        return path;
    }

    private ManagementSettings ReadManagement(YamlMap map)
    {
        var defaults = new ManagementSettings();
        return new ManagementSettings
        {
            Listen = ReadEndpoints(map, "listen", defaults.Listen),
            Certificate = ReadCertificate(map, "management"),
            ApiKeysFile = Path(map, "api_keys_file"),
        };
    }

    /// <summary>A served certificate, noted (with <paramref name="section"/>) for the check that its files load.</summary>
    private CertificateReference? ReadCertificate(YamlMap parent, string section)
    {
        var map = _values.Section(parent, "certificate", "certificate", CertificateKeys);
        if (map is null)
        {
            return null;
        }

        var reference = new CertificateReference
        {
            File = Path(map, "file", required: true) ?? "",
            KeyFile = Path(map, "key_file"),
            Password = _values.Secret(map, "password"),
        };
        if (reference.File.Length > 0)
        {
            var keyFileAt = reference.KeyFile is null ? (Position?)null : Position.Of(map["key_file"]!.Start);
            var passwordAt = reference.Password is null ? (Position?)null : Position.Of(map["password"]!.Start);
            Facts.Certificates.Add(new Claim<CertificateFact>(section, new CertificateFact(reference, keyFileAt, passwordAt), Position.Of(map["file"]!.Start)));
        }

        return reference;
    }

    private CaptureSettings ReadCapture(YamlMap map)
    {
        var defaults = new CaptureSettings();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var interfaces = ReadList(map, "interfaces", required: false, node =>
        {
            var entry = YamlMap.Open(node, "capture interface", CaptureInterfaceKeys, Diagnostics);
            if (entry is null)
            {
                return null;
            }

            var nameNode = _values.Scalar(entry, "name", required: true);
            var name = nameNode?.Value;
            if (nameNode is not null && name is not null)
            {
                if (!InterfaceName().IsMatch(name))
                {
                    Diagnostics.Add(nameNode, $"'{YamlMap.Printable(name)}' is not an interface name");
                }
                else if (seen.TryGetValue(name, out var line))
                {
                    Diagnostics.Add(nameNode, $"capture interface '{name}' is listed twice (first at line {line})");
                }
                else
                {
                    seen[name] = Position.Of(nameNode.Start).Line;
                }
            }

            var interfaceDefaults = new CaptureInterface { Name = "" };
            return new CaptureInterface
            {
                Name = name ?? "",
                SnapLength = _values.Int(entry, "snaplen", 64, 262_144) ?? interfaceDefaults.SnapLength,
                BufferMiB = _values.Int(entry, "buffer_mib", 1, 4096) ?? interfaceDefaults.BufferMiB,
                Filter = _values.Text(entry, "filter", maxLength: 4096),
                Promiscuous = _values.Bool(entry, "promiscuous") ?? interfaceDefaults.Promiscuous,
            };
        });

        var qinq = _values.Bool(map, "qinq") ?? defaults.QinQ;
        var segmentTag = _values.Choice(map, "segment_tag", SegmentTags) ?? defaults.SegmentTag;
        if (segmentTag == SegmentTag.Outer && !qinq)
        {
            // Without QinQ a frame carries one tag, and a stack is vlan-hopping: 'outer' would change nothing a
            // frame is judged by, and most likely means that 'qinq: true' was forgotten.
            Diagnostics.Add(_values.Scalar(map, "segment_tag")!, "'segment_tag: outer' in capture needs 'qinq: true': a site without QinQ has one tag per frame (stacked tags are vlan-hopping there)");
        }

        return new CaptureSettings
        {
            Interfaces = interfaces,
            LossThreshold = _values.Fraction(map, "loss_threshold") ?? defaults.LossThreshold,
            Silence = _values.Duration(map, "silence", TimeSpan.FromSeconds(1)) ?? defaults.Silence,
            QinQ = qinq,
            SegmentTag = segmentTag,
            EvidenceDirectory = Path(map, "evidence_directory"),
            EvidenceMaxMiB = _values.Int(map, "evidence_max_mib", 1, 1_048_576) ?? defaults.EvidenceMaxMiB,
            ArpBindings = _values.Int(map, "arp_bindings", CaptureSettings.MinArpBindings, CaptureSettings.MaxArpBindings) ?? defaults.ArpBindings,
        };
    }

    private StoreSettings ReadStore(YamlMap map)
    {
        var defaults = new StoreSettings();
        return new StoreSettings
        {
            Path = Path(map, "path") ?? defaults.Path,
            SigningKeyFile = Path(map, "signing_key_file"),
            PreviousSigningKeyFile = Path(map, "previous_signing_key_file"),
            CheckpointInterval = _values.Duration(map, "checkpoint_interval", TimeSpan.FromSeconds(1), StoreSettings.MaxCheckpointInterval) ?? defaults.CheckpointInterval,
        };
    }

    /// <summary>A file path: one line, no control characters.</summary>
    private string? Path(YamlMap map, string key, bool required = false) => _values.Text(map, key, required, maxLength: 4096);

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}\z")]
    private static partial Regex InterfaceName();
}
