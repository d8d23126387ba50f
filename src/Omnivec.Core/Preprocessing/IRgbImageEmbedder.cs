namespace Omnivec.Preprocessing;

/// <summary>
/// Optional capability of an image embedder (found through <c>GetService</c>): embed already decoded, upright RGB images
/// without encoding them first. Video frames take this path when the embedder offers it; otherwise they are sent as JPEG.
/// </summary>
public interface IRgbImageEmbedder
{
    /// <summary>One vector per image, in order.</summary>
    float[][] EmbedImages(IReadOnlyList<RgbImage> images, CancellationToken cancellationToken = default);
}
