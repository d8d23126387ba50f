using Microsoft.Extensions.AI;

namespace Omnivec.Indexing.Classification;

/// <summary>One label and its probability.</summary>
public sealed record LabelScore(string Label, float Probability, float Similarity);

/// <summary>
/// Zero-shot classification: each label becomes the normalised mean of its prompt embeddings ("a photo of a {}.", …).
/// For softmax-trained models (CLIP) an image's logits are <c>LogitScale × cosine</c> and a softmax turns them into
/// probabilities that sum to one, as in the CLIP paper; for sigmoid-trained models (SigLIP, given a
/// <see cref="SigmoidScoreCalibration"/>) each label gets its own probability, so several labels can be true at once.
/// </summary>
public sealed class ZeroShotClassifier
{
    private readonly float[][] _classVectors;

    private ZeroShotClassifier(IReadOnlyList<string> labels, float[][] classVectors, float logitScale, SigmoidScoreCalibration? calibration)
    {
        Labels = labels;
        _classVectors = classVectors;
        LogitScale = logitScale;
        Calibration = calibration;
    }

    /// <summary>The sigmoid calibration used instead of the softmax, for sigmoid-trained models; null for CLIP-style softmax.</summary>
    public SigmoidScoreCalibration? Calibration { get; }

    /// <summary>The labels, in the order given.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>CLIP's learned temperature; 100 for OpenAI's released models.</summary>
    public float LogitScale { get; }

    /// <summary>
    /// Embeds every label through every template and averages per label. When the embedder offers a
    /// <see cref="SigmoidScoreCalibration"/> (SigLIP) labels are scored independently with it; otherwise by a softmax.
    /// </summary>
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

        var calibration = textEmbedder.GetService(typeof(SigmoidScoreCalibration)) as SigmoidScoreCalibration;
        return new ZeroShotClassifier(cleaned, classVectors, logitScale, calibration);
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
        if (Calibration is { } sigmoid)
        {
            for (int c = 0; c < similarity.Length; c++)
            {
                probabilities[c] = (float)sigmoid.Probability(similarity[c]);
            }
        }
        else
        {
            System.Numerics.Tensors.TensorPrimitives.SoftMax(logits, probabilities);
        }
        return Enumerable.Range(0, logits.Length)
            .Select(c => new LabelScore(Labels[c], probabilities[c], similarity[c]))
            .OrderByDescending(s => s.Probability)
            .ToArray();
    }
}
