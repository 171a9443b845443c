using SegmentController.Capture.Classification;
using SegmentController.Capture.Sources;

namespace SegmentController.Capture.Rules;

/// <summary>Runs a capture source to its end through a fresh analyzer (pcap analyze, tests, benchmarks).</summary>
internal static class OfflineAnalysis
{
    public static CaptureReport Run(ICaptureSource source, PolicyIndex index, DateTimeOffset observedAt, CaptureAnalyzerOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(index);
        var analyzer = new CaptureAnalyzer(index, source.Name, options);
        source.Run(analyzer, cancellationToken);
        var warning = source is PcapFileSource file ? file.TruncationError : null;
        var findings = analyzer.AllFindings(observedAt)
            .OrderByDescending(f => f.Severity)
            .ThenBy(f => f.Rule, StringComparer.Ordinal)
            .ThenBy(f => f.Summary, StringComparer.Ordinal)
            .ToArray();
        return new CaptureReport(analyzer.Packets, analyzer.DecodeErrors, findings, analyzer.Violations(), warning);
    }
}
