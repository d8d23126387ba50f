using System.CommandLine;
using Omnivec;
using Omnivec.Cli;

RootCommand root = CliApp.BuildRootCommand();
try
{
    // Option defaults come from the environment and the config file, so parsing can already report a bad setting.
    ParseResult parse = root.Parse(args);
    // Our own errors are for people: print the message, not a stack trace.
    return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }).ConfigureAwait(false);
}
catch (OmnivecException ex)
{
    Output.Error(ex.Message);
    return 1;
}
catch (OperationCanceledException)
{
    Output.Error("cancelled");
    return 130;
}
