using Microsoft.Extensions.AI;

namespace Omnivec.Text;

/// <summary>
/// A model that is told its query language (NLLB-CLIP) reading every text in one language, unless the text names its
/// own (its code glued in front, the form <see cref="TextLanguages.Apply(string, string?)"/> writes). Images pass
/// through unchanged. Its <see cref="TextLanguages"/> service reports that language as the default, so a request that
/// names another language still gets it.
/// </summary>
public sealed class LanguageEmbeddingGenerator : IMultimodalEmbeddingGenerator
{
    private readonly IMultimodalEmbeddingGenerator _inner;
    private readonly TextLanguages _languages;

    /// <summary>Wraps <paramref name="inner"/> so texts without a language are read in <paramref name="language"/>.</summary>
    /// <param name="inner">A generator whose <c>GetService(typeof(TextLanguages))</c> answers; disposed with this one.</param>
    /// <param name="language">A language <see cref="TextLanguages.Resolve(string)"/> knows (<c>deu_Latn</c>, <c>de</c>).</param>
    /// <exception cref="ArgumentException">The model is not told a language.</exception>
    /// <exception cref="UnknownLanguageException">The model does not know <paramref name="language"/>.</exception>
    public LanguageEmbeddingGenerator(IMultimodalEmbeddingGenerator inner, string language)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentException.ThrowIfNullOrWhiteSpace(language);
        TextLanguages languages = inner.GetService(typeof(TextLanguages)) as TextLanguages
            ?? throw new ArgumentException($"The model {inner.Space.ModelId} reads any language without being told one.", nameof(inner));
        Language = languages.Resolve(language);
        _languages = new TextLanguages(languages.Codes, Language);
        _inner = inner;
    }

    /// <summary>The model's code texts without one are read in (<c>deu_Latn</c>).</summary>
    public string Language { get; }

    /// <inheritdoc />
    public EmbeddingSpace Space => _inner.Space;

    /// <inheritdoc />
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        return _inner.GenerateAsync(values.Select(v => v is null || _languages.Split(v).Start > 0 ? v! : Language + v).ToArray(), options, cancellationToken);
    }

    /// <inheritdoc />
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<DataContent> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default) => _inner.GenerateAsync(values, options, cancellationToken);

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is null && serviceType == typeof(TextLanguages))
        {
            return _languages;
        }

        return serviceKey is null && serviceType.IsInstanceOfType(this) ? this : _inner.GetService(serviceType, serviceKey);
    }

    /// <inheritdoc />
    public void Dispose() => _inner.Dispose();
}
