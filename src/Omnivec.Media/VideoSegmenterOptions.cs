using System.Globalization;

namespace Omnivec.Media;

/// <summary>How videos are cut into segments and sampled. Where the defaults come from: docs/video.md.</summary>
public sealed class VideoSegmenterOptions
{
    /// <summary>
    /// Content change (PySceneDetect ContentDetector scale: mean |ΔH|+|ΔS|+|ΔV| / 3 on 8-bit HSV) that consecutive
    /// frames must reach to be a cut. Lower finds more cuts (and, with <see cref="SceneRatio"/> 0, more false ones on motion).
    /// </summary>
    public double SceneThreshold { get; set; } = 21;

    /// <summary>
    /// How far a cut's content change must stand out from its neighbours': at least this many times the mean change of
    /// the seven analysis frames before it and of the seven after it, whichever is higher (in the manner of PySceneDetect's
    /// AdaptiveDetector), so pans, zooms and shake, which change every frame alike, are not cut, nor the first or last
    /// frame of a pan. 0 turns it off (a plain threshold). The defaults
    /// (21 and 2) were chosen by the sweep in docs/video.md.
    /// </summary>
    public double SceneRatio { get; set; } = 2;

    /// <summary>Shortest shot in seconds: a cut closer than this to the previous one is ignored (flashes, fast motion).</summary>
    public double MinShotSec { get; set; } = 0.5;

    /// <summary>Longest segment in seconds: longer shots are split into windows of at most this length.</summary>
    public double MaxSegmentSec { get; set; } = 16;

    /// <summary>
    /// Frames sampled inside each segment and pooled into its vector. 3 pools to within 0.0001 of 4 frames' cosine to
    /// a 16-frame reference and finds the same shots (bench videoframes, docs/video.md), for a quarter less image-tower work.
    /// </summary>
    public int FramesPerSegment { get; set; } = 3;

    /// <summary>Frames per second decoded for shot detection (by presentation time); cuts are located to 1/this seconds.</summary>
    public double AnalysisFps { get; set; } = 10;

    /// <summary>Short side in pixels of the decoded frames (the embedder's preprocessing resizes from there).</summary>
    public int FrameShortSide { get; set; } = 256;

    /// <summary>Throws <see cref="ArgumentException"/> for a setting out of range.</summary>
    public void Validate()
    {
        static void Check(bool ok, string message)
        {
            if (!ok)
            {
                throw new ArgumentException(message);
            }
        }

        Check(SceneThreshold is > 0 and <= 255, string.Create(CultureInfo.InvariantCulture, $"scene threshold must be in (0, 255], not {SceneThreshold}"));
        Check(SceneRatio == 0 || SceneRatio is >= 1 and <= 50, string.Create(CultureInfo.InvariantCulture, $"scene ratio must be 0 (off) or between 1 and 50, not {SceneRatio}"));
        Check(MinShotSec >= 0 && double.IsFinite(MinShotSec), "minimum shot length must be 0 or more seconds");
        Check(MaxSegmentSec is >= 1 and <= 3600, string.Create(CultureInfo.InvariantCulture, $"segment max must be between 1 and 3600 seconds, not {MaxSegmentSec}"));
        Check(FramesPerSegment is >= 1 and <= 64, string.Create(CultureInfo.InvariantCulture, $"frames per segment must be between 1 and 64, not {FramesPerSegment}"));
        Check(AnalysisFps is >= 1 and <= 60, string.Create(CultureInfo.InvariantCulture, $"analysis fps must be between 1 and 60, not {AnalysisFps}"));
        Check(FrameShortSide is >= 32 and <= 2048, string.Create(CultureInfo.InvariantCulture, $"frame short side must be between 32 and 2048, not {FrameShortSide}"));
    }
}
