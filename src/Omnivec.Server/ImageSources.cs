using System.Buffers.Text;

namespace Omnivec.Server;

/// <summary>Turns the <c>"image"</c> string of a request (base64, a data: URL or an http(s) URL) into bytes.</summary>
internal static class ImageSources
{
    public static async Task<byte[]> ReadAsync(string value, string label, ImageUrlFetcher fetcher, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw ApiException.BadRequest($"{label} is empty.");
        }

        string trimmed = value.Trim();
        if (trimmed.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || trimmed.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            return await fetcher.FetchAsync(trimmed, label, cancellationToken).ConfigureAwait(false);
        }

        if (trimmed.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            int comma = trimmed.IndexOf(',', StringComparison.Ordinal);
            if (comma < 0 || !trimmed.AsSpan(5, comma - 5).EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
            {
                throw ApiException.BadRequest($"{label}: only base64 data: URLs are supported (data:image/png;base64,…).");
            }

            return Decode(trimmed[(comma + 1)..], label);
        }

        if (Uri.TryCreate(trimmed, UriKind.Absolute, out Uri? other) && other.Scheme.Length > 1 && !Base64.IsValid(trimmed))
        {
            throw ApiException.BadRequest($"{label}: '{other.Scheme}:' URLs are not supported; send base64, a data: URL or an http(s) URL.");
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
