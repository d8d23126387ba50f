using System.Numerics.Tensors;
using Omnivec.Index;
using Omnivec.Indexing.Query;

namespace Omnivec.Index.Postgres.Tests;

/// <summary>
/// What every collection store must do, whichever engine holds it (in the manner of Microsoft.Extensions.VectorData's
/// conformance tests): each store runs this same suite through <see cref="IVectorStore"/> and <see cref="IVectorCollection"/>.
/// Expected results come from a brute-force oracle over the vectors the test wrote, never from the store itself.
/// </summary>
public abstract class StoreConformanceTests
{
    private const int Dims = 32;
    private static int s_names;

    protected abstract IVectorStore Store { get; }

    protected static EmbeddingSpace Space => new("test", "conformance", "r1", Dims);

    protected static string NewName() => $"c{Interlocked.Increment(ref s_names)}-{Guid.NewGuid():N}"[..20];

    protected static float[] RandomUnit(Random random)
    {
        var v = new float[Dims];
        for (int i = 0; i < Dims; i++)
        {
            v[i] = (float)(random.NextDouble() * 2 - 1);
        }

        TensorPrimitives.Divide(v, TensorPrimitives.Norm(v), v);
        return v;
    }

    protected static CollectionItem Item(string path, int i) => new()
    {
        Path = path,
        MediaType = i % 3 == 0 ? "image/png" : "image/jpeg",
        SizeBytes = 1000 + i,
        ModifiedUtc = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero).AddDays(i),
        ContentHash = $"hash{i}",
        Width = 100 + (i * 10),
        Height = 50 + i,
        TakenAt = i % 2 == 0 ? new DateTimeOffset(2020, 6, 1, 12, 0, 0, TimeSpan.FromHours(2)).AddDays(i) : null,
        Camera = i % 2 == 0 ? "Canon" : null,
        Caption = null,
        Extra = i % 4 == 0 ? new Dictionary<string, string> { ["k"] = $"v{i}" } : null,
    };

    /// <summary>Fills a new collection with <paramref name="count"/> items under /a/ and /b/ and returns them with their vectors.</summary>
    protected (IVectorCollection Collection, List<(CollectionItem Item, float[] Vector)> Rows) Fill(int count, int seed = 1)
    {
        IVectorCollection c = Store.OpenOrCreate(NewName(), Space);
        var random = new Random(seed);
        var rows = new List<(CollectionItem, float[])>();
        for (int i = 0; i < count; i++)
        {
            rows.Add((Item($"/{(i % 2 == 0 ? "a" : "b")}/img{i:D4}.jpg", i), RandomUnit(random)));
        }

        IReadOnlyList<long> ids = c.Upsert(rows.Select(r => r.Item1).ToList(), rows.Select(r => (ReadOnlyMemory<float>)r.Item2).ToList());
        return (c, rows.Select((r, i) => (r.Item1 with { Id = ids[i] }, r.Item2)).ToList());
    }

    private static List<string> Oracle(List<(CollectionItem Item, float[] Vector)> rows, float[] query, int top, Func<CollectionItem, bool>? filter = null) =>
        rows.Where(r => filter?.Invoke(r.Item) ?? true)
            .OrderByDescending(r => TensorPrimitives.Dot(r.Vector, query)).ThenBy(r => r.Item.Id)
            .Take(top).Select(r => r.Item.Path).ToList();

    [Fact]
    public void Upserted_items_come_back_with_their_metadata_and_vectors()
    {
        (IVectorCollection c, var rows) = Fill(12);
        using (c)
        {
            Assert.Equal(12, c.Count);
            foreach ((CollectionItem item, float[] vector) in rows)
            {
                CollectionItem got = c.Get(item.Id)!;
                Assert.Equal(item.Path, got.Path);
                Assert.Equal(item.MediaType, got.MediaType);
                Assert.Equal(item.SizeBytes, got.SizeBytes);
                Assert.Equal(item.ModifiedUtc, got.ModifiedUtc);
                Assert.Equal(item.TakenAt, got.TakenAt);
                Assert.Equal(item.TakenAt?.Offset, got.TakenAt?.Offset);
                Assert.Equal(item.Camera, got.Camera);
                Assert.Equal(item.Width, got.Width);
                Assert.Equal(item.Extra?.GetValueOrDefault("k"), got.Extra?.GetValueOrDefault("k"));
                Assert.Equal(item.Id, c.FindByPath(item.Path)!.Id);
                float[] stored = c.GetVector(item.Id)!;
                Assert.True(TensorPrimitives.Dot(stored, vector) > 0.9999f);
            }

            Assert.Null(c.Get(-5));
            Assert.Null(c.FindByPath("/nowhere"));
            Assert.Null(c.GetVector(-5));
        }
    }

    [Fact]
    public void Upserting_a_path_again_keeps_its_id_and_replaces_it()
    {
        (IVectorCollection c, var rows) = Fill(5);
        using (c)
        {
            (CollectionItem first, _) = rows[0];
            float[] other = rows[4].Vector;
            IReadOnlyList<long> ids = c.Upsert([first with { SizeBytes = 42, Camera = "Nikon" }], [other]);
            Assert.Equal(first.Id, ids[0]);
            Assert.Equal(5, c.Count);
            Assert.Equal(42, c.Get(first.Id)!.SizeBytes);
            Assert.Equal("Nikon", c.Get(first.Id)!.Camera);
            Assert.True(TensorPrimitives.Dot(c.GetVector(first.Id)!, other) > 0.9999f);
        }
    }

    [Fact]
    public void Exact_search_returns_the_true_top_k_best_first()
    {
        (IVectorCollection c, var rows) = Fill(60);
        using (c)
        {
            var random = new Random(7);
            for (int q = 0; q < 3; q++)
            {
                float[] query = RandomUnit(random);
                IReadOnlyList<SearchHit> hits = c.Search(query, 8, mode: SearchMode.Exact);
                Assert.Equal(Oracle(rows, query, 8), hits.Select(h => h.Item.Path).ToList());
                Assert.Equal(TensorPrimitives.Dot(rows.First(r => r.Item.Path == hits[0].Item.Path).Vector, query), hits[0].Score, 3);
                Assert.True(hits.Zip(hits.Skip(1)).All(p => p.First.Score >= p.Second.Score));
            }

            // Batches answer like single searches.
            float[][] queries = [RandomUnit(random), RandomUnit(random)];
            IReadOnlyList<IReadOnlyList<SearchHit>> batch = c.SearchBatch(queries.Select(v => (ReadOnlyMemory<float>)v).ToList(), 5, mode: SearchMode.Exact);
            Assert.Equal(Oracle(rows, queries[1], 5), batch[1].Select(h => h.Item.Path).ToList());
        }
    }

    [Fact]
    public void Approximate_search_finds_each_item_itself_first()
    {
        (IVectorCollection c, var rows) = Fill(80);
        using (c)
        {
            foreach ((CollectionItem item, float[] vector) in rows.Take(10))
            {
                IReadOnlyList<SearchHit> hits = c.Search(vector, 5, mode: SearchMode.Approximate, expansion: 100);
                Assert.Equal(item.Path, hits[0].Item.Path);
                Assert.Equal(1f, hits[0].Score, 3);
            }
        }
    }

    [Fact]
    public void Filters_apply_before_top_k()
    {
        (IVectorCollection c, var rows) = Fill(40);
        using (c)
        {
            float[] query = RandomUnit(new Random(3));
            var cases = new (SearchFilter Filter, Func<CollectionItem, bool> Oracle)[]
            {
                (new SearchFilter { PathPrefix = "/b/" }, i => i.Path.StartsWith("/b/", StringComparison.Ordinal)),
                (new SearchFilter { MediaType = "IMAGE/PNG" }, i => i.MediaType == "image/png"),
                (new SearchFilter { MinWidth = 300, MinSizeBytes = 1025 }, i => i.Width >= 300 && i.SizeBytes >= 1025),
                (new SearchFilter { From = new DateTimeOffset(2024, 1, 10, 0, 0, 0, TimeSpan.Zero) }, i => (i.TakenAt ?? i.ModifiedUtc) >= new DateTimeOffset(2024, 1, 10, 0, 0, 0, TimeSpan.Zero)),
            };
            foreach ((SearchFilter filter, Func<CollectionItem, bool> oracle) in cases)
            {
                List<string> expected = Oracle(rows, query, 6, oracle);
                Assert.NotEmpty(expected);
                Assert.Equal(expected, c.Search(query, 6, filter, SearchMode.Exact).Select(h => h.Item.Path).ToList());
                Assert.All(c.Search(query, 6, filter, SearchMode.Approximate), h => Assert.True(oracle(h.Item), h.Item.Path));
            }
        }
    }

    [Fact]
    public void Deletes_remove_items_from_reads_and_searches()
    {
        (IVectorCollection c, var rows) = Fill(10);
        using (c)
        {
            Assert.True(c.Delete(rows[0].Item.Id));
            Assert.False(c.Delete(rows[0].Item.Id));
            Assert.Equal(2, c.DeleteByPaths([rows[1].Item.Path, rows[2].Item.Path, rows[2].Item.Path, "/missing"]));
            Assert.Equal(7, c.Count);
            Assert.Null(c.Get(rows[1].Item.Id));
            Assert.DoesNotContain(c.Search(rows[0].Vector, 10, mode: SearchMode.Exact), h => h.Item.Id == rows[0].Item.Id);
        }
    }

    [Fact]
    public void Items_stream_in_path_order_and_items_with_vectors_resume_by_id()
    {
        (IVectorCollection c, var rows) = Fill(15);
        using (c)
        {
            List<string> all = c.Items().Select(i => i.Path).ToList();
            Assert.Equal(rows.Select(r => r.Item.Path).Order(StringComparer.Ordinal), all);
            Assert.Equal(rows.Where(r => r.Item.Path.StartsWith("/a/", StringComparison.Ordinal)).Select(r => r.Item.Path).Order(StringComparer.Ordinal),
                c.Items("/a/").Select(i => i.Path));
            var withVectors = c.ItemsWithVectors().ToList();
            Assert.Equal(15, withVectors.Count);
            Assert.Equal(withVectors.Select(r => r.Item.Id).Order(), withVectors.Select(r => r.Item.Id));
            long middle = withVectors[7].Item.Id;
            Assert.Equal(withVectors.Skip(8).Select(r => r.Item.Id), c.ItemsWithVectors(middle).Select(r => r.Item.Id));
            Assert.True(TensorPrimitives.Dot(withVectors[3].Vector, rows.First(r => r.Item.Id == withVectors[3].Item.Id).Vector) > 0.9999f);
        }
    }

    [Fact]
    public void Bad_input_is_refused_with_a_typed_error_and_nothing_written()
    {
        using IVectorCollection c = Store.OpenOrCreate(NewName(), Space);
        float[] good = RandomUnit(new Random(1));
        Assert.Throws<InvalidInputException>(() => c.Upsert([Item("/x", 1)], [new float[Dims + 1]]));
        Assert.Throws<InvalidInputException>(() => c.Upsert([Item("/x", 1)], [new float[Dims]]));
        float[] nan = (float[])good.Clone();
        nan[3] = float.NaN;
        Assert.Throws<InvalidInputException>(() => c.Upsert([Item("/x", 1), Item("/y", 2)], [good, nan]));
        Assert.Throws<InvalidInputException>(() => c.Upsert([Item("/x", 1), Item("/x", 2)], [good, good]));
        Assert.Throws<InvalidInputException>(() => c.Search(good, 0));
        Assert.Throws<InvalidInputException>(() => c.Search(new float[3]));
        Assert.Throws<InvalidInputException>(() => c.FindDuplicates(0f));
        Assert.Equal(0, c.Count);
    }

    [Fact]
    public void A_collection_remembers_its_model_and_refuses_another()
    {
        string name = NewName();
        using (Store.OpenOrCreate(name, Space))
        {
        }

        Assert.True(Store.Exists(name));
        Assert.Throws<EmbeddingSpaceMismatchException>(() => Store.OpenOrCreate(name, new EmbeddingSpace("test", "other-model", "r1", Dims)));
        Assert.Throws<EmbeddingSpaceMismatchException>(() => Store.OpenOrCreate(name, new EmbeddingSpace("test", "conformance", "r1", Dims * 2)));
        using IVectorCollection reopened = Store.Open(name);
        Assert.Equal(Space, reopened.Space);
        Assert.Throws<CollectionNotFoundException>(() => Store.Open(NewName()));
        Assert.Throws<InvalidInputException>(() => Store.Open("../etc"));
    }

    [Fact]
    public void Stores_list_and_delete_collections()
    {
        (IVectorCollection c, _) = Fill(3);
        string name = c.Name;
        c.Dispose();
        CollectionInfo info = Store.List().Single(i => i.Name == name);
        Assert.Equal(3, info.Count);
        Assert.Equal(Space, info.Space);
        Assert.True(Store.Delete(name));
        Assert.False(Store.Exists(name));
        Assert.False(Store.Delete(name));
    }

    [Fact]
    public void Index_state_and_duplicates_work()
    {
        (IVectorCollection c, var rows) = Fill(10);
        using (c)
        {
            Assert.Null(c.GetIndexState("k"));
            c.SetIndexState("k", "1");
            c.SetIndexState("k", "2");
            Assert.Equal("2", c.GetIndexState("k"));

            float[] near = (float[])rows[0].Vector.Clone();
            near[0] += 0.01f;
            c.Upsert([Item("/a/copy.jpg", 99) with { Width = 5000, Height = 5000 }], [near]);
            DuplicateGroup group = Assert.Single(c.FindDuplicates(0.99f));
            Assert.Equal(["/a/copy.jpg", rows[0].Item.Path], group.Members.Select(m => m.Item.Path));
        }
    }

    [Fact]
    public void Optimize_honours_cancellation_and_then_searches_still_work()
    {
        (IVectorCollection c, var rows) = Fill(30);
        using (c)
        {
            using var cancelled = new CancellationTokenSource();
            cancelled.Cancel();
            Assert.ThrowsAny<OperationCanceledException>(() => c.Optimize(cancelled.Token));
            Assert.ThrowsAny<OperationCanceledException>(() => c.Upsert([Item("/z", 1)], [rows[0].Vector], cancelled.Token));
            c.ApproximateThreshold = 10;
            c.Optimize();
            Assert.Equal(rows[5].Item.Path, c.Search(rows[5].Vector, 3)[0].Item.Path);
            Assert.Equal(30, c.Count);
        }
    }

    /// <summary>Items with names, folders, cameras and captions to find by words; vectors random.</summary>
    protected (IVectorCollection Collection, Dictionary<string, CollectionItem> ByName, List<(CollectionItem Item, float[] Vector)> Rows) FillNamed(int noise = 24)
    {
        IVectorCollection c = Store.OpenOrCreate(NewName(), Space);
        var random = new Random(7);
        var items = new List<CollectionItem>
        {
            Item("/photos/2019 Beach Trip/IMG_0042.jpg", 0) with { Camera = "Canon EOS 5D Mark IV" },
            Item("/photos/2019 Beach Trip/IMG_0043.jpg", 1) with { Camera = "NIKON D750" },
            Item("/photos/misc/IMG_1042.jpg", 2) with { Camera = "Canon PowerShot G7 X" },
            Item("/photos/misc/café.jpg", 3) with { Camera = null, Caption = "Été à Paris, \"quoted\" text" },
            Item("/photos/misc/clip.mp4#t=3.2,6.8", 4) with { Camera = null, MediaType = "video/mp4" },
            Item("/store/uploads/3f2a9c-77b1.jpg", 5) with { Extra = new Dictionary<string, string> { ["name"] = "Holiday Snap.jpg" } },
        };
        for (int i = 0; i < noise; i++)
        {
            items.Add(Item($"/other/noise{i:D3}.png", 10 + i) with { Camera = null });
        }

        var rows = items.Select(item => (item, RandomUnit(random))).ToList();
        IReadOnlyList<long> ids = c.Upsert(rows.Select(r => r.item).ToList(), rows.Select(r => (ReadOnlyMemory<float>)r.Item2).ToList());
        var stored = rows.Select((r, i) => (r.item with { Id = ids[i] }, r.Item2)).ToList();
        return (c, stored.ToDictionary(r => Path.GetFileName(r.Item1.Path), r => r.Item1), stored);
    }

    [Theory]
    [InlineData("IMG_0042")]
    [InlineData("img_0042")]
    [InlineData("IMG_0042.jpg")]
    [InlineData("0042")]
    [InlineData("  Img_0042  ")]
    public void Text_search_finds_a_file_by_its_name_in_any_spelling(string query)
    {
        (IVectorCollection c, var byName, _) = FillNamed();
        using (c)
        {
            IReadOnlyList<TextHit> hits = c.SearchText(query, 10);
            TextHit hit = Assert.Single(hits);
            Assert.Equal(byName["IMG_0042.jpg"].Id, hit.Item.Id);
            Assert.True(hit.MatchesAllWords);
            Assert.Equal(byName["IMG_0042.jpg"].Path, hit.Item.Path);
        }
    }

    [Fact]
    public void Text_search_covers_prefixes_folders_cameras_captions_and_diacritics()
    {
        (IVectorCollection c, var byName, _) = FillNamed();
        using (c)
        {
            List<string> Names(string query, SearchFilter? filter = null) =>
                [.. c.SearchText(query, 50, filter).Where(h => h.MatchesAllWords).Select(h => Path.GetFileName(h.Item.Path)).Order(StringComparer.Ordinal)];

            Assert.Equal(["IMG_0042.jpg", "IMG_0043.jpg"], Names("IMG_004"));
            Assert.Equal(["IMG_0042.jpg", "IMG_0043.jpg"], Names("beach trip"));
            Assert.Equal(["IMG_0042.jpg", "IMG_1042.jpg"], Names("canon"));
            Assert.Equal(["IMG_0042.jpg"], Names("EOS 5D"));
            Assert.Equal(["IMG_0043.jpg"], Names("nikon d750"));
            Assert.Equal(["café.jpg"], Names("cafe"));
            Assert.Equal(["café.jpg"], Names("CAFÉ"));
            Assert.Equal(["café.jpg"], Names("ete paris"));
            Assert.Equal(["clip.mp4#t=3.2,6.8"], Names("clip.mp4"));
            Assert.Equal(["3f2a9c-77b1.jpg"], Names("holiday snap")); // an upload, by the name it was uploaded with
            Assert.Empty(Names("2"));
            Assert.Equal(["IMG_1042.jpg"], Names("canon", new SearchFilter { PathPrefix = "/photos/misc/" }));
            Assert.Empty(Names("canon", new SearchFilter { MinWidth = 5000 }));

            // Some words: the items with every word come first and say so; then those with some.
            IReadOnlyList<TextHit> mixed = c.SearchText("canon beach", 10);
            Assert.Equal(byName["IMG_0042.jpg"].Id, mixed[0].Item.Id);
            Assert.True(mixed[0].MatchesAllWords);
            Assert.Equal(
                ["IMG_0043.jpg", "IMG_1042.jpg"],
                mixed.Skip(1).Select(h => Path.GetFileName(h.Item.Path)).Order(StringComparer.Ordinal));
            Assert.All(mixed.Skip(1), h => Assert.False(h.MatchesAllWords));
            Assert.Single(c.SearchText("canon beach", 1));
        }
    }

    [Fact]
    public void Text_index_follows_updates_and_deletes()
    {
        (IVectorCollection c, var byName, var rows) = FillNamed();
        using (c)
        {
            (CollectionItem item, float[] vector) = rows.Single(r => r.Item.Id == byName["IMG_0042.jpg"].Id);
            c.Upsert([item with { Camera = "Fujifilm X100V" }], [vector]);
            Assert.DoesNotContain(c.SearchText("canon", 10), h => h.Item.Id == item.Id);
            Assert.Equal(item.Id, Assert.Single(c.SearchText("fujifilm", 10)).Item.Id);
            Assert.True(c.Delete(item.Id));
            Assert.Empty(c.SearchText("IMG_0042", 10));
            Assert.Empty(c.SearchText("fujifilm", 10));
            Assert.Equal(1, c.DeleteByPaths([byName["IMG_1042.jpg"].Path]));
            Assert.Empty(c.SearchText("canon", 10));
        }
    }

    [Theory]
    [InlineData("\"")]
    [InlineData("\"\"")]
    [InlineData("*")]
    [InlineData("IMG*")]
    [InlineData("NEAR(img 0042)")]
    [InlineData("NEAR(")]
    [InlineData("-canon")]
    [InlineData("canon -nikon")]
    [InlineData("camera:canon")]
    [InlineData("name : img")]
    [InlineData("AND OR NOT")]
    [InlineData("canon AND")]
    [InlineData("^img")]
    [InlineData("(((")]
    [InlineData("{name folder}: img")]
    [InlineData("'; DROP TABLE items; --")]
    [InlineData("a & b | !c <-> d:*")]
    [InlineData("\\")]
    [InlineData("%_%")]
    [InlineData("日本語の写真 😀 e\u0301")]
    [InlineData("\ud800 lone")]
    [InlineData("\u0000")]
    [InlineData("")]
    [InlineData("   ")]
    public void Hostile_text_never_errors(string query)
    {
        (IVectorCollection c, var byName, _) = FillNamed(noise: 2);
        using (c)
        {
            IReadOnlyList<TextHit> hits = c.SearchText(query, 10);
            Assert.NotNull(hits);
            // The words in it still count: '-canon' or 'canon AND' finds the Canon photos ('camera:canon' is one
            // word, the phrase "camera canon", which nothing contains).
            if (query.Split(' ').Any(w => w.TrimStart('-') == "canon"))
            {
                Assert.Contains(hits, h => h.Item.Id == byName["IMG_0042.jpg"].Id);
            }
        }
    }

    [Fact]
    public void A_very_long_query_or_caption_is_handled()
    {
        IVectorCollection c = Store.OpenOrCreate(NewName(), Space);
        using (c)
        {
            string caption = string.Join(' ', Enumerable.Range(0, 5000).Select(i => "word" + i.ToString(System.Globalization.CultureInfo.InvariantCulture))) + new string('x', 5000);
            c.Upsert([Item("/long/caption.jpg", 0) with { Caption = caption }], [RandomUnit(new Random(3))]);
            Assert.Single(c.SearchText("word17", 10));
            Assert.Empty(c.SearchText(string.Join(' ', Enumerable.Repeat("nothing", 2000)), 10));
            Assert.Single(c.SearchText(new string('w', 100_000) + " word17", 10));
        }
    }

    [Fact]
    public void Hybrid_search_finds_a_file_by_name_that_the_vector_cutoff_drops_and_vector_mode_is_unchanged()
    {
        (IVectorCollection c, var byName, var rows) = FillNamed();
        using (c)
        {
            // The query vector is another item's own: it stands out in the vector ranking; IMG_0042 does not.
            (CollectionItem target, float[] vector) = rows.Single(r => r.Item.Path.EndsWith("noise005.png", StringComparison.Ordinal));
            var query = new Omnivec.Indexing.Query.ComposedQuery(vector, []) { Words = "IMG_0042" };
            var options = new Omnivec.Indexing.Query.RankedSearchOptions { Top = 10 };

            // Vector mode: exactly the brute-force ranking cut where the relevance cutoff says.
            var vectorOnly = Omnivec.Indexing.Query.RankedSearch.Run(c, query, options with { Retrieval = Omnivec.Indexing.Query.RetrievalMode.Vector });
            float[] scores = [.. rows.Select(r => TensorPrimitives.Dot(r.Vector, vector)).OrderDescending()];
            var cutoff = Omnivec.Indexing.Query.RelevanceCutoff.Estimate(scores, scores.Length)!;
            List<string> expected = [.. rows.Where(r => TensorPrimitives.Dot(r.Vector, vector) >= cutoff.Threshold)
                .OrderByDescending(r => TensorPrimitives.Dot(r.Vector, vector)).Select(r => r.Item.Path)];
            Assert.Equal(expected, vectorOnly.Hits.Select(h => h.Item.Path));
            Assert.Contains(target.Path, expected);
            Assert.DoesNotContain(byName["IMG_0042.jpg"].Path, expected);
            Assert.Equal(Omnivec.Indexing.Query.RetrievalMode.Vector, vectorOnly.Retrieval);

            // Hybrid: the vector match and the file named in the query both pass; the name match says so.
            var hybrid = Omnivec.Indexing.Query.RankedSearch.Run(c, query, options);
            Assert.False(hybrid.NoMatch);
            Assert.Equal([.. expected.Append(byName["IMG_0042.jpg"].Path).Order(StringComparer.Ordinal)], hybrid.Hits.Select(h => h.Item.Path).Order(StringComparer.Ordinal));
            Assert.Equal([byName["IMG_0042.jpg"].Id], hybrid.TextMatches);
            SearchHit named = hybrid.Hits.Single(h => h.Item.Id == byName["IMG_0042.jpg"].Id);
            Assert.Equal(TensorPrimitives.Dot(rows.Single(r => r.Item.Id == named.Item.Id).Vector, vector), named.Score, 4);

            // Text mode: only the name match; a query without words is refused there and is a vector search in hybrid.
            var text = Omnivec.Indexing.Query.RankedSearch.Run(c, query, options with { Retrieval = Omnivec.Indexing.Query.RetrievalMode.Text });
            Assert.Equal([byName["IMG_0042.jpg"].Path], text.Hits.Select(h => h.Item.Path));
            var noWords = query with { Words = null };
            Assert.Throws<InvalidInputException>(() => Omnivec.Indexing.Query.RankedSearch.Run(c, noWords, options with { Retrieval = Omnivec.Indexing.Query.RetrievalMode.Text }));
            Assert.Equal(vectorOnly.Hits.Select(h => h.Item.Id), Omnivec.Indexing.Query.RankedSearch.Run(c, noWords, options).Hits.Select(h => h.Item.Id));

            // Nothing by name and nothing by meaning: no match in either mode.
            var nothing = new Omnivec.Indexing.Query.ComposedQuery(RandomUnit(new Random(99)), []) { Words = "zebra" };
            var textNothing = Omnivec.Indexing.Query.RankedSearch.Run(c, nothing, options with { Retrieval = Omnivec.Indexing.Query.RetrievalMode.Text });
            Assert.True(textNothing.NoMatch);
            Assert.Empty(textNothing.Hits);
        }
    }

    [Theory]
    [InlineData(700)]
    [InlineData(10_600)] // more items than one exact ranking holds: what lies beyond it is bounded by its last score
    public void Ranked_search_over_ids_gives_exactly_what_ranking_every_record_gives(int count)
    {
        (IVectorCollection c, List<float[]> centres) = FillWorded(count);
        using (c)
        {
            var random = new Random(5);
            string[] phrases = ["dog beach", "photo", "dog", "cat sun", "beach zebra", "IMG", "photo of a dog on the beach", "zebra"];
            var queries = new List<(string What, float[] Vector)>
            {
                ("a cluster's centre", centres[0]),
                ("between two clusters", Unit(centres[1].Zip(centres[2], (a, b) => a + b).ToArray())),
                ("noise", RandomUnit(random)),
            };
            RankedSearchOptions[] variants =
            [
                new() { Top = 10 },
                new() { Top = 3 },
                new() { Top = 50, Order = ResultOrder.Date },
                new() { Top = 10, MinScore = 0.2f },
                new() { Top = 10, AutomaticCutoff = false, MinScore = 0.1f },
                new() { Top = 10, Filter = new SearchFilter { PathPrefix = "/a/" } },
                new() { Top = 10, Retrieval = RetrievalMode.Vector },
            ];
            foreach ((string what, float[] vector) in queries)
            {
                foreach (string words in count > Collection.MaxTop ? phrases[5..] : phrases)
                {
                    foreach (RankedSearchOptions options in variants)
                    {
                        var query = new ComposedQuery(vector, []) { Words = words };
                        RankedSearchOracle.AssertSame(RankedSearchOracle.Run(c, query, options), RankedSearch.Run(c, query, options),
                            $"{what}, '{words}', top {options.Top}, {options.Retrieval}, min {options.MinScore}, auto {options.AutomaticCutoff}, filter {options.Filter?.PathPrefix}");
                    }
                }
            }

            // An example item is left out of its own results, and out of the name matches.
            long example = c.SearchScores(centres[0], 1)[0].Id;
            var withExample = new ComposedQuery(centres[0], [example]) { Words = "dog" };
            RankedSearchOracle.AssertSame(RankedSearchOracle.Run(c, withExample, new()), RankedSearch.Run(c, withExample, new()), "with an example item");
        }
    }

    [Fact]
    public void Scores_items_and_text_scores_by_id_match_the_full_reads()
    {
        (IVectorCollection c, List<float[]> centres) = FillWorded(300);
        using (c)
        {
            IReadOnlyList<SearchHit> hits = c.Search(centres[0], 40, mode: SearchMode.Exact);
            Assert.Equal(hits.Select(h => new ScoredId(h.Item.Id, h.Score)), c.SearchScores(centres[0], 40, mode: SearchMode.Exact));
            IReadOnlyList<TextHit> text = c.SearchText("dog beach", 100);
            Assert.Equal(text.Select(h => new TextScore(h.Item.Id, h.Relevance, h.MatchesAllWords)), c.SearchTextScores("dog beach", 100));
            Assert.Equal(text.TakeWhile(h => h.MatchesAllWords).Select(h => h.Item.Id), c.SearchTextScores("dog beach", 100, allWordsOnly: true).Select(h => h.Id));
            Assert.Empty(c.SearchTextScores("!!", 10));

            long[] ids = [hits[3].Item.Id, -5, hits[0].Item.Id, hits[3].Item.Id];
            IReadOnlyList<CollectionItem?> items = c.GetItems(ids);
            Assert.Equal([hits[3].Item.Path, null, hits[0].Item.Path, hits[3].Item.Path], items.Select(i => i?.Path));
            Assert.Equal(hits[0].Item.ContentHash, items[2]!.ContentHash);
            Assert.Empty(c.GetItems([]));
        }
    }

    /// <summary>
    /// Items named from a few words (dog, beach, cat, sun, photo) in /a/ and /b/, with vectors in tight clusters around
    /// eight centres (so a centre's query has items standing out above the cutoff) and noise.
    /// </summary>
    private (IVectorCollection Collection, List<float[]> Centres) FillWorded(int count)
    {
        IVectorCollection c = Store.OpenOrCreate(NewName(), Space);
        var random = new Random(count);
        List<float[]> centres = [.. Enumerable.Range(0, 8).Select(_ => RandomUnit(random))];
        string[] vocabulary = ["dog", "beach", "cat", "sun", "photo", "img"];
        var items = new List<CollectionItem>();
        var vectors = new List<ReadOnlyMemory<float>>();
        for (int i = 0; i < count; i++)
        {
            string name = $"{vocabulary[random.Next(vocabulary.Length)]}_{vocabulary[random.Next(vocabulary.Length)]}_{i}.jpg";
            items.Add(Item($"/{(i % 3 == 0 ? "a" : "b")}/{name}", i));
            float[] v = i % 10 == 0 ? [.. centres[i / 10 % 8].Select(x => x + (float)(random.NextDouble() - 0.5) * 0.15f)] : RandomUnit(random);
            vectors.Add(Unit(v));
        }

        for (int start = 0; start < count; start += 2000)
        {
            int n = Math.Min(2000, count - start);
            c.Upsert(items.GetRange(start, n), vectors.GetRange(start, n));
        }

        return (c, centres);
    }

    private static float[] Unit(float[] v)
    {
        TensorPrimitives.Divide(v, TensorPrimitives.Norm(v), v);
        return v;
    }
}

/// <summary>The embedded store (SQLite + in-memory matrix + HNSW graph over it) runs the conformance suite.</summary>
public sealed class EmbeddedStoreConformanceTests : StoreConformanceTests, IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "omnivec-conf-" + Guid.NewGuid().ToString("N"));

    public EmbeddedStoreConformanceTests() => Store = new CollectionStore(_root);

    protected override IVectorStore Store { get; }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}

/// <summary>The PostgreSQL store (pgvector in PGlite, or OMNIVEC_TEST_POSTGRES) runs the same conformance suite.</summary>
public sealed class PostgresStoreConformanceTests : StoreConformanceTests, IClassFixture<PgliteServer>, IDisposable
{
    private readonly PostgresStore _store;

    public PostgresStoreConformanceTests(PgliteServer server) => _store = new PostgresStore(server.Uri);

    protected override IVectorStore Store => _store;

    public void Dispose() => _store.Dispose();
}
