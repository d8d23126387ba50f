using System.Security.Cryptography;
using Omnivec.Models;

namespace Omnivec.Onnx;

/// <summary>Names a model folder for <see cref="EmbeddingSpace"/>: Hub snapshots by repo and commit, other folders by name and a content fingerprint.</summary>
internal static class ModelIdentity
{
    public static (string ModelId, string Revision) Resolve(string directory, ClipModelFiles files, string? modelId, string? revision)
    {
        string full = Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar);
        // Hub cache: .../models--org--name/snapshots/<commit>
        var snapshot = new DirectoryInfo(full);
        if (snapshot.Parent is { Name: "snapshots" } snapshots && snapshots.Parent is { } repoDir && repoDir.Name.StartsWith("models--", StringComparison.Ordinal))
        {
            modelId ??= repoDir.Name["models--".Length..].Replace("--", "/", StringComparison.Ordinal);
            revision ??= snapshot.Name;
        }

        modelId ??= snapshot.Name;
        revision ??= Fingerprint(directory, files);
        return (modelId, revision);
    }

    /// <summary>
    /// A cheap identity for weights outside the Hub cache: sizes plus hashes of the first and last MiB of each ONNX file.
    /// Hashing whole files (hundreds of MB) on every start would dominate start-up time.
    /// </summary>
    private static string Fingerprint(string directory, ClipModelFiles files)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> buffer = new byte[1 << 20];
        foreach (string relative in new[] { files.TextModel, files.VisionModel })
        {
            string path = Path.Combine(directory, relative);
            using FileStream stream = File.OpenRead(path);
            hash.AppendData(BitConverter.GetBytes(stream.Length));
            AppendHeadAndTail(hash, stream, buffer);
        }

        return "sha256-" + Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }

    /// <summary>
    /// Adds the first <paramref name="buffer"/>-length bytes of <paramref name="stream"/> to <paramref name="hash"/>, and
    /// the last as many when the file is longer than twice that: a cheap identity for weight files of hundreds of MB.
    /// </summary>
    internal static void AppendHeadAndTail(IncrementalHash hash, FileStream stream, Span<byte> buffer)
    {
        int read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        hash.AppendData(buffer[..read]);
        if (stream.Length > buffer.Length * 2L)
        {
            stream.Seek(-buffer.Length, SeekOrigin.End);
            read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            hash.AppendData(buffer[..read]);
        }
    }
}
