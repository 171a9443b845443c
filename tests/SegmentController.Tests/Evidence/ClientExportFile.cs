using System.Text.Json;
using SegmentController.Cli;
using SegmentController.Core.Evidence;

namespace SegmentController.Tests.Evidence;

/// <summary>
/// One client's evidence export as <c>segctl log export --client</c> writes it (the CLI run in-process), read
/// back as its JSON lines; and the in-process CLI and a stored record's payload, for the tests that check it.
/// </summary>
internal sealed record ClientExportFile(string Path, string Text, JsonElement[] Lines)
{
    /// <summary>Exports <paramref name="client"/>'s records of <paramref name="store"/> to <paramref name="path"/>.</summary>
    public static async Task<ClientExportFile> WriteAsync(string store, string client, string path)
    {
        var (exit, _, error) = await SegctlAsync("log", "export", "--store", store, "--client", client, "--out", path);
        Assert.True(exit == 0, error);
        var text = await File.ReadAllTextAsync(path);
        return new ClientExportFile(path, text, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToArray());
    }

    /// <summary><c>segctl</c> with <paramref name="args"/>, in-process: its exit code and what it wrote to each stream.</summary>
    public static async Task<(int Exit, string Output, string Error)> SegctlAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await CliApplication.InvokeAsync(args, output, error, CancellationToken.None);
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>A stored record's payload as JSON.</summary>
    public static JsonElement Payload(StoredRecord record)
    {
        using var document = JsonDocument.Parse(record.Payload!.Value);
        return document.RootElement.Clone();
    }
}
