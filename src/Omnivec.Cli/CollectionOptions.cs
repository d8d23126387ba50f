using System.CommandLine;
using Omnivec.Index;

namespace Omnivec.Cli;

/// <summary>--store and --collection: where collections live and which one a command uses.</summary>
internal sealed class CollectionOptions
{
    public Option<string?> Store { get; } = new("--store")
    {
        Description = "Folder holding the collections. Default: $OMNIVEC_HOME, else ~/.local/share/omnivec.",
    };

    public Option<string> Collection { get; } = new("--collection", "-c")
    {
        Description = "Collection name.",
        DefaultValueFactory = _ => "default",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Store);
        command.Options.Add(Collection);
    }

    public IVectorStore OpenStore(ParseResult parse)
    {
        string root = parse.GetValue(Store) is { Length: > 0 } store ? Path.GetFullPath(store) : CollectionStore.DefaultRoot;
        return new CollectionStore(root);
    }

    public string Name(ParseResult parse) => parse.GetValue(Collection) ?? "default";
}
