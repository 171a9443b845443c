using SegmentController.Core.Findings;

namespace SegmentController.Capture.Rules;

/// <summary>The per-flow capture rules as bits, so a flow carries the set it breaks in one field.</summary>
[Flags]
internal enum CaptureRules : uint
{
    None = 0,
    CrossClientFlow = 1 << 0,
    VlanSubnetMismatch = 1 << 1,
    VlanHopping = 1 << 2,
    ProxyBypass = 1 << 3,
    CleartextToClient = 1 << 4,
    WeakTls = 1 << 5,
    UnknownVlan = 1 << 6,
    UnknownMac = 1 << 7,
    ArpSpoofing = 1 << 8,
}

/// <summary>Maps <see cref="CaptureRules"/> bits to DESIGN.md rule ids.</summary>
internal static class CaptureRuleIds
{
    public static string Of(CaptureRules rule) => rule switch
    {
        CaptureRules.CrossClientFlow => RuleIds.CrossClientFlow,
        CaptureRules.VlanSubnetMismatch => RuleIds.VlanSubnetMismatch,
        CaptureRules.VlanHopping => RuleIds.VlanHopping,
        CaptureRules.ProxyBypass => RuleIds.ProxyBypass,
        CaptureRules.CleartextToClient => RuleIds.CleartextToClient,
        CaptureRules.WeakTls => RuleIds.WeakTls,
        CaptureRules.UnknownVlan => RuleIds.UnknownVlan,
        CaptureRules.UnknownMac => RuleIds.UnknownMac,
        CaptureRules.ArpSpoofing => RuleIds.ArpSpoofing,
        _ => throw new ArgumentOutOfRangeException(nameof(rule)),
    };
}
