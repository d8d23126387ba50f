using Omnivec.Tests;

namespace Omnivec.Media.Tests;

/// <summary>Videos generated once per test run into a temporary folder.</summary>
public sealed class VideoFixture : IDisposable
{
    /// <summary>Three shots with cuts at 2.0 s and 3.5 s (5.5 s long).</summary>
    public static readonly (string Photo, double Seconds)[] Shots = [("two_beagles.jpg", 2.0), ("bananas.jpg", 1.5), ("tomatoes.jpg", 2.0)];

    public VideoFixture()
    {
        Directory.CreateDirectory(Folder);
        foreach (string ext in new[] { ".mp4", ".webm", ".mov" })
        {
            Cuts = TestVideos.MakeShots(Path.Combine(Folder, "shots" + ext), Shots);
        }

        TestVideos.MakeShots(Path.Combine(Folder, "portrait.mp4"), [("two_beagles.jpg", 1.0)], width: 180, height: 320);
        TestVideos.MakeRotated(Path.Combine(Folder, "portrait.mp4"), Path.Combine(Folder, "rotated.mp4"));
        // One 40-second shot at a tiny size: must come back as windows of at most 16 s covering all of it.
        TestVideos.MakeShots(Path.Combine(Folder, "long.mp4"), [("white_mug.jpg", 40.0)], width: 64, height: 48, fps: 10);
    }

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "omnivec-media-tests-" + Guid.NewGuid().ToString("N")[..8]);

    public double[] Cuts { get; } = [];

    public string File(string name) => Path.Combine(Folder, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>All video tests share one set of generated videos (made once, tests run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class VideoCollection : ICollectionFixture<VideoFixture>
{
    public const string Name = "videos";
}
