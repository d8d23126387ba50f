using System.IO.Pipes;
using System.Runtime.InteropServices;

namespace Omnivec.Media;

/// <summary>Enlarges a pipe's kernel buffer (Linux <c>F_SETPIPE_SZ</c>) so a whole frame fits: fewer reads and wake-ups per frame.</summary>
internal static class PipeBuffer
{
    private const int SetPipeSize = 1031;

    /// <summary>Best effort: asks for <paramref name="bytes"/> (capped by /proc/sys/fs/pipe-max-size); does nothing off Linux or on failure.</summary>
    public static void Enlarge(Stream stream, int bytes)
    {
        if (!OperatingSystem.IsLinux() || stream is not PipeStream pipe)
        {
            return;
        }

        bool added = false;
        SafeHandle handle = pipe.SafePipeHandle;
        try
        {
            handle.DangerousAddRef(ref added);
            // A refusal (above the system's maximum, or not a pipe) leaves the default buffer: correct, only slower.
            _ = Fcntl((int)handle.DangerousGetHandle(), SetPipeSize, bytes);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or EntryPointNotFoundException or DllNotFoundException)
        {
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    // DllImport, not LibraryImport: the arguments are blittable ints, and LibraryImport would need unsafe code in the project.
    [DllImport("libc", EntryPoint = "fcntl")]
    private static extern int Fcntl(int fd, int cmd, int arg);
}
