namespace Omnivec;

/// <summary>What kinds of input an embedder accepts.</summary>
[Flags]
public enum Modalities
{
    /// <summary>Nothing.</summary>
    None = 0,
    /// <summary>Text.</summary>
    Text = 1,
    /// <summary>Still images.</summary>
    Image = 2,
    /// <summary>Video (segments with start and end offsets).</summary>
    Video = 4,

    /// <summary>Recordings and soundtracks (CLAP).</summary>
    Audio = 8,
}

/// <summary>
/// Identifies a vector space: vectors are comparable only when they come from the same provider, model,
/// revision (model version) and dimension count. Collections store this and refuse vectors of another space.
/// </summary>
/// <param name="Provider">"local", "google", "azure", …</param>
/// <param name="ModelId">Hub repo id, folder name, or the service's model name.</param>
/// <param name="Revision">Commit, model version or other identity of the weights; empty when unknown.</param>
/// <param name="Dimensions">Length of every vector.</param>
public sealed record EmbeddingSpace(string Provider, string ModelId, string Revision, int Dimensions)
{
    /// <summary>Kinds of input this space embeds.</summary>
    public Modalities Modalities { get; init; } = Modalities.Text | Modalities.Image;

    /// <summary>
    /// The model family of local models ("clip", "siglip", "mclip"); null for services and for collections made before
    /// families were recorded. Two spaces whose families are both known must agree.
    /// </summary>
    public string? Family { get; init; }

    /// <summary>True when vectors of <paramref name="other"/> can be compared with vectors of this space.</summary>
    public bool IsCompatibleWith(EmbeddingSpace other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return string.Equals(Provider, other.Provider, StringComparison.OrdinalIgnoreCase)
            && string.Equals(ModelId, other.ModelId, StringComparison.Ordinal)
            && string.Equals(Revision, other.Revision, StringComparison.Ordinal)
            && Dimensions == other.Dimensions
            && (Family is null || other.Family is null || string.Equals(Family, other.Family, StringComparison.Ordinal));
    }

    /// <summary>Throws <see cref="EmbeddingSpaceMismatchException"/> unless the spaces are compatible.</summary>
    public void EnsureCompatibleWith(EmbeddingSpace other)
    {
        if (!IsCompatibleWith(other))
        {
            throw new EmbeddingSpaceMismatchException(this, other);
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Provider}:{ModelId}{(string.IsNullOrEmpty(Revision) ? "" : "@" + Revision)} ({(Family is null ? "" : Family + ", ")}{Dimensions}-d)";
}
