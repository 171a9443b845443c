using System.CommandLine;
using SegmentController.Core.Policy;

namespace SegmentController.Cli;

/// <summary><c>segctl policy check FILE…</c> and <c>segctl policy show FILE [--json]</c>.</summary>
internal static class PolicyCommands
{
    public static Command Create()
    {
        var command = new Command("policy", "Check and show site policies.");
        command.Subcommands.Add(CreateCheck());
        command.Subcommands.Add(CreateShow());
        return command;
    }

    private static Command CreateCheck()
    {
        var files = new Argument<string[]>("file")
        {
            Description = "Policy files (YAML) to check.",
            Arity = ArgumentArity.OneOrMore,
        };
        var command = new Command("check", "Validate policy files: prints 'FILE: ok' or every error as FILE:LINE:COL: message. Exit 0 all valid, 1 any invalid, 2 any unreadable.")
        {
            files,
        };
        command.SetAction(parseResult => Check(
            parseResult.GetRequiredValue(files),
            parseResult.InvocationConfiguration.Output,
            parseResult.InvocationConfiguration.Error));
        return command;
    }

    private static Command CreateShow()
    {
        var file = new Argument<string>("file") { Description = "The policy file (YAML)." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text." };
        var command = new Command("show", "Summarize a policy: site, clients with contract end and retention, segments, subnets, ports, upstreams, switches. Never prints secrets.")
        {
            file,
            json,
        };
        command.SetAction(parseResult => Show(
            parseResult.GetRequiredValue(file),
            parseResult.GetValue(json),
            parseResult.InvocationConfiguration.Output,
            parseResult.InvocationConfiguration.Error));
        return command;
    }

    internal static int Check(IReadOnlyList<string> files, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var exit = CliApplication.ExitClean;
        foreach (var file in files)
        {
            var result = PolicyLoader.LoadFile(file);
            if (result.Policy is not null)
            {
                output.WriteLine($"{file}: ok");
                continue;
            }

            foreach (var e in result.Errors)
            {
                error.WriteLine(e.ToString());
            }

            exit = Math.Max(exit, result.Unreadable ? CliApplication.ExitError : CliApplication.ExitViolations);
        }

        return exit;
    }

    internal static int Show(string file, bool json, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var result = PolicyLoader.LoadFile(file);
        if (result.Policy is null)
        {
            foreach (var e in result.Errors)
            {
                error.WriteLine(e.ToString());
            }

            return result.Unreadable ? CliApplication.ExitError : CliApplication.ExitViolations;
        }

        output.Write(json ? PolicySummary.ToJson(result.Policy) : PolicySummary.ToText(result.Policy));
        return CliApplication.ExitClean;
    }
}
