using Omnivec.Index;

namespace Omnivec.Mcp;

/// <summary>
/// Where the MCP tools find collections and the models that search them. The command line (<c>omnivec mcp</c>, over
/// stdio) and the server (<c>/mcp</c>) each implement it over their own store; the tools are the same.
/// </summary>
public interface IMcpCollectionHost
{
    /// <summary>The collection a tool call uses when it names none.</summary>
    string DefaultCollection { get; }

    /// <summary>
    /// True when tool arguments may name files on this machine (image paths): the local stdio server. A network server
    /// answers false and takes images as base64 data instead, so a remote caller cannot read the server's disk.
    /// </summary>
    bool CanReadLocalFiles { get; }

    /// <summary>Every collection of the store.</summary>
    IReadOnlyList<CollectionInfo> ListCollections();

    /// <summary>An existing collection for the duration of one tool call (dispose the lease when done).</summary>
    /// <exception cref="CollectionNotFoundException">There is no collection of that name.</exception>
    McpCollectionLease OpenCollection(string name);

    /// <summary>
    /// The embedder for queries against <paramref name="collection"/> (the model that filled it), or the default one when
    /// it is null. The host owns what it returns.
    /// </summary>
    Task<IMultimodalEmbeddingGenerator> GetEmbedderAsync(IVectorCollection? collection, CancellationToken cancellationToken);

    /// <summary>How a result shows an item's file path (a network server may hide where its files live).</summary>
    string DisplayPath(string collection, string path);
}

/// <summary>A collection in use by one tool call; disposing it hands it back to the host.</summary>
/// <param name="collection">The open collection.</param>
/// <param name="release">What disposing the lease does (null: nothing; the host keeps the collection open).</param>
public sealed class McpCollectionLease(IVectorCollection collection, IDisposable? release = null) : IDisposable
{
    private IDisposable? _release = release;

    /// <summary>The collection.</summary>
    public IVectorCollection Collection { get; } = collection ?? throw new ArgumentNullException(nameof(collection));

    /// <summary>Hands the collection back.</summary>
    public void Dispose() => Interlocked.Exchange(ref _release, null)?.Dispose();
}
