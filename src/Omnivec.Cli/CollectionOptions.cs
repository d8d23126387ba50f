using System.CommandLine;
using Omnivec.Index;

namespace Omnivec.Cli;

/// <summary>--store and --collection: where collections live and which one a command uses.</summary>
internal sealed class CollectionOptions
{
    public Option<string?> Store { get; } = new("--store")
    {
        Description = "Folder holding the collections. Default: OMNIVEC_STORE, \"store\" in the config file, else $OMNIVEC_HOME/collections, else ~/.local/share/omnivec/collections.",
    };

    public Option<string> Collection { get; } = new("--collection", "-c")
    {
        Description = "Collection name.",
        DefaultValueFactory = _ => CliSettings.Current.Value("collection") ?? "default",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Store);
        command.Options.Add(Collection);
    }

    public IVectorStore OpenStore(ParseResult parse)
    {
        string store = StoreSetting(parse);
        if (store.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || store.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidInputException("This build of omnivec has no PostgreSQL store; --store (or OMNIVEC_STORE, or \"store\" in the config file) must be a folder.");
        }

        return new CollectionStore(Path.GetFullPath(store));
    }

    /// <summary>The --store flag, else the configured or default store.</summary>
    public string StoreSetting(ParseResult parse) =>
        parse.GetValue(Store) is { Length: > 0 } store ? store : CliSettings.Current.Value("store") ?? CollectionStore.DefaultRoot;

    public string Name(ParseResult parse) => parse.GetValue(Collection) ?? "default";
}
