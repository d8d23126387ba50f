namespace Omnivec.Indexing;

/// <summary>Which files a folder scan considers media, and walking folders without following symlink loops.</summary>
internal static class MediaFiles
{
    private static readonly Dictionary<string, string> s_imageTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".jpg"] = "image/jpeg", [".jpeg"] = "image/jpeg", [".jpe"] = "image/jpeg", [".jfif"] = "image/jpeg", [".mpo"] = "image/jpeg",
        [".png"] = "image/png", [".apng"] = "image/png", [".gif"] = "image/gif", [".webp"] = "image/webp",
        [".bmp"] = "image/bmp", [".dib"] = "image/bmp", [".ico"] = "image/x-icon", [".cur"] = "image/x-icon",
        [".heic"] = "image/heic", [".heif"] = "image/heif", [".hif"] = "image/heif", [".avif"] = "image/avif", [".avifs"] = "image/avif",
        [".tif"] = "image/tiff", [".tiff"] = "image/tiff", [".psd"] = "image/vnd.adobe.photoshop", [".tga"] = "image/x-tga",
        [".qoi"] = "image/qoi", [".jp2"] = "image/jp2", [".j2k"] = "image/jp2", [".ppm"] = "image/x-portable-pixmap",
        [".pgm"] = "image/x-portable-graymap", [".pbm"] = "image/x-portable-bitmap", [".pnm"] = "image/x-portable-anymap",
        [".wbmp"] = "image/vnd.wap.wbmp", [".dng"] = "image/x-adobe-dng",
    };

    // Candidates by name; the content decides (VideoSniffer) before FFmpeg sees a file.
    private static readonly HashSet<string> s_videoExtensions = new(StringComparer.OrdinalIgnoreCase)
    {
        ".mp4", ".m4v", ".mov", ".qt", ".3gp", ".3g2", ".mkv", ".webm", ".avi", ".ts", ".mts", ".m2ts", ".mpg", ".mpeg", ".flv", ".wmv", ".asf",
    };

    // Audio candidates by name for audio models (CLAP); the content decides (AudioSniffer) before FFmpeg sees a file.
    private static readonly HashSet<string> s_audioExtensions = new(StringComparer.OrdinalIgnoreCase)
    {
        ".wav", ".wave", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".m4b", ".aac", ".aif", ".aiff", ".aifc", ".wma", ".amr",
        ".caf", ".au", ".snd", ".wv", ".ape", ".mka", ".weba",
    };

    public static bool IsImage(string path) => s_imageTypes.ContainsKey(Path.GetExtension(path));

    public static bool IsAudio(string path) => s_audioExtensions.Contains(Path.GetExtension(path));

    public static bool IsVideo(string path) => s_videoExtensions.Contains(Path.GetExtension(path));

    public static string MediaType(string path) =>
        s_imageTypes.TryGetValue(Path.GetExtension(path), out string? type) ? type : "application/octet-stream";

    /// <summary>
    /// Every media file below <paramref name="root"/>, depth first, sorted for a stable order. Directory symlinks are
    /// followed once per real directory, so a link back to an ancestor cannot loop; unreadable folders are reported.
    /// </summary>
    public static IEnumerable<FileInfo> Enumerate(string root, bool recursive, Action<string, string> onError) => Enumerate(root, recursive, false, onError);

    /// <summary>As above; with <paramref name="videos"/>, video files too.</summary>
    public static IEnumerable<FileInfo> Enumerate(string root, bool recursive, bool videos, Action<string, string> onError) =>
        Enumerate(root, recursive, name => IsImage(name) || (videos && IsVideo(name)), onError);

    /// <summary>As above, for the files whose name <paramref name="include"/> accepts.</summary>
    public static IEnumerable<FileInfo> Enumerate(string root, bool recursive, Func<string, bool> include, Action<string, string> onError)
    {
        var visited = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<DirectoryInfo>();
        pending.Push(new DirectoryInfo(Path.GetFullPath(root)));
        while (pending.Count > 0)
        {
            DirectoryInfo dir = pending.Pop();
            string real;
            try
            {
                real = dir.LinkTarget is null ? dir.FullName : (dir.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? dir.FullName);
            }
            catch (IOException ex)
            {
                onError(dir.FullName, "cannot resolve link: " + ex.Message);
                continue;
            }

            if (!visited.Add(real))
            {
                continue;
            }

            FileSystemInfo[] entries;
            try
            {
                entries = dir.GetFileSystemInfos();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                onError(dir.FullName, "cannot list folder: " + ex.Message);
                continue;
            }

            Array.Sort(entries, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            for (int i = entries.Length - 1; i >= 0; i--)
            {
                if (entries[i] is DirectoryInfo sub && recursive)
                {
                    pending.Push(sub);
                }
            }

            foreach (FileSystemInfo entry in entries)
            {
                if (entry is FileInfo file && include(file.Name))
                {
                    yield return file;
                }
            }
        }
    }
}
