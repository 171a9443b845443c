using System.CommandLine;
using SegmentController.Core.Suspension;
using SegmentController.Hosting;
using SegmentController.Logging;

namespace SegmentController.Cli;

/// <summary>
/// <c>segctl state init --policy FILE</c>: lays out the empty suspension state for a site's first start. Where
/// the policy says the controller is in service (<c>controller.in_service: true</c>) a start that finds no
/// state suspends every client; this is how a new site's first start is told apart from a lost data directory.
/// </summary>
internal static class StateCommands
{
    public static Command Create()
    {
        var command = new Command("state", "The controller's suspension state (suspension.state beside the evidence store).");
        command.Subcommands.Add(CreateInit());
        return command;
    }

    private static Command CreateInit()
    {
        var policyOption = new Option<FileInfo>("--policy")
        {
            Description = "The site policy (YAML): the state is laid out beside its controller.store.path.",
            Required = true,
        };
        var command = new Command("init", "Lay out the empty suspension state (no client suspended) for the site's first start, before 'segctl run'. Refused when the state exists or the evidence store shows a controller ran here. Exit 0 laid out, 2 error.")
        {
            policyOption,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var path = parseResult.GetRequiredValue(policyOption).FullName;
            var opened = await PolicyFile.OpenReportingAsync(path, error);
            if (opened.Provider is null)
            {
                await error.WriteLineAsync(PrintableText.Escape($"segctl: {path}: the policy does not load; nothing laid out"));
                return CliApplication.ExitError;
            }

            var policy = opened.Provider.Current;
            var statePath = SuspensionStateFile.For(policy);
            if (Path.Exists(statePath))
            {
                await error.WriteLineAsync(PrintableText.Escape($"segctl: {statePath} already exists: the controller reads it at start; nothing laid out"));
                return CliApplication.ExitError;
            }

            // An empty state beside the records of a controller that ran would let every client it had
            // suspended through at the next start: that state is lost, not new.
            if (StoreAtStart.Of(policy.Controller.Store.Path).RanBefore is { } ranBefore)
            {
                await error.WriteLineAsync(PrintableText.Escape(
                    $"segctl: {statePath} does not exist, but {ranBefore}: its suspension state is lost, and an empty one would let every client it suspended through. "
                    + "Put the state file back, or start the controller (every client suspended) and lift the suspension with the restore; nothing laid out"));
                return CliApplication.ExitError;
            }

            try
            {
                new FileSuspensionStateStore(statePath).LayOut();
            }
            catch (IOException e)
            {
                await error.WriteLineAsync(PrintableText.Escape($"segctl: cannot lay out the suspension state: {e.Message}"));
                return CliApplication.ExitError;
            }

            await output.WriteLineAsync(PrintableText.Escape($"{statePath}: empty suspension state laid out for the first start of site {policy.Site.Id} (no client suspended)"));
            if (!policy.Controller.InService)
            {
                await output.WriteLineAsync(PrintableText.Escape($"note: {path} does not set controller.in_service: true, so a start that finds no suspension state still starts with no client suspended"));
            }

            await output.FlushAsync(cancellationToken);
            return CliApplication.ExitClean;
        });
        return command;
    }
}
