using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Omnivec.Index;

/// <summary>What <see cref="CollectionCopy.Run"/> did.</summary>
/// <param name="Copied">Items written in this run (a resumed run counts only the rest).</param>
/// <param name="Count">Items in the target after the copy (equal to the source's).</param>
/// <param name="Checksum">Order-independent checksum of every item's metadata and vector (equal on both sides).</param>
public sealed record CollectionCopyReport(long Copied, long Count, string Checksum);

/// <summary>
/// Copies a collection between stores (embedded ↔ PostgreSQL) with its stored vectors: no model runs. Batches are
/// idempotent upserts, and the last copied source id is recorded in the target after each batch, so an interrupted
/// copy continues where it stopped. The result is verified by item count and a checksum over both sides.
/// </summary>
public static class CollectionCopy
{
    /// <summary>Copies collection <paramref name="name"/> from <paramref name="from"/> to <paramref name="to"/>.</summary>
    /// <exception cref="CollectionCorruptException">The copy does not match the source (count or checksum).</exception>
    public static CollectionCopyReport Run(IVectorStore from, IVectorStore to, string name, int batchSize = 1000, IProgress<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        using IVectorCollection source = from.Open(name);
        // The target remembers the source's model: copying into a collection of another model is refused.
        using IVectorCollection target = to.OpenOrCreate(name, source.Space);
        string key = "copy.from:" + from.Location;
        long after = long.TryParse(target.GetIndexState(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out long done) ? done : 0;
        long copied = 0;
        var items = new List<CollectionItem>(batchSize);
        var vectors = new List<ReadOnlyMemory<float>>(batchSize);
        long lastId = after;
        foreach ((CollectionItem item, float[] vector) in source.ItemsWithVectors(after))
        {
            items.Add(item with { Id = 0 });
            vectors.Add(vector);
            lastId = item.Id;
            if (items.Count >= Math.Max(1, batchSize))
            {
                Flush();
            }
        }

        Flush();
        target.Optimize(cancellationToken);

        Fingerprint a = Checksum(source);
        Fingerprint b = Checksum(target);
        if (!a.Matches(b))
        {
            throw new CollectionCorruptException(
                $"The copy of '{name}' does not match its source: {b.Count} items (source {a.Count}), checksum {b.Checksum} (source {a.Checksum}). " +
                "Items deleted from the source after an earlier copy stay in the target: delete the target collection and copy again.");
        }

        return new CollectionCopyReport(copied, b.Count, b.Checksum);

        void Flush()
        {
            if (items.Count == 0)
            {
                return;
            }

            cancellationToken.ThrowIfCancellationRequested();
            target.Upsert(items, vectors, cancellationToken);
            target.SetIndexState(key, lastId.ToString(CultureInfo.InvariantCulture));
            copied += items.Count;
            progress?.Report(copied);
            items.Clear();
            vectors.Clear();
        }
    }

    /// <summary>
    /// Item count, an order-independent checksum (sum of per-item SHA-256 prefixes) over every item's path and
    /// metadata, and the sums of every vector's projections on four fixed directions. Metadata must match exactly;
    /// the projections within rounding (stores re-normalise on write, and a halfvec store keeps float16).
    /// </summary>
    public static Fingerprint Checksum(IVectorCollection collection)
    {
        ArgumentNullException.ThrowIfNull(collection);
        int dims = collection.Space.Dimensions;
        var probes = new float[4][];
        var random = new Random(20240601);
        for (int k = 0; k < probes.Length; k++)
        {
            probes[k] = new float[dims];
            for (int i = 0; i < dims; i++)
            {
                probes[k][i] = (float)(random.NextDouble() * 2 - 1);
            }

            float norm = MathF.Sqrt(probes[k].Sum(x => x * x));
            for (int i = 0; i < dims; i++)
            {
                probes[k][i] /= norm;
            }
        }

        ulong sum = 0;
        long count = 0;
        var projections = new double[probes.Length];
        foreach ((CollectionItem item, float[] vector) in collection.ItemsWithVectors())
        {
            string meta = string.Join('\u001f', item.Path, item.MediaType, item.SizeBytes.ToString(CultureInfo.InvariantCulture),
                item.ModifiedUtc.UtcTicks.ToString(CultureInfo.InvariantCulture), item.ContentHash, item.Width.ToString(CultureInfo.InvariantCulture),
                item.Height.ToString(CultureInfo.InvariantCulture), item.TakenAt?.ToString("O", CultureInfo.InvariantCulture) ?? "", item.Camera ?? "", item.Caption ?? "",
                item.Extra is null ? "" : string.Join(',', item.Extra.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + p.Value)));
            sum += BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(meta)));
            for (int k = 0; k < probes.Length; k++)
            {
                projections[k] += System.Numerics.Tensors.TensorPrimitives.Dot(vector, probes[k]);
            }

            count++;
        }

        return new Fingerprint(count, sum.ToString("x16", CultureInfo.InvariantCulture), projections);
    }
}

/// <summary>What <see cref="CollectionCopy.Checksum"/> computes for one collection.</summary>
/// <param name="Count">Items.</param>
/// <param name="Checksum">Order-independent hash of every item's path and metadata.</param>
/// <param name="Projections">Sums of the vectors' projections on four fixed directions.</param>
public sealed record Fingerprint(long Count, string Checksum, IReadOnlyList<double> Projections)
{
    /// <summary>Same count and metadata, and vectors equal up to float16 rounding.</summary>
    public bool Matches(Fingerprint other)
    {
        ArgumentNullException.ThrowIfNull(other);
        double tolerance = (4e-3 * Math.Sqrt(Count)) + 1e-5;
        return Count == other.Count && Checksum == other.Checksum
            && Projections.Zip(other.Projections).All(p => Math.Abs(p.First - p.Second) <= tolerance);
    }
}
