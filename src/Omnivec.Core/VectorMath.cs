using System.Numerics.Tensors;

namespace Omnivec;

/// <summary>Small vector helpers over <see cref="TensorPrimitives"/>.</summary>
public static class VectorMath
{
    /// <summary>Scales <paramref name="vector"/> to unit L2 norm in place; a zero vector stays zero.</summary>
    public static void NormalizeInPlace(Span<float> vector)
    {
        float norm = TensorPrimitives.Norm(vector);
        if (norm > 0f && float.IsFinite(norm))
        {
            TensorPrimitives.Divide(vector, norm, vector);
        }
    }

    /// <summary>Cosine similarity of two vectors of equal length.</summary>
    public static float Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => TensorPrimitives.CosineSimilarity(a, b);
}
