namespace Omnivec.Indexing.Query;

/// <summary>
/// The automatic relevance cutoff: which scores stand out from the query's own score distribution over the collection.
/// </summary>
/// <remarks>
/// Most items in a collection do not match a given query, so the bulk of its cosine scores is "background". Its centre
/// and spread are estimated robustly from quantiles (the median and the 75th percentile, read off the exact scan), so a
/// minority of true matches (under a quarter of the collection) does not move them. A score passes when it lies so far
/// above the background that, were all <c>n</c> scores background with a normal spread, fewer than half an item would be
/// expected to reach it: <c>threshold = centre + spread · z</c> with <c>z = Φ⁻¹(1 − 0.5/n)</c> (at least 2.5). The rule
/// is in units of the query's own spread, so it needs no per-model score constant; it tightens with the collection size
/// as a multiple-comparison correction must. See docs/search.md for how it was measured.
/// </remarks>
/// <param name="Threshold">The score a result needs.</param>
/// <param name="Centre">The estimated background centre (median score).</param>
/// <param name="Spread">The estimated background standard deviation.</param>
/// <param name="Z">How many spreads above the centre the threshold is.</param>
/// <param name="Population">How many scores the estimate describes.</param>
public sealed record RelevanceCutoff(float Threshold, float Centre, float Spread, float Z, long Population)
{
    /// <summary>Fewer scores than this give no estimate (nothing is cut automatically).</summary>
    public const int MinimumPopulation = 8;

    /// <summary>Expected number of background items above the threshold.</summary>
    public const double ExpectedFalsePasses = 0.5;

    /// <summary>The smallest z used, however small the collection.</summary>
    public const double MinimumZ = 2.5;

    /// <summary>
    /// Estimates the cutoff from the best <paramref name="scoresDescending"/> of <paramref name="population"/> scores (all
    /// of them when the collection is small enough for one exact ranking; otherwise the top, from which the quantiles
    /// that are still known are used). Null when there are too few scores to estimate from.
    /// </summary>
    public static RelevanceCutoff? Estimate(IReadOnlyList<float> scoresDescending, long population)
    {
        ArgumentNullException.ThrowIfNull(scoresDescending);
        int m = scoresDescending.Count;
        if (population < MinimumPopulation || m < MinimumPopulation)
        {
            return null;
        }

        population = Math.Max(population, m);
        // Ranks (1-based, best first) of the two quantiles: the median and the upper quartile when known.
        long r1 = Math.Min(m, (population + 1) / 2);
        long r2 = Math.Max(1, r1 / 2);
        double p1 = 1 - (r1 - 0.5) / population;
        double p2 = 1 - (r2 - 0.5) / population;
        double s1 = scoresDescending[(int)r1 - 1];
        double s2 = scoresDescending[(int)r2 - 1];
        double z1 = InverseNormal(p1);
        double z2 = InverseNormal(p2);
        double spread = z2 > z1 ? (s2 - s1) / (z2 - z1) : 0;
        double centre = s1 - spread * z1;
        double z = Math.Max(MinimumZ, InverseNormal(1 - ExpectedFalsePasses / population));
        // No spread at all (every score the same): nothing stands out.
        double threshold = spread > 1e-6 ? centre + z * spread : double.PositiveInfinity;
        return new RelevanceCutoff((float)Math.Min(threshold, float.MaxValue), (float)centre, (float)spread, (float)z, population);
    }

    /// <summary>Φ⁻¹(p), the standard normal quantile (Acklam's rational approximation, relative error below 1.2e-9).</summary>
    internal static double InverseNormal(double p)
    {
        if (p <= 0)
        {
            return double.NegativeInfinity;
        }

        if (p >= 1)
        {
            return double.PositiveInfinity;
        }

        ReadOnlySpan<double> a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
        ReadOnlySpan<double> b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
        ReadOnlySpan<double> c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
        ReadOnlySpan<double> d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
        const double Low = 0.02425;
        if (p < Low)
        {
            double q = Math.Sqrt(-2 * Math.Log(p));
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }

        if (p > 1 - Low)
        {
            double q = Math.Sqrt(-2 * Math.Log(1 - p));
            return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }

        double r = p - 0.5;
        double s = r * r;
        return (((((a[0] * s + a[1]) * s + a[2]) * s + a[3]) * s + a[4]) * s + a[5]) * r / (((((b[0] * s + b[1]) * s + b[2]) * s + b[3]) * s + b[4]) * s + 1);
    }
}
