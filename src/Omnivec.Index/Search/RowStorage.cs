using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace Omnivec.Index.Search;

/// <summary>
/// Where a <see cref="VectorMatrix"/> keeps its float rows: outside the GC heap, either in native memory sized to the
/// rows it holds (grown and trimmed with realloc, so no doubling slack stays behind and no copy sits in the managed
/// heap), or in a read-only memory map of the snapshot file, searched in place (a cold start neither reads the file
/// into a buffer nor copies it; the kernel maps the page cache). Freed on <see cref="Dispose"/>, or by the finalizer
/// when a dropped matrix was never disposed.
/// </summary>
internal abstract unsafe class RowStorage : IDisposable
{
    /// <summary>First float of row 0 (null only after dispose).</summary>
    public abstract float* Pointer { get; }

    /// <summary>Rows the storage has room for.</summary>
    public abstract long CapacityRows { get; }

    /// <summary>Whether rows can be written in place (false for a mapped file: copy into native storage first).</summary>
    public abstract bool Writable { get; }

    /// <summary>Bytes of this process's own memory the storage holds (0 for a file mapping: page cache, shared and evictable).</summary>
    public abstract long OwnBytes { get; }

    public void Dispose()
    {
        Release();
        GC.SuppressFinalize(this);
    }

    protected abstract void Release();

    ~RowStorage() => Release();
}

/// <summary>
/// Rows in one native block aligned to a cache line: a 2 KiB row then spans 32 lines, not 33, and no 32-byte load of
/// the dot product straddles two lines (malloc's 16-byte alignment cost the graph walk both). From 2 MiB up the block
/// is on huge pages (<see cref="LargePages"/>).
/// </summary>
internal sealed unsafe class NativeRowStorage : RowStorage
{
    private readonly int _dimensions;
    private float* _pointer;
    private long _capacity;

    public NativeRowStorage(int dimensions, long capacityRows)
    {
        _dimensions = dimensions;
        _capacity = Math.Max(capacityRows, 1);
        _pointer = (float*)LargePages.Alloc(checked((nuint)(_capacity * dimensions * sizeof(float))));
    }

    public override float* Pointer => _pointer;

    public override long CapacityRows => _capacity;

    public override bool Writable => true;

    public override long OwnBytes => _capacity * _dimensions * sizeof(float);

    /// <summary>Changes the capacity, keeping the first rows (as many as fit).</summary>
    public void Resize(long capacityRows)
    {
        capacityRows = Math.Max(capacityRows, 1);
        if (capacityRows == _capacity)
        {
            return;
        }

        _pointer = (float*)LargePages.Realloc(_pointer, checked((nuint)(capacityRows * _dimensions * sizeof(float))));
        _capacity = capacityRows;
    }

    protected override void Release()
    {
        if (_pointer is not null)
        {
            LargePages.Free(_pointer);
            _pointer = null;
            _capacity = 0;
        }
    }
}

/// <summary>Rows read in place from a read-only memory map of a file (the snapshot), from a byte offset on.</summary>
internal sealed unsafe class MappedRowStorage : RowStorage
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly long _rows;
    private readonly long _offset;
    private readonly int _rowBytes;
    private readonly Microsoft.Win32.SafeHandles.SafeFileHandle? _handle;
    private byte* _base;
    private float* _pointer;

    /// <summary>Maps the whole of <paramref name="stream"/> read-only; row 0 (of <paramref name="dimensions"/> floats) starts <paramref name="offset"/> bytes in.</summary>
    public MappedRowStorage(FileStream stream, long offset, long rows, int dimensions)
    {
        _rows = rows;
        _offset = offset;
        _file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
        try
        {
            _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* start = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
            _base = start;
            _pointer = (float*)(start + _view.PointerOffset + offset);
            _rowBytes = dimensions * sizeof(float);
            if (OperatingSystem.IsLinux())
            {
                // A descriptor of its own on the same open file (the caller closes the stream), for pread; closed on
                // exec like the runtime's own, so child processes (ffmpeg) do not inherit it.
                int fd = Fcntl((int)stream.SafeFileHandle.DangerousGetHandle(), DuplicateCloseOnExec, 0);
                _handle = fd >= 0 ? new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true) : null;
            }
        }
        catch
        {
            _view?.Dispose();
            _file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Unmaps the pages of the mapping from this process (Linux: madvise DONTNEED) without dropping them from the page
    /// cache: they stop counting in its resident memory, and a later read maps them again from the cache (or reads the
    /// file). For when a pass over every row (the checksum, building the graph's codes) is over and searches read a few.
    /// </summary>
    public void ReleaseResidentPages()
    {
        if (_base is null || !OperatingSystem.IsLinux())
        {
            return;
        }

        ulong length = _view.SafeMemoryMappedViewHandle.ByteLength + (ulong)_view.PointerOffset;
        _ = LargePages.Madvise(_base, (nuint)length, MadviseDontNeed);
    }

    private const int MadviseDontNeed = 4;

    /// <summary>Whether <see cref="ReadRow(long, float*)"/> can read rows with pread.</summary>
    public bool CanRead => _handle is { IsClosed: false };

    /// <summary>
    /// Reads row <paramref name="row"/> into <paramref name="into"/> with pread (from the page cache, as the mapping
    /// would, but without mapping the page, or the neighbouring ones the kernel maps with a fault, into this process);
    /// false when the read fails.
    /// </summary>
    public bool ReadRow(long row, float* into)
    {
        var span = new Span<byte>(into, _rowBytes);
        long at = _offset + (row * _rowBytes);
        try
        {
            while (!span.IsEmpty)
            {
                int read = RandomAccess.Read(_handle!, span, at);
                if (read <= 0)
                {
                    return false;
                }

                span = span[read..];
                at += read;
            }

            return true;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary><see cref="ReadRow(long, float*)"/> into a span of at least a row's floats.</summary>
    public bool ReadRow(long row, Span<float> into)
    {
        if (into.Length * sizeof(float) < _rowBytes)
        {
            throw new ArgumentException("The span is shorter than a row.", nameof(into));
        }

        fixed (float* p = into)
        {
            return ReadRow(row, p);
        }
    }

    private const int DuplicateCloseOnExec = 1030; // F_DUPFD_CLOEXEC

    [DllImport("libc", EntryPoint = "fcntl")]
    private static extern int Fcntl(int fd, int command, int argument);

    /// <summary>The mapped file from its first byte.</summary>
    public byte* FileStart => _base is null ? null : _base + _view.PointerOffset;

    public override float* Pointer => _pointer;

    public override long CapacityRows => _rows;

    public override bool Writable => false;

    public override long OwnBytes => 0;

    protected override void Release()
    {
        if (_base is not null)
        {
            _base = null;
            _pointer = null;
            _handle?.Dispose();
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file.Dispose();
        }
    }
}
