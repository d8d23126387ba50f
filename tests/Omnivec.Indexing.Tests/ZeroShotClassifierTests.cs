using Omnivec.Indexing.Classification;

namespace Omnivec.Indexing.Tests;

[Collection(TestModelCollection.Name)]
public sealed class ZeroShotClassifierTests(TestModel model)
{
    [Fact]
    public async Task Probabilities_are_a_softmax_over_scaled_cosines_to_the_prompt_ensemble_means()
    {
        string[] labels = ["cat", "dog", "car"];
        string[] templates = ["a photo of a {}.", "a drawing of a {}."];
        ZeroShotClassifier classifier = await ZeroShotClassifier.CreateAsync(model.Clip, labels, templates);
        float[] image = model.Clip.EmbedImageFiles([Omnivec.Tests.TestPaths.CorpusFile("images", "photos", "cat_chelsea.png")])[0].Embedding!.Vector.ToArray();

        IReadOnlyList<LabelScore> scores = classifier.Classify(image);
        Assert.Equal(1.0, scores.Sum(s => (double)s.Probability), 5);
        Assert.True(scores[0].Probability >= scores[1].Probability && scores[1].Probability >= scores[2].Probability);

        // Recompute independently: mean of normalised prompt vectors, normalised; logits = 100 cos; softmax.
        var expected = new Dictionary<string, double>();
        foreach (string label in labels)
        {
            float[][] prompts = model.Clip.EmbedTexts(templates.Select(t => t.Replace("{}", label, StringComparison.Ordinal)).ToArray());
            float[] mean = new float[prompts[0].Length];
            foreach (float[] p in prompts)
            {
                for (int d = 0; d < mean.Length; d++)
                {
                    mean[d] += p[d];
                }
            }

            VectorMath.NormalizeInPlace(mean);
            expected[label] = 100.0 * VectorMath.Cosine(image, mean);
        }

        double max = expected.Values.Max();
        double sum = expected.Values.Sum(l => Math.Exp(l - max));
        foreach (LabelScore score in scores)
        {
            Assert.Equal(Math.Exp(expected[score.Label] - max) / sum, score.Probability, 4);
        }
    }

    [Fact]
    public async Task Built_in_label_sets_are_CLIPs_published_lists()
    {
        Assert.Equal(1000, PromptTemplates.ImageNetClasses.Count);
        Assert.Equal("tench", PromptTemplates.ImageNetClasses[0]);
        Assert.Equal("toilet paper", PromptTemplates.ImageNetClasses[999]);
        Assert.Equal(80, PromptTemplates.ImageNet.Count);
        Assert.All(PromptTemplates.ImageNet, t => Assert.Contains("{}", t, StringComparison.Ordinal));
        await Assert.ThrowsAsync<InvalidInputException>(() => ZeroShotClassifier.CreateAsync(model.Clip, ["only one"]));
    }
}
