namespace Omnivec.Imaging;

/// <summary>Marker-level checks on JPEG data that libjpeg (through Skia) only reports as warnings.</summary>
internal static class JpegStructure
{
    /// <summary>
    /// True for a progressive JPEG whose data stops before the end-of-image marker. libjpeg decodes such a file "successfully"
    /// from the scans it got (a blurry or grey picture) and Skia reports success; Pillow raises "image file is truncated".
    /// Baseline truncation needs no check: Skia reports it as IncompleteInput.
    /// </summary>
    public static bool IsTruncatedProgressive(ReadOnlySpan<byte> data)
    {
        int pos = 2;
        bool progressive = false;
        // Walk the segments before the first scan; APPn payloads (EXIF thumbnails) may contain marker-like bytes.
        while (pos + 4 <= data.Length)
        {
            if (data[pos] != 0xFF)
            {
                return false; // not a well-formed marker sequence; leave the verdict to the decoder
            }

            byte marker = data[pos + 1];
            if (marker == 0xFF)
            {
                pos++; // fill byte
                continue;
            }

            if (marker is 0xC2 or 0xC6 or 0xCA or 0xCE)
            {
                progressive = true;
            }

            int length = data[pos + 2] << 8 | data[pos + 3];
            if (marker == 0xDA)
            {
                // Entropy-coded data never contains FF D9 (0xFF bytes are stuffed or start RSTn), so the first FF D9 after the
                // first scan header is the end-of-image marker of this image.
                return progressive && data[(pos + 2)..].IndexOf((ReadOnlySpan<byte>)[0xFF, 0xD9]) < 0;
            }

            if (length < 2)
            {
                return false;
            }

            pos += 2 + length;
        }

        return progressive;
    }
}
