using System.CommandLine;
using Microsoft.Extensions.Logging;
using Omnivec.Index;
using Omnivec.Mcp;
using Spectre.Console;

namespace Omnivec.Cli;

/// <summary><c>omnivec mcp</c>: the search tools for AI assistants, as a Model Context Protocol server over stdin/stdout.</summary>
internal static class McpCommand
{
    public static Command Create()
    {
        var embedder = new EmbedderOptions();
        var collection = new CollectionOptions();
        var language = new LanguageOption();
        var command = new Command("mcp",
            "Serve search, similar, classify and list_collections to an AI assistant over stdio (Model Context Protocol). " +
            "--collection is the default collection of the tools; --model etc. apply as in search.");
        embedder.AddTo(command);
        collection.AddTo(command);
        language.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            // stdout carries the protocol only: anything else that prints (a model download's progress, a stray
            // Console.WriteLine) goes to stderr. The transport writes to the raw stdout stream, not Console.Out.
            TextWriter stdout = Console.Out;
            Console.SetOut(Console.Error);
            AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            try
            {
                using ILoggerFactory logging = LoggerFactory.Create(b => b
                    .SetMinimumLevel(LogLevel.Warning)
                    .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
                using var host = new CliMcpHost(parse, embedder, collection, language);
                Console.Error.WriteLine($"omnivec: MCP server on stdio (collections in {host.StoreLocation}, default collection '{host.DefaultCollection}')");
                // Models load when first asked for; each one told its query language says which it reads when it loads.
                Console.Error.WriteLine($"omnivec: queries that name no language are read in {language.Choice(parse)} by models that are told one (NLLB-CLIP).");
                await OmnivecMcp.RunStdioAsync(host, logging, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Console.SetOut(stdout);
            }

            return 0;
        });
        return command;
    }

    /// <summary>The command line's store: collections stay open for the session; one embedder per model, loaded when first needed.</summary>
    private sealed class CliMcpHost(ParseResult parse, EmbedderOptions embedder, CollectionOptions collectionOptions, LanguageOption language) : IMcpCollectionHost, IDisposable
    {
        private readonly IVectorStore _store = collectionOptions.OpenStore(parse);
        private readonly Dictionary<string, IVectorCollection> _open = new(StringComparer.Ordinal);
        private readonly Dictionary<string, Task<IMultimodalEmbeddingGenerator>> _embedders = new(StringComparer.Ordinal);
        private readonly Lock _gate = new();

        public string StoreLocation => _store.Location;

        public string DefaultCollection { get; } = collectionOptions.Name(parse);

        public bool CanReadLocalFiles => true;

        public IReadOnlyList<CollectionInfo> ListCollections() => _store.List();

        public McpCollectionLease OpenCollection(string name)
        {
            lock (_gate)
            {
                if (!_open.TryGetValue(name, out IVectorCollection? collection))
                {
                    collection = _store.Open(name);
                    _open[name] = collection;
                }

                return new McpCollectionLease(collection);
            }
        }

        public async Task<IMultimodalEmbeddingGenerator> GetEmbedderAsync(IVectorCollection? collection, CancellationToken cancellationToken)
        {
            // Collections of one model share its embedder; the model loads once, whoever asks first.
            string key = collection?.Space.ToString() ?? "";
            Task<IMultimodalEmbeddingGenerator> loading;
            lock (_gate)
            {
                if (!_embedders.TryGetValue(key, out loading!))
                {
                    loading = LoadAsync(collection);
                    _embedders[key] = loading;
                }
            }

            try
            {
                return await loading.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (loading.IsFaulted)
            {
                // A failed load (model missing, offline) is reported to this call and tried again by the next.
                lock (_gate)
                {
                    _embedders.Remove(key);
                }

                throw;
            }
        }

        private async Task<IMultimodalEmbeddingGenerator> LoadAsync(IVectorCollection? collection)
        {
            IMultimodalEmbeddingGenerator loaded = language.Apply(parse,
                await EmbedderFactory.CreateAsync(parse, embedder, collection, CancellationToken.None).ConfigureAwait(false));
            LanguageOption.Report(loaded, language.Choice(parse));
            return loaded;
        }

        public string DisplayPath(string collection, string path) => path;

        public void Dispose()
        {
            lock (_gate)
            {
                foreach (IVectorCollection collection in _open.Values)
                {
                    collection.Dispose();
                }

                foreach (Task<IMultimodalEmbeddingGenerator> loading in _embedders.Values)
                {
                    if (loading.IsCompletedSuccessfully)
                    {
                        loading.Result.Dispose();
                    }
                }

                _open.Clear();
                _embedders.Clear();
            }
        }
    }
}
