using System.Globalization;

namespace Omnivec.Media;

/// <summary>How videos are cut into segments and sampled. Where the defaults come from: docs/video.md.</summary>
public sealed class VideoSegmenterOptions
{
    /// <summary>
    /// Content change (PySceneDetect ContentDetector scale: mean |ΔH|+|ΔS|+|ΔV| / 3 on 8-bit HSV) at or above which
    /// consecutive frames are a cut. Lower finds more cuts (and more false ones on motion).
    /// </summary>
    public double SceneThreshold { get; set; } = 27;

    /// <summary>Shortest shot in seconds: a cut closer than this to the previous one is ignored (flashes, fast motion).</summary>
    public double MinShotSec { get; set; } = 0.5;

    /// <summary>Longest segment in seconds: longer shots are split into windows of at most this length.</summary>
    public double MaxSegmentSec { get; set; } = 16;

    /// <summary>Frames sampled inside each segment and pooled into its vector.</summary>
    public int FramesPerSegment { get; set; } = 4;

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
        Check(MinShotSec >= 0 && double.IsFinite(MinShotSec), "minimum shot length must be 0 or more seconds");
        Check(MaxSegmentSec is >= 1 and <= 3600, string.Create(CultureInfo.InvariantCulture, $"segment max must be between 1 and 3600 seconds, not {MaxSegmentSec}"));
        Check(FramesPerSegment is >= 1 and <= 64, string.Create(CultureInfo.InvariantCulture, $"frames per segment must be between 1 and 64, not {FramesPerSegment}"));
        Check(AnalysisFps is >= 1 and <= 60, string.Create(CultureInfo.InvariantCulture, $"analysis fps must be between 1 and 60, not {AnalysisFps}"));
        Check(FrameShortSide is >= 32 and <= 2048, string.Create(CultureInfo.InvariantCulture, $"frame short side must be between 32 and 2048, not {FrameShortSide}"));
    }
}
