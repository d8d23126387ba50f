using System.CommandLine;
using Omnivec.Index;
using Omnivec.Index.Postgres;

namespace Omnivec.Cli;

/// <summary>--store and --collection: where collections live and which one a command uses.</summary>
internal sealed class CollectionOptions
{
    public Option<string?> Store { get; } = new("--store")
    {
        Description = "Where collections live: a folder, or a PostgreSQL URI (postgresql://user:password@host:port/database). Default: OMNIVEC_STORE, \"store\" in the config file, else $OMNIVEC_HOME/collections, else ~/.local/share/omnivec/collections.",
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

    public IVectorStore OpenStore(ParseResult parse) => StoreLocation.Open(Location(parse));

    /// <summary>--store, else the configured store (OMNIVEC_STORE, the config file), else the default folder (a URI keeps its password: not for messages).</summary>
    public string Location(ParseResult parse) => StoreLocation.Resolve(StoreSetting(parse));

    /// <summary>The --store flag, else the configured or default store.</summary>
    public string StoreSetting(ParseResult parse) =>
        parse.GetValue(Store) is { Length: > 0 } store ? store : CliSettings.Current.Value("store") ?? CollectionStore.DefaultRoot;

    public string Name(ParseResult parse) => parse.GetValue(Collection) ?? "default";
}
