using System.Numerics.Tensors;
using Omnivec.Index.Hnsw;

namespace Omnivec.Index.Search;

/// <summary>Near-duplicate grouping: pairs above a cosine threshold, joined transitively (union-find).</summary>
internal static class Duplicates
{
    public static IReadOnlyList<DuplicateGroup> Find(VectorMatrix m, List<int> rows, RowSet? allowed, float threshold, HnswIndex? hnsw, int neighbours)
    {
        var parent = new int[m.Count];
        for (int i = 0; i < parent.Length; i++)
        {
            parent[i] = i;
        }

        var pairs = new List<(int A, int B)>();
        var gate = new Lock();
        if (hnsw is null)
        {
            // All pairs among the candidate rows; parallel over the first member.
            Parallel.For(0, rows.Count, () => new List<(int, int)>(), (i, _, local) =>
            {
                ReadOnlySpan<float> a = m.Row(rows[i]);
                for (int j = i + 1; j < rows.Count; j++)
                {
                    if (TensorPrimitives.Dot(a, m.Row(rows[j])) >= threshold)
                    {
                        local.Add((rows[i], rows[j]));
                    }
                }

                return local;
            }, local =>
            {
                lock (gate)
                {
                    pairs.AddRange(local);
                }
            });
        }
        else
        {
            IdBitmap? ids = null;
            if (allowed is not null)
            {
                ids = new IdBitmap(m.MaxId);
                foreach (int row in allowed.Rows)
                {
                    ids.Set(m.Ids[row]);
                }
            }

            Parallel.For(0, rows.Count, () => (Keys: new ulong[neighbours + 1], Scores: new float[neighbours + 1], Pairs: new List<(int, int)>()), (i, _, local) =>
            {
                int row = rows[i];
                float[] query = m.Row(row).ToArray();
                int found = hnsw.Search(query, neighbours + 1, local.Keys, local.Scores, ids);
                for (int n = 0; n < found; n++)
                {
                    if (local.Scores[n] >= threshold && m.TryGetRow((long)local.Keys[n], out int other) && other != row)
                    {
                        local.Pairs.Add((row, other));
                    }
                }

                return local;
            }, local =>
            {
                lock (gate)
                {
                    pairs.AddRange(local.Pairs);
                }
            });
        }

        foreach ((int a, int b) in pairs)
        {
            Union(parent, a, b);
        }

        var groups = new Dictionary<int, List<int>>();
        var grouped = new bool[m.Count];
        foreach ((int a, int b) in pairs)
        {
            foreach (int r in (ReadOnlySpan<int>)[a, b])
            {
                if (grouped[r])
                {
                    continue;
                }

                grouped[r] = true;
                int root = FindRoot(parent, r);
                if (!groups.TryGetValue(root, out List<int>? members))
                {
                    groups[root] = members = [];
                }

                members.Add(r);
            }
        }

        var result = new List<DuplicateGroup>(groups.Count);
        foreach (List<int> members in groups.Values)
        {
            members.Sort((x, y) => CompareQuality(m.Item(x), m.Item(y)));
            ReadOnlySpan<float> best = m.Row(members[0]);
            var hits = new SearchHit[members.Count];
            for (int i = 0; i < members.Count; i++)
            {
                hits[i] = new SearchHit(m.Item(members[i]), i == 0 ? 1f : TensorPrimitives.Dot(best, m.Row(members[i])));
            }

            result.Add(new DuplicateGroup(hits));
        }

        result.Sort((x, y) => x.Members.Count != y.Members.Count
            ? y.Members.Count.CompareTo(x.Members.Count)
            : string.CompareOrdinal(x.Members[0].Item.Path, y.Members[0].Item.Path));
        return result;
    }

    /// <summary>Best first: most pixels, then largest file, then lowest id (stable).</summary>
    internal static int CompareQuality(CollectionItem a, CollectionItem b)
    {
        int c = ((long)b.Width * b.Height).CompareTo((long)a.Width * a.Height);
        if (c != 0)
        {
            return c;
        }

        c = b.SizeBytes.CompareTo(a.SizeBytes);
        return c != 0 ? c : a.Id.CompareTo(b.Id);
    }

    private static int FindRoot(int[] parent, int x)
    {
        while (parent[x] != x)
        {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }

        return x;
    }

    private static void Union(int[] parent, int a, int b)
    {
        int ra = FindRoot(parent, a);
        int rb = FindRoot(parent, b);
        if (ra != rb)
        {
            parent[Math.Max(ra, rb)] = Math.Min(ra, rb);
        }
    }
}
