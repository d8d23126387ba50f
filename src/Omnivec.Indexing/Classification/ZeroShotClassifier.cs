using Microsoft.Extensions.AI;

namespace Omnivec.Indexing.Classification;

/// <summary>One label and its probability.</summary>
public sealed record LabelScore(string Label, float Probability, float Similarity);

/// <summary>
/// CLIP zero-shot classification: each label becomes the normalised mean of its prompt embeddings ("a photo of a {}.", …),
/// an image's logits are <c>LogitScale × cosine</c>, and a softmax turns them into probabilities — as in the CLIP paper.
/// </summary>
public sealed class ZeroShotClassifier
{
    private readonly float[][] _classVectors;

    private ZeroShotClassifier(IReadOnlyList<string> labels, float[][] classVectors, float logitScale)
    {
        Labels = labels;
        _classVectors = classVectors;
        LogitScale = logitScale;
    }

    public IReadOnlyList<string> Labels { get; }

    /// <summary>CLIP's learned temperature; 100 for OpenAI's released models.</summary>
    public float LogitScale { get; }

    /// <summary>Embeds every label through every template and averages per label.</summary>
    public static async Task<ZeroShotClassifier> CreateAsync(IEmbeddingGenerator<string, Embedding<float>> textEmbedder, IReadOnlyList<string> labels,
        IReadOnlyList<string>? templates = null, float logitScale = 100f, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(textEmbedder);
        ArgumentNullException.ThrowIfNull(labels);
        string[] cleaned = labels.Select(l => l?.Trim() ?? "").Where(l => l.Length > 0).Distinct(StringComparer.Ordinal).ToArray();
        if (cleaned.Length < 2)
        {
            throw new InvalidInputException("Zero-shot classification needs at least two distinct labels.");
        }

        templates ??= PromptTemplates.ImageNet;
        if (templates.Count == 0 || templates.Any(t => !t.Contains("{}", StringComparison.Ordinal)))
        {
            throw new InvalidInputException("Every prompt template must contain '{}' where the label goes.");
        }

        var prompts = new List<string>(cleaned.Length * templates.Count);
        foreach (string label in cleaned)
        {
            foreach (string template in templates)
            {
                prompts.Add(template.Replace("{}", label, StringComparison.Ordinal));
            }
        }

        GeneratedEmbeddings<Embedding<float>> embeddings = await textEmbedder.GenerateAsync(prompts, cancellationToken: cancellationToken).ConfigureAwait(false);
        var classVectors = new float[cleaned.Length][];
        for (int c = 0; c < cleaned.Length; c++)
        {
            int dims = embeddings[0].Vector.Length;
            var mean = new float[dims];
            for (int t = 0; t < templates.Count; t++)
            {
                ReadOnlySpan<float> v = embeddings[c * templates.Count + t].Vector.Span;
                // The reference normalises each prompt embedding before averaging.
                float norm = System.Numerics.Tensors.TensorPrimitives.Norm(v);
                for (int d = 0; d < dims; d++)
                {
                    mean[d] += v[d] / norm;
                }
            }

            VectorMath.NormalizeInPlace(mean);
            classVectors[c] = mean;
        }

        return new ZeroShotClassifier(cleaned, classVectors, logitScale);
    }

    /// <summary>Probabilities for every label, highest first.</summary>
    public IReadOnlyList<LabelScore> Classify(ReadOnlySpan<float> imageEmbedding)
    {
        var logits = new float[_classVectors.Length];
        var similarity = new float[_classVectors.Length];
        for (int c = 0; c < _classVectors.Length; c++)
        {
            similarity[c] = VectorMath.Cosine(imageEmbedding, _classVectors[c]);
            logits[c] = LogitScale * similarity[c];
        }

        var probabilities = new float[logits.Length];
        System.Numerics.Tensors.TensorPrimitives.SoftMax(logits, probabilities);
        return Enumerable.Range(0, logits.Length)
            .Select(c => new LabelScore(Labels[c], probabilities[c], similarity[c]))
            .OrderByDescending(s => s.Probability)
            .ToArray();
    }
}
