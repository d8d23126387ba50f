namespace Omnivec.Media.Tests;

/// <summary>The probe step shared by the video and audio readers maps each failure to the reader's own error kind.</summary>
public sealed class MediaProbeTests
{
    [Fact]
    public void Every_probe_failure_becomes_the_readers_kind_of_the_same_name()
    {
        foreach (ProbeFailure failure in Enum.GetValues<ProbeFailure>())
        {
            Check(failure);
        }
    }

    private static void Check(ProbeFailure failure)
    {
        var video = MediaProbeSpec.Create<VideoErrorKind>("video", _ => null, "no", (kind, message, inner) => new VideoReadException(kind, message, inner));
        var audio = MediaProbeSpec.Create<AudioErrorKind>("audio", _ => null, "no", (kind, message, inner) => new AudioReadException(kind, message, inner));

        var v = Assert.IsType<VideoReadException>(video.Error(failure, "x: why", null));
        var a = Assert.IsType<AudioReadException>(audio.Error(failure, "x: why", null));

        Assert.Equal(failure.ToString(), v.Kind.ToString());
        Assert.Equal(failure.ToString(), a.Kind.ToString());
        Assert.Equal("x: why", a.Message);
    }
}
