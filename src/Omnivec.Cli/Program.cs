using System.CommandLine;
using Omnivec;
using Omnivec.Cli;

// Exit codes (documented in the README): 0 success; 1 an input, model, store or service failed; 2 the command line is
// wrong; 3 an unexpected internal error (a bug); 130 cancelled. Every failure ends in one "error: ..." line on stderr.
StartupTrace.Start();
StartupWarmup.Start(args);
RootCommand root = CliApp.BuildRootCommand();
try
{
    // Option defaults come from the environment and the config file, so parsing can already report a bad setting.
    ParseResult parse = root.Parse(args);
    StartupTrace.Mark("command line parsed");
    // A misspelt option where a command takes free arguments (search's query, tokenize's texts) would otherwise become an
    // argument: "--tpo" is refused like any unknown option. Values that really start with "--" go after a "--" separator.
    string? unknownOption = parse.Tokens.TakeWhile(t => t.Type != System.CommandLine.Parsing.TokenType.DoubleDash)
        .FirstOrDefault(t => t.Type == System.CommandLine.Parsing.TokenType.Argument && LooksLikeAnOption(t.Value))?.Value;
    if (unknownOption is not null && parse.Action is not System.CommandLine.Help.HelpAction)
    {
        Output.Error($"Unrecognized option '{unknownOption}' (see '{string.Join(' ', ["omnivec", .. CommandPath(parse.CommandResult)])} --help'; put values that start with '--' after a '--')");
        return ExitCodes.Usage;
    }

    if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
    {
        string command = string.Join(' ', parse.CommandResult.Command is RootCommand ? ["omnivec"] : ["omnivec", .. CommandPath(parse.CommandResult)]);
        // One line: the most specific message first (an unknown word explains a "required command" error that follows it).
        IEnumerable<string> messages = parse.Errors.Select(e => e.Message.TrimEnd('.'))
            .OrderBy(m => m.StartsWith("Unrecognized", StringComparison.Ordinal) ? 0 : 1).Distinct();
        Output.Error($"{string.Join("; ", messages)} (see '{command} --help')");
        return ExitCodes.Usage;
    }

    // Our own errors are for people: print the message, not a stack trace.
    // `serve` leaves SIGTERM and Ctrl+C to the web host, which shuts down gracefully (stops accepting, finishes requests
    // in flight within ShutdownTimeout, releases the model and the store) and then returns 0; every other command is
    // cancelled by them (exit 130).
    bool serving = parse.CommandResult.Command.Name == "serve" && parse.CommandResult.Parent is System.CommandLine.Parsing.CommandResult { Command: RootCommand };
    return await parse.InvokeAsync(new InvocationConfiguration
    {
        EnableDefaultExceptionHandler = false,
        ProcessTerminationTimeout = serving ? null : new InvocationConfiguration().ProcessTerminationTimeout,
    }).ConfigureAwait(false);
}
catch (OmnivecException ex)
{
    Output.Error(ex.Message);
    return ExitCodes.Failure;
}
catch (OperationCanceledException)
{
    Output.Error("cancelled");
    return ExitCodes.Cancelled;
}
catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
{
    // The file system refused something (a full disk, a vanished file): the environment, not a bug.
    Output.Error(ex.Message);
    return ExitCodes.Failure;
}
catch (Exception ex)
{
    // Nothing escapes as an unhandled exception; what reaches here is a bug to fix with a typed error.
    Output.Error($"internal error ({ex.GetType().Name}): {ex.Message}. This is a bug in omnivec; please report it.");
    return ExitCodes.InternalError;
}
finally
{
    // ONNX Runtime's native start-up must not be cut by the process exiting under it (a search that fails early, e.g.
    // on a missing collection, ended in SIGSEGV, exit 139).
    StartupWarmup.Finish();
}

static bool LooksLikeAnOption(string token) =>
    token.Length > 2 && token.StartsWith("--", StringComparison.Ordinal) && char.IsAsciiLetter(token[2])
    && token.Skip(3).All(c => char.IsAsciiLetterOrDigit(c) || c == '-');

static IEnumerable<string> CommandPath(System.CommandLine.Parsing.CommandResult? result)
{
    var names = new Stack<string>();
    for (; result is not null && result.Command is not RootCommand; result = result.Parent as System.CommandLine.Parsing.CommandResult)
    {
        names.Push(result.Command.Name);
    }

    return names;
}
