namespace Omnivec.Media;

/// <summary>FFmpeg (ffmpeg or ffprobe) is not installed or cannot be started; videos cannot be read on this machine.</summary>
public sealed class FfmpegNotFoundException : OmnivecException
{
    /// <summary>Creates the error for an FFmpeg program that could not be started.</summary>
    public FfmpegNotFoundException(string program, Exception? innerException = null)
        : base($"{program} is not installed or not on PATH; install FFmpeg to read videos (Debian/Ubuntu: apt-get install ffmpeg, macOS: brew install ffmpeg)", innerException)
    {
        Program = program;
    }

    /// <summary>The executable that could not be started.</summary>
    public string Program { get; }
}

/// <summary>Why a video could not be read.</summary>
public enum VideoErrorKind
{
    /// <summary>Not a video container Omnivec recognises (text, random bytes, an image, …).</summary>
    Unsupported,

    /// <summary>The file is empty, truncated or damaged.</summary>
    Corrupt,

    /// <summary>The container holds no video stream (audio only).</summary>
    NoVideoStream,

    /// <summary>Frame size above the configured pixel limit.</summary>
    TooLarge,

    /// <summary>Duration above the configured limit.</summary>
    TooLong,

    /// <summary>FFmpeg did not finish within the configured time.</summary>
    TimedOut,
}

/// <summary>A video that cannot be read as given. The message is one line and names the file.</summary>
public class VideoReadException : InvalidInputException
{
    /// <summary>Creates the error of the given kind.</summary>
    public VideoReadException(VideoErrorKind kind, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
    }

    /// <summary>What went wrong.</summary>
    public VideoErrorKind Kind { get; }
}

/// <summary>Why an audio file (or the soundtrack of a video) could not be read.</summary>
public enum AudioErrorKind
{
    /// <summary>Not an audio or video container Omnivec recognises (text, random bytes, an image, …).</summary>
    Unsupported,

    /// <summary>The file is empty, truncated or damaged, or no sample could be decoded.</summary>
    Corrupt,

    /// <summary>The container holds no audio stream (a silent video, an image sequence).</summary>
    NoAudioStream,

    /// <summary>Duration above the configured limit.</summary>
    TooLong,

    /// <summary>FFmpeg did not finish within the configured time.</summary>
    TimedOut,
}

/// <summary>Audio that cannot be read as given. The message is one line and names the file.</summary>
public class AudioReadException : InvalidInputException
{
    /// <summary>Creates the error of the given kind.</summary>
    public AudioReadException(AudioErrorKind kind, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
    }

    /// <summary>What went wrong.</summary>
    public AudioErrorKind Kind { get; }
}
