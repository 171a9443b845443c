using SegmentController.Cli;

return await CliApplication.InvokeAsync(args, Console.Out, Console.Error, CancellationToken.None);
