using System.Runtime.InteropServices;

namespace Omnivec.Index.Hnsw;

/// <summary>
/// The few entry points of libusearch_c (shipped by the Cloud.Unum.USearch package) that the store needs.
/// Declared here rather than going through the package's managed wrapper so that vectors are added straight from
/// the contiguous matrix, capacity is reserved once, and filtered search and buffer (de)serialisation are reachable.
/// </summary>
internal static unsafe partial class USearchNative
{
    private const string Library = "libusearch_c";

    internal const uint MetricInnerProduct = 2; // usearch_metric_ip_k: vectors are unit-norm, so 1 - ip = cosine distance
    internal const uint ScalarF32 = 1;          // usearch_scalar_f32_k

    /// <summary>Layout of usearch_init_options_t in the 2.x C API (same as the package's IndexOptions).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct InitOptions
    {
        public uint MetricKind;
        public nint Metric;
        public uint Quantization;
        public nuint Dimensions;
        public nuint Connectivity;
        public nuint ExpansionAdd;
        public nuint ExpansionSearch;
        public byte Multi;
    }

    [LibraryImport(Library, EntryPoint = "usearch_init")]
    internal static partial nint Init(ref InitOptions options, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_free")]
    internal static partial void Free(nint index, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_size")]
    internal static partial nuint Size(nint index, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_capacity")]
    internal static partial nuint Capacity(nint index, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_dimensions")]
    internal static partial nuint Dimensions(nint index, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_reserve")]
    internal static partial void Reserve(nint index, nuint capacity, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_change_expansion_search")]
    internal static partial void ChangeExpansionSearch(nint index, nuint expansion, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_change_threads_add")]
    internal static partial void ChangeThreadsAdd(nint index, nuint threads, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_change_threads_search")]
    internal static partial void ChangeThreadsSearch(nint index, nuint threads, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_add")]
    internal static partial void Add(nint index, ulong key, float* vector, uint vectorKind, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_remove")]
    internal static partial nuint Remove(nint index, ulong key, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_search")]
    internal static partial nuint Search(nint index, float* query, uint queryKind, nuint count, ulong* keys, float* distances, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_filtered_search")]
    internal static partial nuint FilteredSearch(
        nint index, float* query, uint queryKind, nuint count,
        delegate* unmanaged<ulong, void*, int> filter, void* filterState,
        ulong* keys, float* distances, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_serialized_length")]
    internal static partial nuint SerializedLength(nint index, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_save_buffer")]
    internal static partial void SaveBuffer(nint index, void* buffer, nuint length, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_load_buffer")]
    internal static partial void LoadBuffer(nint index, void* buffer, nuint length, nint* error);

    /// <summary>Error strings are owned by the library (static), so they are read and never freed.</summary>
    internal static void ThrowIfError(nint error, string operation)
    {
        if (error != 0)
        {
            throw new OmnivecException($"USearch {operation} failed: {Marshal.PtrToStringUTF8(error)}");
        }
    }
}
