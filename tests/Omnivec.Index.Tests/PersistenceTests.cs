using Omnivec.Index;

namespace Omnivec.Index.Tests;

public sealed class PersistenceTests : IDisposable
{
    private readonly TempRoot _root = new();
    private readonly float[][] _vectors = TestData.Clustered(TestData.Centroids(20, 64, 11), 2_000, 12, 0.08f);
    private readonly CollectionItem[] _items = [.. Enumerable.Range(0, 2_000).Select(i => TestData.Item(i))];

    public void Dispose() => _root.Dispose();

    private string Dir => Path.Combine(_root.Path, "p");

    private void Create()
    {
        using Collection c = _root.Store().OpenOrCreate("p", TestData.Space());
        TestData.Fill(c, _items, _vectors, batch: 500);
        c.Optimize(forceHnsw: true); // writes both files for the current generation
    }

    private void AssertSearchCorrect(Collection c, SearchMode mode)
    {
        for (int i = 0; i < 5; i++)
        {
            float[] q = _vectors[i * 97];
            var expected = Oracle.TopK(_items, _vectors, q, 10);
            IReadOnlyList<SearchHit> actual = c.Search(q, 10, mode: mode);
            if (mode == SearchMode.Exact)
            {
                Oracle.AssertSame(expected, actual);
            }
            else
            {
                Assert.Equal(_items[i * 97].Path, actual[0].Item.Path);
            }
        }
    }

    [Fact]
    public void Cold_open_uses_valid_snapshot_and_graph_files()
    {
        Create();
        Assert.True(File.Exists(Path.Combine(Dir, Collection.SnapshotFileName)));
        Assert.True(File.Exists(Path.Combine(Dir, Collection.HnswFileName)));
        using Collection c = _root.Store().Open("p");
        AssertSearchCorrect(c, SearchMode.Exact);
        Assert.Equal(LoadSource.Snapshot, c.MatrixSource);
        Assert.True(c.MatrixMapped); // searched in place in the mapped file, not copied
        AssertSearchCorrect(c, SearchMode.Approximate);
        Assert.Equal(LoadSource.Snapshot, c.HnswSource);
    }

    [Theory]
    [InlineData(-1)]      // last byte of the last vector missing
    [InlineData(-2048)]   // a whole row short
    [InlineData(64 + 8)]  // header and one id left
    [InlineData(10)]      // not even a header
    public void A_truncated_snapshot_is_not_mapped_and_the_matrix_is_rebuilt(int keep)
    {
        Create();
        string path = Path.Combine(Dir, Collection.SnapshotFileName);
        long length = new FileInfo(path).Length;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.SetLength(keep >= 0 ? keep : length + keep);
        }

        using (Collection c = _root.Store().Open("p"))
        {
            AssertSearchCorrect(c, SearchMode.Exact);
            Assert.Equal(LoadSource.Rebuilt, c.MatrixSource);
            Assert.False(c.MatrixMapped);
            Assert.Equal(_items.Length, c.MatrixCapacity); // rebuilt at exactly the database's size
            AssertSearchCorrect(c, SearchMode.Approximate);
        }

        // The rebuild wrote the file back whole; it is mapped from then on.
        Assert.Equal(length, new FileInfo(path).Length);
        using Collection again = _root.Store().Open("p");
        AssertSearchCorrect(again, SearchMode.Exact);
        Assert.Equal(LoadSource.Snapshot, again.MatrixSource);
        Assert.True(again.MatrixMapped);
    }

    [Fact]
    public void Growth_slack_of_an_upsert_run_is_given_back_by_Optimize()
    {
        using Collection c = _root.Store().OpenOrCreate("p", TestData.Space());
        TestData.Fill(c, _items.Take(1_000).ToList(), _vectors.Take(1_000).ToList(), batch: 500);
        c.Search(_vectors[0], 1, mode: SearchMode.Exact); // loads the matrix: exactly 1,000 rows
        Assert.Equal(1_000, c.MatrixCapacity);
        TestData.Fill(c, _items.Skip(1_000).ToList(), _vectors.Skip(1_000).ToList(), batch: 100); // grows it
        Assert.True(c.MatrixCapacity > _items.Length);
        c.Optimize();
        Assert.Equal(_items.Length, c.MatrixCapacity);
        AssertSearchCorrect(c, SearchMode.Exact);
    }

    [Fact]
    public void Files_larger_than_one_io_chunk_round_trip_and_stay_checked()
    {
        // 9,000 × 512 floats = 18 MB: the matrix and the graph are each written and read in several chunks.
        const int n = 9_000;
        float[][] vectors = TestData.Clustered(TestData.Centroids(30, 512, 5), n, 6, 0.03f);
        CollectionItem[] items = [.. Enumerable.Range(0, n).Select(i => TestData.Item(i))];
        using (Collection c = _root.Store().OpenOrCreate("big", TestData.Space(512)))
        {
            TestData.Fill(c, items, vectors);
            c.Optimize(forceHnsw: true);
        }

        string dir = Path.Combine(_root.Path, "big");
        Assert.True(new FileInfo(Path.Combine(dir, Collection.SnapshotFileName)).Length > 17 << 20);
        // The graph file holds links only (the vectors are in the snapshot), so it is much smaller.
        long graphLength = new FileInfo(Path.Combine(dir, Collection.HnswFileName)).Length;
        Assert.True(graphLength < new FileInfo(Path.Combine(dir, Collection.SnapshotFileName)).Length / 8, $"graph file {graphLength} bytes");
        using (Collection c = _root.Store().Open("big"))
        {
            Oracle.AssertSame(Oracle.TopK(items, vectors, vectors[8_765], 10), c.Search(vectors[8_765], 10, mode: SearchMode.Exact));
            Assert.Equal(LoadSource.Snapshot, c.MatrixSource);
            Assert.Equal(items[8_765].Path, c.Search(vectors[8_765], 1, mode: SearchMode.Approximate)[0].Item.Path);
            Assert.Equal(LoadSource.Snapshot, c.HnswSource);
        }

        // A flipped byte in the second chunk of the snapshot, and in the middle of the graph's links, is caught by the checksum.
        foreach (string file in (string[])[Collection.SnapshotFileName, Collection.HnswFileName])
        {
            using var stream = new FileStream(Path.Combine(dir, file), FileMode.Open, FileAccess.ReadWrite);
            stream.Position = file == Collection.SnapshotFileName ? (17 << 20) + 123 : (stream.Length / 2) + 1;
            int b = stream.ReadByte();
            stream.Position--;
            stream.WriteByte((byte)(b ^ 0x40));
        }

        using (Collection c = _root.Store().Open("big"))
        {
            Oracle.AssertSame(Oracle.TopK(items, vectors, vectors[17], 10), c.Search(vectors[17], 10, mode: SearchMode.Exact));
            Assert.Equal(LoadSource.Rebuilt, c.MatrixSource);
            Assert.Equal(items[17].Path, c.Search(vectors[17], 1, mode: SearchMode.Approximate)[0].Item.Path);
            Assert.Equal(LoadSource.Rebuilt, c.HnswSource);
        }
    }

    [Theory]
    [InlineData(Collection.SnapshotFileName, 100)]        // header (count field region)
    [InlineData(Collection.SnapshotFileName, -5)]         // last vector bytes
    [InlineData(Collection.SnapshotFileName, 64 + 8)]     // ids region
    [InlineData(Collection.HnswFileName, -100)]
    [InlineData(Collection.HnswFileName, 20)]             // header generation field
    public void A_flipped_byte_is_detected_and_the_file_rebuilt(string file, int offset)
    {
        Create();
        string path = Path.Combine(Dir, file);
        byte[] bytes = File.ReadAllBytes(path);
        int at = offset >= 0 ? offset : bytes.Length + offset;
        bytes[at] ^= 0x5A;
        File.WriteAllBytes(path, bytes);

        using (Collection c = _root.Store().Open("p"))
        {
            AssertSearchCorrect(c, SearchMode.Exact);
            AssertSearchCorrect(c, SearchMode.Approximate);
            if (file == Collection.SnapshotFileName)
            {
                Assert.Equal(LoadSource.Rebuilt, c.MatrixSource);
            }
            else
            {
                Assert.Equal(LoadSource.Snapshot, c.MatrixSource);
                Assert.Equal(LoadSource.Rebuilt, c.HnswSource);
            }
        }

        // The rebuilt file was written back and is trusted next time.
        using Collection again = _root.Store().Open("p");
        AssertSearchCorrect(again, SearchMode.Approximate);
        Assert.Equal(LoadSource.Snapshot, again.MatrixSource);
        Assert.Equal(LoadSource.Snapshot, again.HnswSource);
    }

    [Fact]
    public void Files_of_an_older_generation_are_stale_even_when_intact()
    {
        Create();
        string snapshot = Path.Combine(Dir, Collection.SnapshotFileName);
        string hnsw = Path.Combine(Dir, Collection.HnswFileName);
        byte[] oldSnapshot = File.ReadAllBytes(snapshot);
        byte[] oldHnsw = File.ReadAllBytes(hnsw);
        using (Collection c = _root.Store().Open("p"))
        {
            c.Upsert([_items[0]], [_vectors[1]]); // moves the generation
        }

        File.WriteAllBytes(snapshot, oldSnapshot);
        File.WriteAllBytes(hnsw, oldHnsw);
        using Collection again = _root.Store().Open("p");
        IReadOnlyList<SearchHit> hits = again.Search(_vectors[1], 2, mode: SearchMode.Exact);
        Assert.Equal(LoadSource.Rebuilt, again.MatrixSource);
        Assert.Equal(new[] { _items[0].Path, _items[1].Path }.Order(), hits.Select(h => h.Item.Path).Order());
        again.Search(_vectors[1], 2, mode: SearchMode.Approximate);
        Assert.Equal(LoadSource.Rebuilt, again.HnswSource);
    }

    [Fact]
    public void A_recreated_collection_never_adopts_the_old_files()
    {
        Create();
        string snapshot = Path.Combine(Dir, Collection.SnapshotFileName);
        byte[] old = File.ReadAllBytes(snapshot);
        CollectionStore store = _root.Store();
        store.Delete("p");
        using (Collection c = store.OpenOrCreate("p", TestData.Space()))
        {
            // Same generation count as the old database would give after 4 batches.
            TestData.Fill(c, _items.Take(100).ToList(), _vectors.Take(100).ToList(), batch: 25);
        }

        File.WriteAllBytes(snapshot, old);
        using Collection again = store.Open("p");
        Assert.Equal(100, again.Search(_vectors[0], 10_000, mode: SearchMode.Exact).Count);
        Assert.Equal(LoadSource.Rebuilt, again.MatrixSource);
    }

    [Fact]
    public void Auto_uses_the_graph_only_when_large_enough_and_available()
    {
        Create();
        using Collection c = _root.Store().Open("p");
        c.ApproximateThreshold = 100_000;
        c.Search(_vectors[0], 5);
        Assert.Equal(LoadSource.None, c.HnswSource);
        c.ApproximateThreshold = 1_000;
        c.Search(_vectors[0], 5);
        Assert.Equal(LoadSource.Snapshot, c.HnswSource);
    }

    [Fact]
    public void Incremental_writes_keep_matrix_and_graph_in_step_with_the_database()
    {
        Create();
        using (Collection c = _root.Store().Open("p"))
        {
            c.Search(_vectors[0], 5, mode: SearchMode.Approximate); // loads both
            Assert.True(c.MatrixMapped);
            var extra = Enumerable.Range(5_000, 50).Select(i => TestData.Item(i)).ToList();
            float[][] extraVectors = TestData.Clustered(TestData.Centroids(3, 64, 99), 50, 98, 0.05f);
            TestData.Fill(c, extra, extraVectors);
            c.Upsert([_items[10]], [extraVectors[0]]); // replace a vector
            c.DeleteByPaths([_items[11].Path]);
            IReadOnlyList<SearchHit> approx = c.Search(extraVectors[7], 3, mode: SearchMode.Approximate);
            Assert.Equal(extra[7].Path, approx[0].Item.Path);
            Assert.Contains(c.Search(extraVectors[0], 2, mode: SearchMode.Approximate), h => h.Item.Path == _items[10].Path);
            Assert.DoesNotContain(c.Search(_vectors[11], 50, mode: SearchMode.Approximate), h => h.Item.Path == _items[11].Path);
            Assert.Equal(LoadSource.Snapshot, c.HnswSource); // updated in place, not rebuilt
            Assert.False(c.MatrixMapped); // the first write copied the mapped rows into memory of its own
            Assert.Equal(extra[7].Path, c.Search(extraVectors[7], 1, mode: SearchMode.Exact)[0].Item.Path);
        }

        // Dispose wrote both files for the new generation.
        using Collection again = _root.Store().Open("p");
        Assert.Equal(2_049, again.Search(_vectors[0], 10_000, mode: SearchMode.Exact).Count);
        Assert.Equal(LoadSource.Snapshot, again.MatrixSource);
        again.Search(_vectors[0], 5, mode: SearchMode.Approximate);
        Assert.Equal(LoadSource.Snapshot, again.HnswSource);
    }
}

public sealed class DuplicateTests : IDisposable
{
    private readonly TempRoot _root = new();

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Near_identical_vectors_are_grouped_best_quality_first(bool viaGraph)
    {
        int n = viaGraph ? 4_000 : 600; // above 3,000 candidates the HNSW neighbours are used
        // Random directions: in 64-d the largest chance cosine among a few thousand is far below 0.95.
        float[][] vectors = [.. Enumerable.Range(0, n).Select(i => TestData.Unit(TestData.Gaussian(new Random(i + 1000), 64)))];
        var items = Enumerable.Range(0, n).Select(i => TestData.Item(i)).ToList();
        var random = new Random(7);
        // Group A: 3 near copies of item 0 at different resolutions; group B: 2 copies of item 1, same pixels, different sizes.
        var dupItems = new List<CollectionItem>
        {
            items[0] with { Width = 100, Height = 100 },
            new() { Path = "/dups/a-large.jpg", Width = 4000, Height = 3000, SizeBytes = 10 },
            new() { Path = "/dups/a-medium.jpg", Width = 2000, Height = 1500, SizeBytes = 99_999 },
            items[1] with { Width = 640, Height = 480, SizeBytes = 100 },
            new() { Path = "/dups/b-bigger-file.jpg", Width = 480, Height = 640, SizeBytes = 200 },
        };
        items[0] = dupItems[0];
        items[1] = dupItems[3];
        float[] Near(float[] v)
        {
            float[] noise = TestData.Gaussian(random, 64, 0.01f);
            return TestData.Unit([.. v.Zip(noise, (a, b) => a + b)]);
        }

        var allItems = items.Concat([dupItems[1], dupItems[2], dupItems[4]]).ToList();
        var allVectors = vectors.Concat([Near(vectors[0]), Near(vectors[0]), Near(vectors[1])]).ToList();
        using Collection c = _root.Store().OpenOrCreate("d", TestData.Space());
        TestData.Fill(c, allItems, allVectors);

        IReadOnlyList<DuplicateGroup> groups = c.FindDuplicates(0.95f);
        Assert.Equal(2, groups.Count);
        Assert.Equal(["/dups/a-large.jpg", "/dups/a-medium.jpg", items[0].Path], groups[0].Members.Select(m => m.Item.Path));
        Assert.Equal(["/dups/b-bigger-file.jpg", items[1].Path], groups[1].Members.Select(m => m.Item.Path));
        Assert.All(groups.SelectMany(g => g.Members), m => Assert.True(m.Score >= 0.95f));

        // Filters restrict the candidates.
        IReadOnlyList<DuplicateGroup> onlyDups = c.FindDuplicates(0.95f, new SearchFilter { PathPrefix = "/dups/" });
        Assert.Equal(["/dups/a-large.jpg", "/dups/a-medium.jpg"], Assert.Single(onlyDups).Members.Select(m => m.Item.Path));
        Assert.Empty(c.FindDuplicates(0.9999f));
    }
}
