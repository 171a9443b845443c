using System.CommandLine;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SegmentController.Core.Policy;

namespace SegmentController.Cli;

/// <summary><c>segctl policy check FILE… [--json]</c> and <c>segctl policy show FILE [--json]</c>.</summary>
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
        var json = new Option<bool>("--json") { Description = "Print one JSON object on standard output: per file, whether it is valid and every error with its file, line and column." };
        var syntaxOnly = new Option<bool>("--syntax-only") { Description = "Check the policy text alone: do not read the CA bundles (upstream_ca, client_ca) and certificates it names, e.g. on a machine other than the controller." };
        var command = new Command("check", "Validate policy files, and read the CA bundles and load the certificates they name: prints 'FILE: ok' or every error as FILE:LINE:COL: message (or, with --json, one JSON object). Exit 0 all valid, 1 any invalid, 2 any unreadable.")
        {
            files,
            json,
            syntaxOnly,
        };
        command.SetAction(parseResult => Check(
            parseResult.GetRequiredValue(files),
            parseResult.GetValue(json),
            parseResult.InvocationConfiguration.Output,
            parseResult.InvocationConfiguration.Error,
            readReferencedFiles: !parseResult.GetValue(syntaxOnly)));
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

    internal static int Check(IReadOnlyList<string> files, bool json, TextWriter output, TextWriter error, bool readReferencedFiles = true)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var exit = CliApplication.ExitClean;
        var checkedFiles = new List<(string File, PolicyLoadResult Result)>(files.Count);
        foreach (var file in files)
        {
            var result = PolicyLoader.LoadFile(file, readReferencedFiles);
            checkedFiles.Add((file, result));
            if (result.Policy is not null)
            {
                if (!json)
                {
                    output.WriteLine($"{file}: ok");
                }

                continue;
            }

            if (!json)
            {
                foreach (var e in result.Errors)
                {
                    error.WriteLine(e.ToString());
                }
            }

            exit = Math.Max(exit, result.Unreadable ? CliApplication.ExitError : CliApplication.ExitViolations);
        }

        if (json)
        {
            output.WriteLine(CheckJson(checkedFiles));
        }

        return exit;
    }

    /// <summary>
    /// <c>{"valid": bool, "files": [{"file", "status": "valid"|"invalid"|"unreadable", "valid", "errors": [{"file", "line", "column", "message"}]}]}</c>;
    /// <c>line</c> and <c>column</c> are null for a problem with the file as a whole.
    /// </summary>
    private static string CheckJson(List<(string File, PolicyLoadResult Result)> checkedFiles)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteBoolean("valid", checkedFiles.TrueForAll(f => f.Result.Policy is not null));
            w.WriteStartArray("files");
            foreach (var (file, result) in checkedFiles)
            {
                w.WriteStartObject();
                w.WriteString("file", file);
                w.WriteString("status", result.Policy is not null ? "valid" : result.Unreadable ? "unreadable" : "invalid");
                w.WriteBoolean("valid", result.Policy is not null);
                w.WriteStartArray("errors");
                foreach (var e in result.Errors)
                {
                    w.WriteStartObject();
                    w.WriteString("file", e.File);
                    if (e.Line > 0)
                    {
                        w.WriteNumber("line", e.Line);
                        w.WriteNumber("column", e.Column);
                    }
                    else
                    {
                        w.WriteNull("line");
                        w.WriteNull("column");
                    }

                    w.WriteString("message", e.Message);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
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
