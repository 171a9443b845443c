using YamlDotNet.RepresentationModel;

namespace SegmentController.Core.Policy.Loading;

/// <summary>Collects every error of one load; nothing short-circuits on the first.</summary>
internal sealed class PolicyDiagnostics
{
    /// <summary>Beyond this many errors the rest add nothing a reader can act on.</summary>
    public const int MaxErrors = 500;

    private readonly List<(Position At, string Message, int Order)> _errors = [];
    private bool _truncated;

    public bool HasErrors => _errors.Count > 0;

    public int Count => _errors.Count;

    public void Add(Position at, string message)
    {
        if (_errors.Count >= MaxErrors)
        {
            _truncated = true;
            return;
        }

        _errors.Add((at, message, _errors.Count));
    }

    public void Add(YamlNode node, string message) => Add(Position.Of(node.Start), message);

    /// <summary>The errors in file order (ties keep the order they were found in).</summary>
    public IReadOnlyList<PolicyError> ToErrors(string file)
    {
        var errors = _errors
            .OrderBy(e => e.At.Line).ThenBy(e => e.At.Column).ThenBy(e => e.Order)
            .Select(e => new PolicyError { File = file, Line = e.At.Line, Column = e.At.Column, Message = e.Message })
            .ToList();
        if (_truncated)
        {
            errors.Add(new PolicyError { File = file, Message = $"more than {MaxErrors} errors; the rest are not shown" });
        }

        return errors;
    }
}
