using System.Runtime.CompilerServices;

namespace Omnivec.Index.Search;

/// <summary>Bounded min-heap keeping the <c>k</c> highest scores seen; the root is the current admission bar.</summary>
internal sealed class TopK
{
    private readonly float[] _scores;
    private readonly int[] _rows;

    public TopK(int k)
    {
        _scores = new float[k];
        _rows = new int[k];
    }

    public int Count { get; private set; }

    public int Capacity => _scores.Length;

    /// <summary>Scores below this cannot enter once the heap is full.</summary>
    public float Threshold => Count < _scores.Length ? float.NegativeInfinity : _scores[0];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Offer(float score, int row)
    {
        if (Count < _scores.Length)
        {
            int i = Count++;
            _scores[i] = score;
            _rows[i] = row;
            SiftUp(i);
        }
        else if (score > _scores[0])
        {
            _scores[0] = score;
            _rows[0] = row;
            SiftDown(0);
        }
    }

    public void MergeFrom(TopK other)
    {
        for (int i = 0; i < other.Count; i++)
        {
            Offer(other._scores[i], other._rows[i]);
        }
    }

    /// <summary>Contents, best first.</summary>
    public (int Row, float Score)[] ToSortedArray()
    {
        var result = new (int Row, float Score)[Count];
        for (int i = 0; i < Count; i++)
        {
            result[i] = (_rows[i], _scores[i]);
        }

        Array.Sort(result, static (a, b) => b.Score != a.Score ? b.Score.CompareTo(a.Score) : a.Row.CompareTo(b.Row));
        return result;
    }

    private void SiftUp(int i)
    {
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (_scores[parent] <= _scores[i])
            {
                break;
            }

            Swap(i, parent);
            i = parent;
        }
    }

    private void SiftDown(int i)
    {
        int n = Count;
        while (true)
        {
            int left = (2 * i) + 1;
            if (left >= n)
            {
                break;
            }

            int smallest = left + 1 < n && _scores[left + 1] < _scores[left] ? left + 1 : left;
            if (_scores[i] <= _scores[smallest])
            {
                break;
            }

            Swap(i, smallest);
            i = smallest;
        }
    }

    private void Swap(int a, int b)
    {
        (_scores[a], _scores[b]) = (_scores[b], _scores[a]);
        (_rows[a], _rows[b]) = (_rows[b], _rows[a]);
    }
}
