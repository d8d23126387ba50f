using System.Numerics.Tensors;
using Npgsql;
using Omnivec.Index;

namespace Omnivec.Index.Postgres.Tests;

/// <summary>Connection URIs: converted for Npgsql, refused with a typed error when they are not URIs.</summary>
public sealed class PostgresUriTests
{
    [Fact]
    public void A_libpq_uri_becomes_an_npgsql_connection_string()
    {
        NpgsqlConnectionStringBuilder b = PostgresUri.Parse("postgresql://omni%40user:p%3Ass@db.example.com:6543/photos?sslmode=require&application_name=omnivec&Maximum%20Pool%20Size=7");
        Assert.Equal("db.example.com", b.Host);
        Assert.Equal(6543, b.Port);
        Assert.Equal("photos", b.Database);
        Assert.Equal("omni@user", b.Username);
        Assert.Equal("p:ss", b.Password);
        Assert.Equal(SslMode.Require, b.SslMode);
        Assert.Equal("omnivec", b.ApplicationName);
        Assert.Equal(7, b.MaxPoolSize);
        Assert.Equal(5432, PostgresUri.Parse("postgres://u@localhost/db").Port);
    }

    [Fact]
    public void Bad_uris_are_typed_errors_and_passwords_are_redacted()
    {
        Assert.Throws<PostgresStoreException>(() => PostgresUri.Parse("mysql://u:p@h/db"));
        Assert.Throws<PostgresStoreException>(() => PostgresUri.Parse("postgresql://"));
        PostgresStoreException e = Assert.Throws<PostgresStoreException>(() => PostgresUri.Parse("postgresql://u:secret@h/db?sslmode=sometimes"));
        Assert.DoesNotContain("secret", e.Message, StringComparison.Ordinal);
        Assert.Equal("postgresql://u:***@h:5/db", PostgresUri.Redact("postgresql://u:secret@h:5/db"));
        Assert.True(PostgresUri.IsPostgres("postgresql://h/db"));
        Assert.False(PostgresUri.IsPostgres("/var/lib/omnivec"));
    }

    [Fact]
    public void An_unreachable_server_is_a_typed_error()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there now
        using var store = new PostgresStore($"postgresql://u:p@127.0.0.1:{port}/db?connect_timeout=5", new PostgresStoreOptions { MaxRetries = 1, RetryDelay = TimeSpan.FromMilliseconds(10) });
        PostgresStoreException e = Assert.Throws<PostgresStoreException>(() => store.List());
        Assert.DoesNotContain(":p@", e.Message, StringComparison.Ordinal);
    }
}

/// <summary>PostgreSQL-only behaviour, against real pgvector (PGlite, or OMNIVEC_TEST_POSTGRES).</summary>
public sealed class PostgresStoreTests : IClassFixture<PgliteServer>
{
    private const int Dims = 16;
    private readonly PgliteServer _server;

    public PostgresStoreTests(PgliteServer server) => _server = server;

    private static EmbeddingSpace Space => new("test", "pg", "r1", Dims);

    private static float[] Unit(Random random)
    {
        var v = new float[Dims];
        for (int i = 0; i < Dims; i++)
        {
            v[i] = (float)(random.NextDouble() * 2 - 1);
        }

        TensorPrimitives.Divide(v, TensorPrimitives.Norm(v), v);
        return v;
    }

    [Fact]
    public void A_wrong_password_is_a_typed_error_naming_the_login()
    {
        if (_server.IsExternal)
        {
            return; // the external server's users are not ours to guess; PGlite checks the password in the wrapper
        }

        using var store = new PostgresStore(_server.UriWithPassword("wrong"));
        PostgresStoreException e = Assert.Throws<PostgresStoreException>(() => store.List());
        Assert.Contains("refused the login", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_schema_version_is_recorded_once_and_pgvector_is_installed()
    {
        using (var store = new PostgresStore(_server.Uri))
        {
            _ = store.List();
        }

        using (var again = new PostgresStore(_server.Uri))
        {
            _ = again.List();
        }

        using var connection = new NpgsqlConnection(PostgresUri.Parse(_server.Uri).ConnectionString);
        connection.Open();
        using var versions = new NpgsqlCommand("SELECT count(*), max(version) FROM omnivec_schema_version", connection);
        using (NpgsqlDataReader r = versions.ExecuteReader())
        {
            r.Read();
            Assert.Equal(PostgresStore.SchemaVersion, r.GetInt64(0));
            Assert.Equal(PostgresStore.SchemaVersion, r.GetInt32(1));
        }

        using var ext = new NpgsqlCommand("SELECT extversion FROM pg_extension WHERE extname = 'vector'", connection);
        Assert.NotNull(ext.ExecuteScalar());
    }

    [Fact]
    public void Halfvec_collections_store_half_precision_and_search_the_same()
    {
        using var store = new PostgresStore(_server.Uri, new PostgresStoreOptions { VectorType = PgVectorType.HalfVec });
        using IVectorCollection c = store.OpenOrCreate("half-" + Guid.NewGuid().ToString("N")[..8], Space);
        var random = new Random(5);
        float[][] vectors = Enumerable.Range(0, 20).Select(_ => Unit(random)).ToArray();
        c.Upsert(vectors.Select((_, i) => new CollectionItem { Path = $"/h/{i}" }).ToList(), vectors.Select(v => (ReadOnlyMemory<float>)v).ToList());
        foreach (SearchMode mode in (SearchMode[])[SearchMode.Exact, SearchMode.Approximate])
        {
            IReadOnlyList<SearchHit> hits = c.Search(vectors[7], 3, mode: mode);
            Assert.Equal("/h/7", hits[0].Item.Path);
            Assert.Equal(1f, hits[0].Score, 2);
        }

        float[] stored = c.GetVector(c.FindByPath("/h/7")!.Id)!;
        Assert.True(TensorPrimitives.Dot(stored, vectors[7]) > 0.999f);
    }

    [Fact]
    public void Concurrent_writers_on_separate_connections_end_with_every_path_exactly_once()
    {
        // Two stores (two connection pools, like two `omnivec index` processes) write overlapping batches at once.
        // On PGlite the wrapper runs their transactions one at a time; on PostgreSQL they truly overlap.
        string name = "conc-" + Guid.NewGuid().ToString("N")[..8];
        using var a = new PostgresStore(_server.Uri);
        using var b = new PostgresStore(_server.Uri);
        using IVectorCollection ca = a.OpenOrCreate(name, Space);
        using IVectorCollection cb = b.OpenOrCreate(name, Space);
        var random = new Random(9);
        float[][] vectors = Enumerable.Range(0, 60).Select(_ => Unit(random)).ToArray();

        void Write(IVectorCollection c, int offset)
        {
            for (int start = offset; start < 60; start += 20)
            {
                int[] rows = Enumerable.Range(start, 20).Where(i => i < 60).ToArray();
                c.Upsert(rows.Select(i => new CollectionItem { Path = $"/p/{i:D3}" }).ToList(), rows.Select(i => (ReadOnlyMemory<float>)vectors[i]).ToList());
            }
        }

        Parallel.Invoke(() => Write(ca, 0), () => Write(cb, 10), () => Write(ca, 0));
        Assert.Equal(60, ca.Count);
        Assert.Equal(Enumerable.Range(0, 60).Select(i => $"/p/{i:D3}"), cb.Items().Select(i => i.Path));
        Assert.Equal(60, cb.Items().Select(i => i.Id).Distinct().Count());
    }

    [Fact]
    public void A_collection_made_before_the_lexical_index_is_migrated_on_open_and_found_by_name()
    {
        // A collection as the Omnivec before the lexical index made it: the table of that version (no lexical tsvector,
        // no GIN index) and rows written by that version's insert.
        string name = "old-" + Guid.NewGuid().ToString("N")[..8];
        var random = new Random(21);
        float[][] vectors = Enumerable.Range(0, 12).Select(_ => Unit(random)).ToArray();
        string[] paths = Enumerable.Range(0, 12).Select(i => $"/photos/misc/{i:D2}.jpg").ToArray();
        paths[3] = "/photos/2019/IMG_0042.jpg";
        using (var store = new PostgresStore(_server.Uri))
        using (store.OpenOrCreate(name, Space))
        {
        }

        using var connection = new NpgsqlConnection(PostgresUri.Parse(_server.Uri).ConnectionString);
        connection.Open();
        object? Sql(string sql, params (string Name, object Value)[] parameters)
        {
            using var command = new NpgsqlCommand(sql, connection);
            foreach ((string n, object v) in parameters)
            {
                command.Parameters.AddWithValue(n, v);
            }

            return command.ExecuteScalar();
        }

        string table = "omnivec_items_" + Convert.ToInt64(Sql("SELECT id FROM omnivec_collections WHERE name = @n", ("n", name)), System.Globalization.CultureInfo.InvariantCulture);
        void OldInsert(string path, string? camera, float[] vector) => Sql(
            $"INSERT INTO {table}(path, media_type, size_bytes, modified_ticks, content_hash, width, height, camera, embedding) VALUES(@p, 'image/jpeg', 1000, 638000000000000000, 'h', 640, 480, @c, @e::vector)",
            ("p", path), ("c", (object?)camera ?? DBNull.Value), ("e", "[" + string.Join(',', vector.Select(x => x.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "]"));
        Sql($"""
            DROP TABLE {table};
            CREATE TABLE {table}(
                id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                path text COLLATE "C" NOT NULL UNIQUE,
                media_type text NOT NULL,
                size_bytes bigint NOT NULL,
                modified_ticks bigint NOT NULL,
                content_hash text NOT NULL,
                width integer NOT NULL,
                height integer NOT NULL,
                taken_ticks bigint,
                taken_offset_min integer,
                camera text,
                caption text,
                extra jsonb,
                when_ticks bigint GENERATED ALWAYS AS (coalesce(taken_ticks, modified_ticks)) STORED,
                embedding vector({Dims}) NOT NULL)
            """);
        for (int i = 0; i < paths.Length; i++)
        {
            OldInsert(paths[i], i == 5 ? "Canon EOS R5" : null, vectors[i]);
        }

        string LexicalColumns() => Convert.ToString(Sql(
            $"SELECT count(*) || ',' || (SELECT count(*) FROM pg_indexes WHERE tablename = '{table}' AND indexdef LIKE '%gin%') FROM pg_attribute WHERE attrelid = '{table}'::regclass AND attname = 'lexical' AND NOT attisdropped"),
            System.Globalization.CultureInfo.InvariantCulture)!;
        Assert.Equal("0,0", LexicalColumns());

        // Opening it with this version adds the column and its index and fills them: the photo is found by its name and camera.
        using (var store = new PostgresStore(_server.Uri))
        using (IVectorCollection c = store.Open(name))
        {
            Assert.Equal("1,1", LexicalColumns());
            Assert.Equal(0L, Sql($"SELECT count(*) FROM {table} WHERE lexical IS NULL"));
            Assert.Equal(paths[3], Assert.Single(c.SearchText("IMG_0042")).Item.Path);
            Assert.Equal(paths[5], Assert.Single(c.SearchText("canon")).Item.Path);

            // A hybrid search for the file name finds it first although its picture is the farthest from the query's
            // vector; the vector mode alone does not lift it.
            float[] away = [.. vectors[3].Select(x => -x)];
            var query = new Omnivec.Indexing.Query.ComposedQuery(away, []) { Words = "IMG_0042" };
            Omnivec.Indexing.Query.RankedSearchResult hybrid = Omnivec.Indexing.Query.RankedSearch.Run(c, query, new() { Top = 5 });
            Assert.Equal(paths[3], hybrid.Hits[0].Item.Path);
            Assert.False(hybrid.NoMatch);
            Omnivec.Indexing.Query.RankedSearchResult vector = Omnivec.Indexing.Query.RankedSearch.Run(c, query,
                new() { Top = 5, AutomaticCutoff = false, Retrieval = Omnivec.Indexing.Query.RetrievalMode.Vector });
            Assert.DoesNotContain(paths[3], vector.Hits.Select(h => h.Item.Path));
        }

        // An older Omnivec writes to it again (its insert leaves the lexical column empty): the next open fills it in.
        OldInsert("/photos/2020/DSC_7.jpg", null, vectors[0]);
        using (var store = new PostgresStore(_server.Uri))
        using (IVectorCollection c = store.Open(name))
        {
            Assert.Equal("/photos/2020/DSC_7.jpg", Assert.Single(c.SearchText("dsc_7")).Item.Path);
            Assert.Equal(13, c.Count);
        }
    }
}

/// <summary>A PostgreSQL without pgvector: a clear typed error, not a SQL error deep inside.</summary>
public sealed class PostgresWithoutPgvectorTests
{
    [Fact]
    public void A_database_without_pgvector_is_a_typed_error_saying_what_to_install()
    {
        using var server = new PgliteServer(withVector: false);
        using var store = new PostgresStore(server.Uri);
        PostgresStoreException e = Assert.Throws<PostgresStoreException>(() => store.OpenOrCreate("x", Space()));
        Assert.Contains("pgvector", e.Message, StringComparison.Ordinal);

        static EmbeddingSpace Space() => new("test", "pg", "r1", 4);
    }
}

/// <summary><c>collections copy</c>: embedded → PostgreSQL → embedded, without re-embedding, verified, resumable.</summary>
public sealed class CollectionCopyTests : IClassFixture<PgliteServer>, IDisposable
{
    private readonly PgliteServer _server;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "omnivec-copy-" + Guid.NewGuid().ToString("N"));

    public CollectionCopyTests(PgliteServer server) => _server = server;

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public void A_collection_moves_both_ways_with_identical_search_results()
    {
        var embedded = new CollectionStore(Path.Combine(_root, "a"));
        var back = new CollectionStore(Path.Combine(_root, "b"));
        using var pg = new PostgresStore(_server.Uri);
        string name = "copy-" + Guid.NewGuid().ToString("N")[..8];
        var space = new EmbeddingSpace("test", "copy", "r1", 24);
        var random = new Random(11);
        float[][] vectors = Enumerable.Range(0, 2500).Select(_ =>
        {
            var v = new float[24];
            for (int d = 0; d < 24; d++)
            {
                v[d] = (float)(random.NextDouble() * 2 - 1);
            }

            return v;
        }).ToArray();
        using (IVectorCollection source = embedded.OpenOrCreate(name, space))
        {
            source.Upsert(vectors.Select((_, i) => new CollectionItem { Path = $"/c/{i:D5}.jpg", SizeBytes = i, Camera = i % 7 == 0 ? "X" : null }).ToList(),
                vectors.Select(v => (ReadOnlyMemory<float>)v).ToList());
        }

        // Resume: a first run that stops after some batches (simulated by a pre-existing partial copy) completes.
        using (IVectorCollection partial = pg.OpenOrCreate(name, space))
        using (IVectorCollection source = embedded.Open(name))
        {
            var first = source.ItemsWithVectors().Take(1000).ToList();
            partial.Upsert(first.Select(r => r.Item with { Id = 0 }).ToList(), first.Select(r => (ReadOnlyMemory<float>)r.Vector).ToList());
            partial.SetIndexState("copy.from:" + embedded.Location, first[^1].Item.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        CollectionCopyReport there = CollectionCopy.Run(embedded, pg, name);
        Assert.Equal(1500, there.Copied);
        Assert.Equal(2500, there.Count);
        CollectionCopyReport home = CollectionCopy.Run(pg, back, name);
        Assert.Equal(2500, home.Copied);
        Assert.Equal(there.Checksum, home.Checksum);

        using IVectorCollection a = embedded.Open(name);
        using IVectorCollection p = pg.Open(name);
        using IVectorCollection b = back.Open(name);
        foreach (float[] query in vectors.Take(5))
        {
            List<string> expected = a.Search(query, 10, mode: SearchMode.Exact).Select(h => h.Item.Path).ToList();
            Assert.Equal(expected, p.Search(query, 10, mode: SearchMode.Exact).Select(h => h.Item.Path).ToList());
            Assert.Equal(expected, b.Search(query, 10, mode: SearchMode.Exact).Select(h => h.Item.Path).ToList());
        }

        // A copy into a collection of another model is refused by the provenance guard.
        using (embedded.OpenOrCreate("other", new EmbeddingSpace("test", "other", "r1", 24)))
        {
        }

        using (pg.OpenOrCreate("other", space))
        {
        }

        Assert.Throws<EmbeddingSpaceMismatchException>(() => CollectionCopy.Run(embedded, pg, "other"));
    }
}
