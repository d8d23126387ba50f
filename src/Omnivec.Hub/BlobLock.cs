using System.Diagnostics;

namespace Omnivec.Hub;

/// <summary>
/// An exclusive lock on a lock file (FileShare.None, which .NET implements with flock on Unix, as Python's filelock does),
/// held while one blob is downloaded so concurrent pulls in this or other processes never write the same file.
/// The lock file is left in place: deleting it would let two holders race on different inodes.
/// </summary>
internal sealed class BlobLock : IDisposable
{
    private readonly FileStream _stream;

    private BlobLock(FileStream stream) => _stream = stream;

    public static async Task<BlobLock> AcquireAsync(string path, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var waited = Stopwatch.StartNew();
        var delay = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return new BlobLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None));
            }
            catch (IOException e) when (!HubErrors.IsDiskFull(e))
            {
                if (waited.Elapsed >= timeout)
                {
                    throw new HubException(HubErrorKind.LockTimeout,
                        $"Another process has been downloading the same file for over {timeout.TotalMinutes:0.#} minutes (lock {path}). " +
                        "If no download is running, the lock is stale only if a file system without working locks holds the cache; delete the lock file and retry.", e);
                }

                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 500));
            }
        }
    }

    public void Dispose() => _stream.Dispose();
}
