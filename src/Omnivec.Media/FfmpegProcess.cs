using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace Omnivec.Media;

/// <summary>
/// One running ffmpeg or ffprobe: stdout as a stream, the tail of stderr kept for error messages, and the child killed
/// (with its process tree) on cancellation, on a stall and on dispose, so no decoder outlives the operation that started it.
/// </summary>
internal sealed class FfmpegProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task _stderrPump;
    private readonly byte[] _stderrTail;
    private readonly CancellationTokenRegistration _cancelRegistration;
    private int _stderrLength;
    private int _disposed;

    /// <summary>Test hook: called with the process id of every child started.</summary>
    internal static Action<int>? Started { get; set; }

    private FfmpegProcess(Process process, int maxStderrBytes, CancellationToken cancellationToken)
    {
        _process = process;
        _stderrTail = new byte[Math.Max(256, maxStderrBytes)];
        _stderrPump = Task.Run(PumpStderrAsync, CancellationToken.None);
        _cancelRegistration = cancellationToken.Register(static state => ((FfmpegProcess)state!).Kill(), this);
    }

    /// <summary>The program that runs (for messages).</summary>
    public string Program => _process.StartInfo.FileName;

    public int Id => _process.Id;

    /// <summary>The child's standard output.</summary>
    public Stream Output => _process.StandardOutput.BaseStream;

    /// <summary>Starts <paramref name="executable"/> with the given arguments (no shell, stdin closed).</summary>
    /// <exception cref="FfmpegNotFoundException">The executable does not exist or cannot be run.</exception>
    public static FfmpegProcess Start(string executable, IEnumerable<string> arguments, int maxStderrBytes, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var info = new ProcessStartInfo(executable)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = info };
        try
        {
            if (!process.Start())
            {
                process.Dispose();
                throw new FfmpegNotFoundException(executable);
            }
        }
        catch (Win32Exception ex)
        {
            process.Dispose();
            throw new FfmpegNotFoundException(executable, ex);
        }

        try
        {
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The child already exited; its exit code tells the rest.
        }

        Started?.Invoke(process.Id);
        return new FfmpegProcess(process, maxStderrBytes, cancellationToken);
    }

    /// <summary>The last bytes ffmpeg wrote to stderr, as one line (empty when it wrote nothing).</summary>
    public string StderrTail()
    {
        lock (_stderrTail)
        {
            string text = Encoding.UTF8.GetString(_stderrTail, 0, _stderrLength);
            string[] lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            // The last few distinct lines carry the reason; earlier ones are usually per-frame noise.
            IEnumerable<string> last = lines.Distinct(StringComparer.Ordinal).TakeLast(3);
            return string.Join("; ", last);
        }
    }

    /// <summary>Waits for the child to exit and returns its exit code, after stderr is fully read.</summary>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        await _stderrPump.ConfigureAwait(false);
        return _process.ExitCode;
    }

    /// <summary>Kills the child and its process tree if it still runs. Safe to call at any time, more than once.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Not started or already gone.
        }
        catch (Win32Exception)
        {
            // Exited between the check and the kill.
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _cancelRegistration.Dispose();
        Kill();
        try
        {
            // Reap the child so it leaves no zombie; the kill makes this quick.
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }

    private async Task PumpStderrAsync()
    {
        byte[] buffer = new byte[4096];
        try
        {
            Stream stderr = _process.StandardError.BaseStream;
            int read;
            while ((read = await stderr.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            {
                Append(buffer.AsSpan(0, read));
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The child was killed or disposed; what was read is kept.
        }
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        lock (_stderrTail)
        {
            if (data.Length >= _stderrTail.Length)
            {
                data[^_stderrTail.Length..].CopyTo(_stderrTail);
                _stderrLength = _stderrTail.Length;
                return;
            }

            int keep = Math.Min(_stderrLength, _stderrTail.Length - data.Length);
            Buffer.BlockCopy(_stderrTail, _stderrLength - keep, _stderrTail, 0, keep);
            data.CopyTo(_stderrTail.AsSpan(keep));
            _stderrLength = keep + data.Length;
        }
    }
}
