using System.CommandLine;
using Omnivec.Media;

namespace Omnivec.Cli;

/// <summary>How videos are segmented: the flags shared by <c>embed</c> and <c>index</c>.</summary>
internal sealed class VideoOptions
{
    private static readonly VideoSegmenterOptions s_defaults = new();

    public Option<double?> SceneThreshold { get; } = new("--scene-threshold")
    {
        Description = $"Content change (0-255, PySceneDetect's scale) a cut between shots must reach (default {s_defaults.SceneThreshold}).",
    };

    public Option<double?> SceneRatio { get; } = new("--scene-ratio")
    {
        Description = $"How many times its neighbouring frames' change a cut's change must be, so pans and shake are not cut (default {s_defaults.SceneRatio}; 0: a plain threshold).",
    };

    public Option<double?> SegmentMax { get; } = new("--segment-max")
    {
        Description = $"Longest video segment in seconds; longer shots are split into windows (default {s_defaults.MaxSegmentSec}; google: its segment interval, at least 4).",
    };

    public Option<int?> FramesPerSegment { get; } = new("--frames-per-segment")
    {
        Description = $"Frames sampled in each video segment and averaged into its vector (default {s_defaults.FramesPerSegment}).",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(SceneThreshold);
        command.Options.Add(SceneRatio);
        command.Options.Add(SegmentMax);
        command.Options.Add(FramesPerSegment);
    }

    /// <summary>The segmenter options from the command line; <see cref="ArgumentException"/> for a value out of range.</summary>
    public VideoSegmenterOptions Build(ParseResult parse)
    {
        var options = new VideoSegmenterOptions();
        if (parse.GetValue(SceneThreshold) is double threshold)
        {
            options.SceneThreshold = threshold;
        }

        if (parse.GetValue(SceneRatio) is double ratio)
        {
            options.SceneRatio = ratio;
        }

        if (parse.GetValue(SegmentMax) is double max)
        {
            options.MaxSegmentSec = max;
        }

        if (parse.GetValue(FramesPerSegment) is int frames)
        {
            options.FramesPerSegment = frames;
        }

        options.Validate();
        return options;
    }
}
