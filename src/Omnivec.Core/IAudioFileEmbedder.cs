using Microsoft.Extensions.AI;

namespace Omnivec;

/// <summary>The vector of one window of a recording: where it starts and ends, in seconds from the start of the file.</summary>
/// <param name="StartSec">Start of the window.</param>
/// <param name="EndSec">End of the window (at most the end of the audio).</param>
/// <param name="Embedding">The window's vector.</param>
public sealed record AudioSegmentEmbedding(double StartSec, double EndSec, Embedding<float> Embedding);

/// <summary>
/// Capability of an audio embedder (found through <c>GetService</c>): embeds a file's audio, or the soundtrack of a video,
/// window by window, streaming, with each window's offsets, the way video segments are.
/// </summary>
public interface IAudioFileEmbedder
{
    /// <summary>Seconds of audio one window covers (10 for CLAP).</summary>
    double WindowSeconds { get; }

    /// <summary>Decodes and embeds the audio of <paramref name="path"/>, one vector per window, in order.</summary>
    /// <exception cref="InvalidInputException">The file is not audio, has no audio stream, or cannot be decoded.</exception>
    IAsyncEnumerable<AudioSegmentEmbedding> EmbedAudioFileAsync(string path, CancellationToken cancellationToken = default);
}
