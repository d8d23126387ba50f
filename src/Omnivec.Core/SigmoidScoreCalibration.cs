namespace Omnivec;

/// <summary>
/// How a sigmoid-trained model (SigLIP) turns a cosine similarity into the probability that a text and an image
/// match: <c>sigmoid(exp(LogitScale) · cosine + LogitBias)</c>, with the two learned values read from the model.
/// Generators that have it return it from <c>GetService(typeof(SigmoidScoreCalibration))</c>.
/// </summary>
/// <param name="LogitScale">The learned log temperature (<c>logit_scale</c>).</param>
/// <param name="LogitBias">The learned bias (<c>logit_bias</c>).</param>
public sealed record SigmoidScoreCalibration(float LogitScale, float LogitBias)
{
    /// <summary>The match probability for a cosine similarity, in [0, 1].</summary>
    public double Probability(double cosine)
    {
        double logit = Math.Exp(LogitScale) * cosine + LogitBias;
        return 1.0 / (1.0 + Math.Exp(-logit));
    }
}
