using System.Runtime.InteropServices;

namespace Omnivec.Index.Search;

/// <summary>
/// Native buffers that a search reads at random (the graph's int8 codes, the float32 rows while a graph is built):
/// from 2 MiB up they are aligned to 2 MiB and, on Linux, advised as transparent huge pages (madvise MADV_HUGEPAGE,
/// which the default THP setting "madvise" honours). A walk touches a few hundred random places in hundreds of
/// megabytes per query; with 4 KiB pages nearly each of them also misses the TLB, with 2 MiB pages few do.
/// Where huge pages are off or unavailable the advice does nothing and the buffers behave as before.
/// </summary>
internal static unsafe class LargePages
{
    /// <summary>The huge page size on x86-64 and most arm64 kernels.</summary>
    internal const nuint Size = 2 << 20;

    private const nuint CacheLine = 64;
    private const int MadviseHugePage = 14;

    /// <summary><see cref="NativeMemory.AlignedAlloc"/> of <paramref name="bytes"/>, huge-page backed when large.</summary>
    public static void* Alloc(nuint bytes) => Advise(NativeMemory.AlignedAlloc(bytes, AlignmentFor(bytes)), bytes);

    /// <summary><see cref="NativeMemory.AlignedRealloc"/> to <paramref name="bytes"/> (contents kept), huge-page backed when large.</summary>
    public static void* Realloc(void* pointer, nuint bytes) => Advise(NativeMemory.AlignedRealloc(pointer, bytes, AlignmentFor(bytes)), bytes);

    /// <summary>Frees a buffer from <see cref="Alloc"/> or <see cref="Realloc"/>.</summary>
    public static void Free(void* pointer) => NativeMemory.AlignedFree(pointer);

    private static nuint AlignmentFor(nuint bytes) => bytes >= Size ? Size : CacheLine;

    private static void* Advise(void* pointer, nuint bytes)
    {
        if (bytes >= Size && OperatingSystem.IsLinux())
        {
            // Advice only: a kernel without THP (or with it "never") returns an error that changes nothing.
            _ = Madvise(pointer, bytes, MadviseHugePage);
        }

        return pointer;
    }

    /// <summary>Linux madvise(2); the store's one import of it (the mapped rows also use it to drop their pages).</summary>
    // DllImport, not LibraryImport: blittable arguments; the same pattern as Omnivec.Media's fcntl.
    [DllImport("libc", EntryPoint = "madvise")]
    internal static extern int Madvise(void* address, nuint length, int advice);
}
