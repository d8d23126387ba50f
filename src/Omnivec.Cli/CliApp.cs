using System.CommandLine;

namespace Omnivec.Cli;

/// <summary>The <c>omnivec</c> command tree. Commands stay thin: parsing and printing here, the work in the libraries.</summary>
internal static class CliApp
{
    public static RootCommand BuildRootCommand()
    {
        var root = new RootCommand("Omnivec: text and images in one vector space. Embed, index and search with local CLIP models or cloud providers.");
        root.Subcommands.Add(EmbedCommand.Create());
        root.Subcommands.Add(TokenizeCommand.Create());
        root.Subcommands.Add(IndexCommand.Create());
        root.Subcommands.Add(SearchCommands.CreateSearch());
        root.Subcommands.Add(SearchCommands.CreateSimilar());
        root.Subcommands.Add(ClassifyCommand.Create());
        root.Subcommands.Add(CollectionCommands.CreateDedupe());
        root.Subcommands.Add(CollectionCommands.CreateList());
        root.Subcommands.Add(ModelsCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(McpCommand.Create());
        root.Subcommands.Add(DoctorCommand.Create());
        root.Subcommands.Add(ConfigCommand.Create());
        return root;
    }
}
