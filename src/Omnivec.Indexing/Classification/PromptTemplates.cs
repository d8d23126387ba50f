using System.Reflection;

namespace Omnivec.Indexing.Classification;

/// <summary>CLIP's published prompt templates and label sets, shipped as embedded data files (see Data/README.md).</summary>
public static class PromptTemplates
{
    private static readonly Lazy<string[]> s_imageNet = new(() => ReadLines("imagenet-templates.txt"));
    private static readonly Lazy<string[]> s_imageNetClasses = new(() => ReadLines("imagenet-classes.txt"));

    /// <summary>The single template CLIP's README uses.</summary>
    public static IReadOnlyList<string> Simple { get; } = ["a photo of a {}."];

    /// <summary>CLIP's 80-template ImageNet ensemble.</summary>
    public static IReadOnlyList<string> ImageNet => s_imageNet.Value;

    /// <summary>The 1,000 ImageNet class names as CLIP's zero-shot evaluation wrote them.</summary>
    public static IReadOnlyList<string> ImageNetClasses => s_imageNetClasses.Value;

    private static string[] ReadLines(string name)
    {
        using Stream stream = typeof(PromptTemplates).Assembly.GetManifestResourceStream("Omnivec.Indexing." + name)
            ?? throw new InvalidOperationException($"Embedded resource {name} is missing from {typeof(PromptTemplates).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToArray();
    }
}
