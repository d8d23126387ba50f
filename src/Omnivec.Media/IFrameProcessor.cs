namespace Omnivec.Media;

/// <summary>
/// Work done on each decoded frame on the reading thread (<see cref="VideoReader"/>), as it is read: what it adds to the
/// output list is handed to the consumer, in order. Disposed on the reading thread when reading ends, however it ends: it
/// then disposes every frame it still holds.
/// </summary>
internal interface IFrameProcessor<T> : IDisposable
{
    /// <summary>Takes <paramref name="frame"/> (and the duty to dispose it) and adds any results to <paramref name="output"/>.</summary>
    void Frame(VideoFrame frame, List<T> output);

    /// <summary>The stream ended normally: adds the last results to <paramref name="output"/>.</summary>
    void End(List<T> output);

    /// <summary>The reading thread waited <paramref name="time"/> for room in the queue to hand out results (the consumer was busy).</summary>
    void Waited(TimeSpan time)
    {
    }
}
