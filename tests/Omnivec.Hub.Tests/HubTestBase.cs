using System.Security.Cryptography;

namespace Omnivec.Hub.Tests;

/// <summary>A fresh fake Hub and an empty cache folder per test.</summary>
public abstract class HubTestBase : IDisposable
{
    private protected HubTestBase()
    {
        Hub = new FakeHub();
        CacheDir = Path.Combine(Path.GetTempPath(), "omnivec-hub-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(CacheDir);
    }

    private protected FakeHub Hub { get; }

    protected string CacheDir { get; }

    private protected HubOptions Options(string? token = null, int maxRetries = 3, bool offline = false, bool checkForUpdates = false, Uri? endpoint = null) => new()
    {
        Endpoint = endpoint ?? Hub.Endpoint,
        Token = token,
        CacheDirectory = CacheDir,
        Offline = offline,
        CheckForUpdates = checkForUpdates,
        MaxRetries = maxRetries,
        RetryBaseDelay = TimeSpan.FromMilliseconds(20),
        MaxRetryDelay = TimeSpan.FromSeconds(3),
        ConnectTimeout = TimeSpan.FromSeconds(5),
        ReadTimeout = TimeSpan.FromSeconds(10),
    };

    private protected HubClient Client(string? token = null, int maxRetries = 3, bool offline = false, bool checkForUpdates = false) =>
        new(Options(token, maxRetries, offline, checkForUpdates));

    protected string RepoDir(string repoId) => Path.Combine(CacheDir, "models--" + repoId.Replace("/", "--", StringComparison.Ordinal));

    protected static string Sha256OfFile(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    public void Dispose()
    {
        Hub.Dispose();
        try
        {
            Directory.Delete(CacheDir, recursive: true);
        }
        catch (IOException)
        {
        }

        GC.SuppressFinalize(this);
    }
}
