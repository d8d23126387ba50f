namespace Omnivec.Media;

/// <summary>
/// Decides which frames start a new shot from their content-change scores, in the manner of PySceneDetect's
/// AdaptiveDetector: a frame is a cut when its score reaches the threshold <b>and</b> stands out from the scores of its
/// neighbours (at least <c>ratio</c> times the mean of the <c>window</c> frames before it and of the <c>window</c> after
/// it, whichever is higher; or of all of them when <c>eachSide</c> is false), and it is not closer than the
/// minimum shot length to the previous cut. Camera motion and shake raise every frame's score alike, so they do not stand
/// out; a cut is one spike. With a ratio of 0 it is a plain threshold. Decisions wait for <c>window</c> later frames, so
/// frames come out in order, <c>window</c> frames behind. The segmenter and the threshold sweep
/// (bench/Omnivec.Bench <c>scenecuts</c>) share it, so the sweep measures exactly what indexing does.
/// </summary>
/// <typeparam name="T">What travels with each frame (the frame itself in the segmenter).</typeparam>
internal sealed class CutRule<T>(double threshold, double ratio, int window, double minShotSec, bool eachSide = true)
{
    private readonly Queue<(T Item, double Time, double Score)> _pending = new();
    private readonly Queue<double> _history = new();
    private double _shotStart;
    private bool _started;

    /// <summary>Offers the next frame; appends to <paramref name="decided"/> the frames whose decision is now known, in order.</summary>
    public void Push(T item, double timeSec, double score, List<(T Item, double Time, bool Cut)> decided)
    {
        _pending.Enqueue((item, timeSec, score));
        if (_pending.Count > (ratio > 0 ? window : 0))
        {
            Decide(decided);
        }
    }

    /// <summary>At the end of the stream: decides the frames still waiting for later neighbours (with those there are).</summary>
    public void Flush(List<(T Item, double Time, bool Cut)> decided)
    {
        while (_pending.Count > 0)
        {
            Decide(decided);
        }
    }

    private void Decide(List<(T Item, double Time, bool Cut)> decided)
    {
        (T item, double t, double score) = _pending.Dequeue();
        bool cut = false;
        if (!_started)
        {
            // The first frame has no previous frame: its score is meaningless and it starts the first shot.
            _started = true;
            decided.Add((item, t, false));
            return;
        }

        if (score >= threshold && t - _shotStart >= minShotSec)
        {
            cut = ratio <= 0 || StandsOut(score);
        }

        if (cut)
        {
            _shotStart = t;
        }

        if (ratio > 0)
        {
            _history.Enqueue(score);
            if (_history.Count > window)
            {
                _history.Dequeue();
            }
        }

        decided.Add((item, t, cut));
    }

    private bool StandsOut(double score)
    {
        // The mean change before and after the frame; with eachSide the frame must stand out from the busier side, so the
        // first or last frame of a pan (still on one side, moving on the other) is not a cut.
        (double before, int nb) = (0, 0);
        foreach (double s in _history)
        {
            before += s;
            nb++;
        }

        (double after, int na) = (0, 0);
        foreach ((T _, double _, double s) in _pending)
        {
            if (na == window)
            {
                break;
            }

            after += s;
            na++;
        }

        double reference = eachSide
            ? Math.Max(nb > 0 ? before / nb : 0, na > 0 ? after / na : 0)
            : nb + na > 0 ? (before + after) / (nb + na) : 0;
        return score >= ratio * reference;
    }
}
