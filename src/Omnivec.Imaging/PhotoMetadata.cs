using System.Globalization;
using MetadataExtractor;
using MetadataExtractor.Formats.Exif;

namespace Omnivec.Imaging;

/// <summary>
/// The one EXIF reader: capture time, camera and orientation, through MetadataExtractor (JPEG, PNG, WebP, HEIC, TIFF, …).
/// Metadata is a nicety: a file whose metadata cannot be read still decodes and indexes, so every failure here means
/// "absent", never an exception.
/// </summary>
public static class PhotoMetadata
{
    /// <summary>The EXIF capture time (as written, offset unknown so UTC) and "Make Model"; nulls when absent or unreadable.</summary>
    public static (DateTimeOffset? TakenAt, string? Camera) Read(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        IReadOnlyList<MetadataExtractor.Directory>? directories = ReadDirectories(data);
        if (directories is null)
        {
            return (null, null);
        }

        DateTimeOffset? taken = null;
        var subIfd = directories.OfType<ExifSubIfdDirectory>().FirstOrDefault();
        if (subIfd is not null && subIfd.TryGetDateTime(ExifDirectoryBase.TagDateTimeOriginal, out DateTime original))
        {
            taken = new DateTimeOffset(DateTime.SpecifyKind(original, DateTimeKind.Unspecified), TimeSpan.Zero);
        }

        var ifd0 = directories.OfType<ExifIfd0Directory>().FirstOrDefault();
        if (taken is null && ifd0 is not null && ifd0.TryGetDateTime(ExifDirectoryBase.TagDateTime, out DateTime modified))
        {
            taken = new DateTimeOffset(DateTime.SpecifyKind(modified, DateTimeKind.Unspecified), TimeSpan.Zero);
        }

        string? camera = null;
        if (ifd0 is not null)
        {
            string? make = ifd0.GetDescription(ExifDirectoryBase.TagMake)?.Trim();
            string? model = ifd0.GetDescription(ExifDirectoryBase.TagModel)?.Trim();
            camera = (make, model) switch
            {
                ({ Length: > 0 }, { Length: > 0 }) when model.StartsWith(make, true, CultureInfo.InvariantCulture) => model,
                ({ Length: > 0 }, { Length: > 0 }) => make + " " + model,
                (_, { Length: > 0 }) => model,
                ({ Length: > 0 }, _) => make,
                _ => null,
            };
        }

        return (taken, camera);
    }

    /// <summary>The EXIF orientation (1-8) of IFD0; 1 ("as stored") when absent, out of range or unreadable.</summary>
    public static int ReadOrientation(ReadOnlySpan<byte> data)
    {
        IReadOnlyList<MetadataExtractor.Directory>? directories = ReadDirectories(data.ToArray());
        ExifIfd0Directory? ifd0 = directories?.OfType<ExifIfd0Directory>().FirstOrDefault();
        return ifd0 is not null && ifd0.TryGetInt32(ExifDirectoryBase.TagOrientation, out int value) ? Orientation.Normalize(value) : 1;
    }

    private static IReadOnlyList<MetadataExtractor.Directory>? ReadDirectories(byte[] data)
    {
        try
        {
            using var stream = new MemoryStream(data, writable: false);
            return ImageMetadataReader.ReadMetadata(stream);
        }
#pragma warning disable CA1031 // Metadata parsing of hostile files may fail in any way; the image itself is what matters.
        catch (Exception)
#pragma warning restore CA1031
        {
            return null;
        }
    }
}
