using System.Buffers.Text;

namespace Omnivec.Server;

/// <summary>Turns the <c>"image"</c> string of a request (base64, a data: URL or an http(s) URL) into bytes.</summary>
internal static class ImageSources
{
    public static async Task<byte[]> ReadAsync(string value, string label, ImageUrlFetcher fetcher, RequestBudget budget, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw ApiException.BadRequest($"{label} is empty.");
        }

        string trimmed = value.Trim();
        if (trimmed.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || trimmed.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            byte[] fetched = await fetcher.FetchAsync(trimmed, label, budget.RemainingBytes, cancellationToken).ConfigureAwait(false);
            budget.AddBytes(fetched.Length, label);
            return fetched;
        }

        return ReadInline(trimmed, label, "data:image/png;base64,…");
    }

    /// <summary>
    /// Base64 or a base64 data: URL (audio and video inputs, which are never fetched from URLs); <paramref name="example"/>
    /// shows the data: URL form in the error for other URLs.
    /// </summary>
    public static byte[] ReadInline(string value, string label, string example)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw ApiException.BadRequest($"{label} is empty.");
        }

        string trimmed = value.Trim();
        if (trimmed.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            int comma = trimmed.IndexOf(',', StringComparison.Ordinal);
            if (comma < 0 || !trimmed.AsSpan(5, comma - 5).EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
            {
                throw ApiException.BadRequest($"{label}: only base64 data: URLs are supported ({example}).");
            }

            return Decode(trimmed[(comma + 1)..], label);
        }

        if (Uri.TryCreate(trimmed, UriKind.Absolute, out Uri? other) && other.Scheme.Length > 1 && !Base64.IsValid(trimmed))
        {
            throw ApiException.BadRequest(example.StartsWith("data:image", StringComparison.Ordinal)
                ? $"{label}: '{other.Scheme}:' URLs are not supported; send base64, a data: URL or an http(s) URL."
                : $"{label}: '{other.Scheme}:' URLs are not supported; send base64 or a data: URL ({example}).");
        }

        return Decode(trimmed, label);
    }

    private static byte[] Decode(string base64, string label)
    {
        try
        {
            return Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            throw ApiException.BadRequest($"{label} is neither valid base64, a data: URL nor an http(s) URL.");
        }
    }
}

/// <summary>
/// What one request may cost beyond its body: bytes fetched from image URLs (at most <see cref="OmnivecServerOptions.MaxRequestBytes"/>
/// in all, so a request of many URLs holds no more than a body could carry) and pixels decoded
/// (<see cref="OmnivecServerOptions.MaxPixelsPerRequest"/>, so a small request of well-compressed huge images cannot cost minutes of CPU).
/// </summary>
internal sealed class RequestBudget(OmnivecServerOptions options)
{
    private long _bytes;
    private long _pixels;

    public long RemainingBytes => Math.Max(0, options.MaxRequestBytes - Interlocked.Read(ref _bytes));

    public void AddBytes(long count, string label)
    {
        if (Interlocked.Add(ref _bytes, count) > options.MaxRequestBytes)
        {
            throw ApiException.TooLarge(
                $"{label}: the images fetched for this request total more than its limit of {options.MaxRequestBytes:N0} bytes (MaxRequestBytes); send fewer per request.");
        }
    }

    public void AddPixels(Omnivec.Imaging.ImageInfo info, string label)
    {
        long total = Interlocked.Add(ref _pixels, (long)info.Width * info.Height);
        if (total > options.MaxPixelsPerRequest)
        {
            throw ApiException.TooLarge(
                $"{label}: the images of this request total more than {options.MaxPixelsPerRequest:N0} pixels (MaxPixelsPerRequest); send fewer or smaller images per request.");
        }
    }
}
