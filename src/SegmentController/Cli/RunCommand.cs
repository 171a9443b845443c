using System.CommandLine;
using SegmentController.Core.Policy;
using SegmentController.Hosting;

namespace SegmentController.Cli;

/// <summary><c>segctl run --policy FILE</c>: the service.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var policyOption = new Option<FileInfo>("--policy")
        {
            Description = "The site policy (YAML).",
            Required = true,
        };
        var managementOption = new Option<string[]>("--management-listen")
        {
            Description = "Serve the management listener (API, /metrics, /healthz) on these address:port endpoints instead of the policy's; port 0 picks a free port.",
            AllowMultipleArgumentsPerToken = true,
        };

        var command = new Command("run", "Run the controller: verify isolation, enforce suspensions, serve the management listener.")
        {
            policyOption,
            managementOption,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var path = parseResult.GetRequiredValue(policyOption).FullName;
            var opened = await PolicyFile.OpenReportingAsync(path, error);
            if (opened.Provider is null)
            {
                await error.WriteLineAsync($"segctl: {path}: the policy does not load; the controller did not start");
                return CliApplication.ExitError;
            }

            var overrides = parseResult.GetValue(managementOption);
            await using var app = ControllerHost.Build(opened.Provider, overrides is { Length: > 0 } ? overrides : null);
            await app.StartAsync(cancellationToken);
            var policy = opened.Provider.Current;
            await output.WriteLineAsync($"segctl {ControllerHost.Version}: site {policy.Site.Id} ({policy.Clients.Count} clients), policy sha256 {policy.Sha256}");
            foreach (var address in app.BoundAddresses())
            {
                await output.WriteLineAsync($"management listener: {address}");
            }

            await output.FlushAsync(cancellationToken);
            await app.WaitForShutdownAsync(cancellationToken);
            return CliApplication.ExitClean;
        });
        return command;
    }
}
