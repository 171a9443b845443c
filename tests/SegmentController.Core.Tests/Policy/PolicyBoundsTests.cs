using System.Text;
using SegmentController.Core.Policy;

namespace SegmentController.Core.Tests.Policy;

/// <summary>Checks whose cost grows with the square of what a file lists are bounded; what they report stays exact.</summary>
public sealed class PolicyBoundsTests
{
    [Fact]
    public void ManyUndefinedSwitches_EachReported_OnlyTheFirstHundredWithAHint()
    {
        var text = File.ReadAllText(PolicyFiles.Broken("undefined-switch.yaml"));
        var trunks = string.Concat(Enumerable.Range(1, 150).Select(i => $"    - switch: sw2\n      ports: [p{i}]\n"));
        text = text.Replace("  trunk_ports:\n", "  trunk_ports:\n" + trunks, StringComparison.Ordinal);

        var result = PolicyLoader.Load(Encoding.UTF8.GetBytes(text), "many.yaml");

        var undefined = result.Errors.Where(e => e.Message.Contains("switch 'sw2' is not defined", StringComparison.Ordinal)).ToList();
        Assert.Equal(151, undefined.Count);
        Assert.Equal(100, undefined.Count(e => e.Message.Contains("did you mean 'sw1'?", StringComparison.Ordinal)));
    }

    [Fact]
    public void MoreAgentSubjectsThanTheBound_OneErrorNamingTheBound()
    {
        var text = File.ReadAllText(PolicyFiles.Broken("agent-certificate-subjects-overlap.yaml"));
        var many = string.Join(", ", Enumerable.Range(0, AgentCertificateBound + 1).Select(i => $"\"O=Alpha, CN=agent-{i}\""));
        text = text.Replace("subjects: [\"O=Acme Outsourcing\"]", $"subjects: [{many}]", StringComparison.Ordinal)
            .Replace("subjects: [\"O=Acme Outsourcing, OU=Beta agents\", \"OU=Beta agents, O=Beta\"]", "subjects: [\"O=Beta\"]", StringComparison.Ordinal);

        var result = PolicyLoader.Load(Encoding.UTF8.GetBytes(text), "subjects.yaml");

        var error = Assert.Single(result.Errors);
        Assert.Contains($"{AgentCertificateBound + 2} agent certificate subjects; at most {AgentCertificateBound}", error.Message, StringComparison.Ordinal);
    }

    private const int AgentCertificateBound = 2000;
}
