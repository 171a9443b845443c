using System.CommandLine;

namespace SegmentController.Cli;

/// <summary>
/// The <c>segctl</c> command tree. Every command writes to the configured output and error writers,
/// so tests run them in-process exactly as a user would from a shell.
/// </summary>
internal static class CliApplication
{
    /// <summary>Exit code of a command that judged and found nothing wrong.</summary>
    public const int ExitClean = 0;

    /// <summary>Exit code of a command that found violations (or invalid input it was asked to judge).</summary>
    public const int ExitViolations = 1;

    /// <summary>Exit code for bad input, an unreachable peer or a usage error.</summary>
    public const int ExitError = 2;

    /// <summary>Builds the root command with every area's commands.</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("SegmentController: proves client isolation at an outsourcing site and cuts a client off when it breaks.");
        foreach (var create in CommandFactories)
        {
            root.Subcommands.Add(create());
        }

        return root;
    }

    /// <summary>Each area contributes one factory here.</summary>
    private static readonly Func<Command>[] CommandFactories =
    [
        RunCommand.Create,
        StateCommands.Create,
        PolicyCommands.Create,
        CaptureCommands.CreatePcap, CaptureCommands.CreateCapture,
        LogCommands.Create,
        IncidentCommands.Create,
        SnmpCommands.Create,
        OperatorCommands.CreateStatus, OperatorCommands.CreateSuspend, OperatorCommands.CreateRestore, OperatorCommands.CreateApprove, OperatorCommands.CreateIncidents,
        AuditCommands.Create,
    ];

    /// <summary>Parses and runs <paramref name="args"/>; usage errors exit 2.</summary>
    public static async Task<int> InvokeAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var parseResult = BuildRoot().Parse(args);
        // An option no command knows, where the command takes positional arguments, is parsed as one of them.
        var takenAsArguments = ParseErrorText.OptionsTakenAsArguments(parseResult);
        if (parseResult.Errors.Count > 0 || takenAsArguments.Count > 0)
        {
            // Never the value of a secret option, nor what follows an option the command does not take.
            var tokens = takenAsArguments.Select(t => t.Token).ToHashSet(StringComparer.Ordinal);
            foreach (var line in takenAsArguments.Select(t => t.Line).Concat(parseResult.Errors.Count > 0 ? ParseErrorText.Lines(parseResult, args, tokens) : []))
            {
                await error.WriteLineAsync($"segctl: {line}");
            }

            await error.WriteLineAsync("Run 'segctl --help' for usage.");
            return ExitError;
        }

        var configuration = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        try
        {
            return await parseResult.InvokeAsync(configuration, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("segctl: cancelled");
            return ExitError;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or FormatException)
        {
            // A command that met bad input or an unusable environment says so plainly; anything else
            // is a defect and keeps its stack trace.
            await error.WriteLineAsync($"segctl: error: {e.Message}");
            return ExitError;
        }
    }
}
