using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Omnivec.Onnx;
using Omnivec.Tests;

namespace Omnivec.Packaging.Tests;

[Collection(PackedCollection.Name)]
public sealed class PackagingTests(PackedFixture packed)
{
    private static readonly string[] s_libraries =
    [
        "Omnivec.Core", "Omnivec.Imaging", "Omnivec.Onnx", "Omnivec.Hub", "Omnivec.Index", "Omnivec.Indexing",
        "Omnivec.Http", "Omnivec.Providers", "Omnivec.Providers.Google", "Omnivec.Providers.Azure", "Omnivec.Mcp", "Omnivec.Server",
    ];

    private static string ModelHf => Path.Combine(TestPaths.Fixtures, "models", "tiny-clip-hf");

    private static string Photo(string name) => TestPaths.CorpusFile("images", "photos", name);

    private string CopyPhotos(string name, params string[] photos)
    {
        string folder = Path.Combine(packed.Root, "photos-" + name);
        Directory.CreateDirectory(folder);
        foreach (string photo in photos)
        {
            File.Copy(Photo(photo), Path.Combine(folder, photo));
        }

        return folder;
    }

    [Fact]
    public async Task The_installed_tool_prints_the_version_with_the_commit()
    {
        ProcessResult result = await packed.ToolAsync(packed.FreshHome("version"), "--version");
        Assert.True(result.ExitCode == 0, result.Both);
        Assert.Equal(packed.BuiltVersion, result.StdOut.Trim());
        // Built from a git checkout (as here and in CI): version + the full commit id.
        Assert.Matches(new Regex(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?\+[0-9a-f]{40}$"), result.StdOut.Trim());
    }

    [Fact]
    public async Task The_installed_tool_embeds_like_the_library_then_indexes_and_searches_in_a_fresh_home()
    {
        Dictionary<string, string?> home = packed.FreshHome("main-job");
        string photos = CopyPhotos("main-job", "two_beagles.jpg", "bananas.jpg", "cat_chelsea.png");

        ProcessResult embed = await packed.ToolAsync(home, "embed", "--model", ModelHf, "--text", "a dog", "--image", Photo("bananas.jpg"), "--json");
        Assert.True(embed.ExitCode == 0, embed.Both);
        string[] lines = embed.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        using (var clip = ClipEmbeddingGenerator.Load(ModelHf))
        {
            float[] text = clip.EmbedTexts(["a dog"])[0];
            float[] image = clip.EmbedImageFiles([Photo("bananas.jpg")])[0].Embedding!.Vector.ToArray();
            Assert.Equal(text, Vector(lines[0])); // same natives, same numbers: JSON floats round-trip exactly
            Assert.Equal(image, Vector(lines[1]));
        }

        ProcessResult index = await packed.ToolAsync(home, "index", photos, "--model", ModelHf);
        Assert.True(index.ExitCode == 0, index.Both);
        Assert.Contains("3 added", index.Both);
        // The collection went to the fresh OMNIVEC_HOME, nowhere else.
        Assert.True(Directory.Exists(Path.Combine(home["OMNIVEC_HOME"]!, "collections", "default")), index.Both);

        // --all: no relevance cutoff, every item comes back ranked (the tiny random model makes nothing stand out).
        ProcessResult byImage = await packed.ToolAsync(home, "search", "--image", Path.Combine(photos, "cat_chelsea.png"), "--json", "--all");
        Assert.True(byImage.ExitCode == 0, byImage.Both);
        JsonElement[] hits = Results(byImage.StdOut);
        Assert.Equal(3, hits.Length);
        Assert.Equal(Path.Combine(photos, "cat_chelsea.png"), hits[0].GetProperty("path").GetString());
        Assert.True(hits[0].GetProperty("score").GetSingle() > 0.999f, byImage.StdOut);

        ProcessResult byText = await packed.ToolAsync(home, "search", "a dog", "--json", "--top", "2", "--all");
        Assert.True(byText.ExitCode == 0, byText.Both);
        Assert.Equal(2, Results(byText.StdOut).Length);
    }

    [Fact]
    public async Task The_sample_built_against_the_packages_indexes_a_folder_and_searches_it()
    {
        string photos = CopyPhotos("sample", "two_beagles.jpg", "hotdog.jpg", "white_mug.jpg");
        string dll = packed.SampleDll;
        string work = Path.Combine(packed.Root, "sample-run");
        Directory.CreateDirectory(work);

        ProcessResult first = await Run.ProcessAsync(Run.DotnetHost, [dll, ModelHf, photos, Path.Combine(photos, "hotdog.jpg")], work, null, TimeSpan.FromMinutes(5));
        Assert.True(first.ExitCode == 0, first.Both);
        string[] lines = first.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("indexed 3 of 3 files", lines[0]);
        string[] top = lines[1].Split('\t');
        Assert.Equal(Path.Combine(photos, "hotdog.jpg"), top[1]);
        Assert.True(float.Parse(top[0], System.Globalization.CultureInfo.InvariantCulture) > 0.999f, first.StdOut);
        Assert.Equal(4, lines.Length); // the summary and the three items

        // It used the packages: the Omnivec assemblies beside it came from the feed's version, not this build's folders.
        Assert.True(File.Exists(Path.Combine(packed.Root, "packages", "omnivec.indexing", packed.PackageVersion.ToLowerInvariant(), "lib", "net10.0", "Omnivec.Indexing.dll")));

        ProcessResult second = await Run.ProcessAsync(Run.DotnetHost, [dll, ModelHf, photos, "a dog"], work, null, TimeSpan.FromMinutes(5));
        Assert.True(second.ExitCode == 0, second.Both);
        Assert.StartsWith("indexed 0 of 3 files (3 unchanged", second.StdOut);
    }

    [Fact]
    public void Every_library_package_has_metadata_readme_xml_docs_and_symbols()
    {
        foreach (string id in s_libraries)
        {
            string nupkg = Path.Combine(packed.Feed, $"{id}.{packed.PackageVersion}.nupkg");
            Assert.True(File.Exists(nupkg), $"{id} was not packed");
            Assert.True(File.Exists(Path.ChangeExtension(nupkg, ".snupkg")), $"{id} has no symbol package");
            using ZipArchive zip = ZipFile.OpenRead(nupkg);
            XElement metadata = Nuspec(zip);
            string Meta(string name) => metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value ?? "";
            Assert.False(string.IsNullOrWhiteSpace(Meta("description")) || Meta("description") == "Package Description", $"{id}: no description");
            Assert.Equal("MIT", Meta("license"));
            Assert.Equal("README.md", Meta("readme"));
            Assert.Contains("embeddings", Meta("tags"), StringComparison.Ordinal);
            XElement repository = metadata.Elements().Single(e => e.Name.LocalName == "repository");
            Assert.Matches("^[0-9a-f]{40}$", (string?)repository.Attribute("commit") ?? "");
            Assert.NotNull(zip.GetEntry("README.md"));
            Assert.NotNull(zip.GetEntry($"lib/net10.0/{id}.dll"));
            Assert.NotNull(zip.GetEntry($"lib/net10.0/{id}.xml")); // the XML docs travel with the library
        }

        using ZipArchive symbols = ZipFile.OpenRead(Path.Combine(packed.Feed, $"Omnivec.Core.{packed.PackageVersion}.snupkg"));
        Assert.NotNull(symbols.GetEntry("lib/net10.0/Omnivec.Core.pdb"));

        // The server's page travels as content to apps that host it.
        using ZipArchive server = ZipFile.OpenRead(Path.Combine(packed.Feed, $"Omnivec.Server.{packed.PackageVersion}.nupkg"));
        Assert.NotNull(server.GetEntry("contentFiles/any/any/wwwroot/index.html"));
    }

    [Fact]
    public void The_tool_package_carries_the_native_libraries_of_the_supported_platforms_only()
    {
        using ZipArchive zip = ZipFile.OpenRead(Path.Combine(packed.Feed, $"omnivec.{packed.PackageVersion}.nupkg"));
        string[] entries = zip.Entries.Select(e => e.FullName).ToArray();
        Assert.Contains("DotnetTool", Nuspec(zip).ToString(), StringComparison.Ordinal);
        const string Runtimes = "tools/net10.0/any/runtimes/";
        (string Rid, string[] Natives)[] expected =
        [
            ("linux-x64", ["libonnxruntime.so", "libSkiaSharp.so", "Magick.Native-Q8-x64.dll.so", "libe_sqlite3.so"]),
            ("linux-arm64", ["libonnxruntime.so", "libSkiaSharp.so", "Magick.Native-Q8-arm64.dll.so", "libe_sqlite3.so"]),
            ("win-x64", ["onnxruntime.dll", "libSkiaSharp.dll", "Magick.Native-Q8-x64.dll", "e_sqlite3.dll"]),
            ("osx-arm64", ["libonnxruntime.dylib", "Magick.Native-Q8-arm64.dll.dylib", "libe_sqlite3.dylib"]),
            ("osx", ["libSkiaSharp.dylib"]), // SkiaSharp ships one universal macOS library
        ];
        foreach ((string rid, string[] natives) in expected)
        {
            foreach (string native in natives)
            {
                Assert.Contains($"{Runtimes}{rid}/native/{native}", entries);
            }
        }

        string[] rids = entries.Where(e => e.StartsWith(Runtimes, StringComparison.Ordinal)).Select(e => e[Runtimes.Length..].Split('/')[0]).Distinct().Order().ToArray();
        Assert.Equal(["linux-arm64", "linux-x64", "osx", "osx-arm64", "win-x64"], rids);
        Assert.DoesNotContain(entries, e => e.EndsWith(".pdb", StringComparison.Ordinal) && e.Contains("/runtimes/", StringComparison.Ordinal));
        // The HNSW graph is managed code: no USearch library rides along any more.
        Assert.DoesNotContain(entries, e => e.Contains("usearch", StringComparison.OrdinalIgnoreCase));
        Assert.Contains("tools/net10.0/any/wwwroot/index.html", entries);
    }

    private static XElement Nuspec(ZipArchive zip)
    {
        ZipArchiveEntry entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/'));
        using Stream stream = entry.Open();
        return XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    private static float[] Vector(string jsonLine)
    {
        using JsonDocument doc = JsonDocument.Parse(jsonLine);
        return doc.RootElement.GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
    }

    private static JsonElement[] Results(string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("results").EnumerateArray().Select(e => e.Clone()).ToArray();
    }
}
