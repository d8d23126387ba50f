using System.Buffers;
using System.Numerics.Tensors;

namespace Omnivec.Preprocessing;

/// <summary>
/// CLAP's audio features exactly as Hugging Face's <c>ClapFeatureExtractor</c> computes them for unfused packs: a clip
/// of at most <see cref="ClapFeatureSettings.MaxSamples"/> samples (mono, at the model's rate) is padded to that length
/// (<see cref="ClapPadding"/>), framed by a centred STFT (periodic Hann window, reflect padding), turned into a power
/// spectrum, projected on Slaney-scale, Slaney-normalised mel filters between the configured frequency limits, floored
/// at 1e-10 and converted to decibels (10·log10). The output is [frames × mel bands] row-major, the model's
/// <c>input_features</c> for one clip ([1, 1, 1001, 64] for 10 s at 48 kHz). Longer audio is the caller's to cut into
/// windows. The spectrum and the mel projection run in double precision like the Python reference. Immutable and
/// thread-safe; buffers are pooled per call.
/// </summary>
public sealed class ClapFeatureExtractor
{
    private const double MelFloor = 1e-10;

    private readonly RealFft _fft;
    private readonly double[] _window;
    private readonly double[][] _filters;  // per mel band: its non-zero weights
    private readonly int[] _filterStart;   // first frequency bin of each band's weights

    /// <summary>Creates an extractor for the given settings (from the pack's <c>preprocessor_config.json</c>).</summary>
    public ClapFeatureExtractor(ClapFeatureSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Settings = settings;
        _fft = new RealFft(settings.FftWindowSize);
        _window = HannPeriodic(settings.FftWindowSize);
        double[,] bank = MelFilterBank(settings.FrequencyBins, settings.FeatureSize, settings.FrequencyMin, settings.FrequencyMax, settings.SamplingRate);
        _filters = new double[settings.FeatureSize][];
        _filterStart = new int[settings.FeatureSize];
        for (int m = 0; m < settings.FeatureSize; m++)
        {
            int first = 0;
            while (first < settings.FrequencyBins && bank[m, first] == 0)
            {
                first++;
            }

            int last = settings.FrequencyBins - 1;
            while (last >= first && bank[m, last] == 0)
            {
                last--;
            }

            _filterStart[m] = first;
            _filters[m] = new double[Math.Max(0, last - first + 1)];
            for (int k = first; k <= last; k++)
            {
                _filters[m][k - first] = bank[m, k];
            }
        }
    }

    /// <summary>Reads the settings from a CLAP pack's <c>preprocessor_config.json</c>.</summary>
    public static ClapFeatureExtractor FromDirectory(string directory) => new(ClapFeatureSettings.FromDirectory(directory));

    /// <summary>The settings in use.</summary>
    public ClapFeatureSettings Settings { get; }

    /// <summary>Floats per clip's features: frames × mel bands.</summary>
    public int FeatureLength => Settings.FrameCount * Settings.FeatureSize;

    /// <summary>
    /// Computes the features of one clip (1 to <see cref="ClapFeatureSettings.MaxSamples"/> samples) into
    /// <paramref name="features"/> (<see cref="FeatureLength"/> floats, frames × mel bands).
    /// </summary>
    /// <exception cref="InvalidInputException">The clip is empty, longer than one input, or holds NaN or infinite samples.</exception>
    public void Extract(ReadOnlySpan<float> waveform, Span<float> features)
    {
        ClapFeatureSettings s = Settings;
        if (waveform.IsEmpty)
        {
            throw new InvalidInputException("The audio has no samples.");
        }

        if (waveform.Length > s.MaxSamples)
        {
            throw new InvalidInputException($"The clip has {waveform.Length} samples; one input takes at most {s.MaxSamples} (cut longer audio into windows).");
        }

        if (features.Length < FeatureLength)
        {
            throw new ArgumentException($"The output needs {FeatureLength} floats.", nameof(features));
        }

        if (!float.IsFinite(TensorPrimitives.Sum(waveform)) && HasNonFinite(waveform))
        {
            throw new InvalidInputException("The audio holds NaN or infinite samples.");
        }

        int n = s.FftWindowSize;
        int pad = n / 2;
        int total = s.MaxSamples + 2 * pad;
        double[] signal = ArrayPool<double>.Shared.Rent(total);
        double[] frame = ArrayPool<double>.Shared.Rent(n);
        double[] power = ArrayPool<double>.Shared.Rent(s.FrequencyBins);
        double[] scratch = ArrayPool<double>.Shared.Rent(_fft.ScratchLength);
        try
        {
            Span<double> x = signal.AsSpan(pad, s.MaxSamples);
            Fill(waveform, x, s.Padding);

            // Centred frames: reflect the first and last half window (numpy's "reflect": the edge sample is not repeated).
            for (int i = 1; i <= pad; i++)
            {
                signal[pad - i] = x[i];
                signal[pad + s.MaxSamples - 1 + i] = x[s.MaxSamples - 1 - i];
            }

            int frames = s.FrameCount;
            int bands = s.FeatureSize;
            for (int t = 0; t < frames; t++)
            {
                TensorPrimitives.Multiply(signal.AsSpan(t * s.HopLength, n), _window, frame.AsSpan(0, n));
                _fft.Power(frame.AsSpan(0, n), power, scratch);
                Span<float> row = features.Slice(t * bands, bands);
                for (int m = 0; m < bands; m++)
                {
                    double[] weights = _filters[m];
                    double mel = weights.Length == 0 ? 0 : TensorPrimitives.Dot(power.AsSpan(_filterStart[m], weights.Length), weights);
                    row[m] = (float)(10.0 * Math.Log10(Math.Max(MelFloor, mel)));
                }
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(signal);
            ArrayPool<double>.Shared.Return(frame);
            ArrayPool<double>.Shared.Return(power);
            ArrayPool<double>.Shared.Return(scratch);
        }
    }

    /// <summary>The clip padded to the input length, as Python's extractor does it (<see cref="ClapPadding"/>).</summary>
    private static void Fill(ReadOnlySpan<float> waveform, Span<double> x, ClapPadding padding)
    {
        int length = waveform.Length;
        int copies = padding switch
        {
            // np.tile(waveform, max_length // len) then zeros.
            ClapPadding.RepeatPad => x.Length / length,
            _ => x.Length / length + 1,
        };
        int at = 0;
        for (int c = 0; c < copies && at < x.Length; c++)
        {
            int take = Math.Min(length, x.Length - at);
            TensorPrimitives.ConvertChecked(waveform[..take], x.Slice(at, take));
            at += take;
        }

        x[at..].Clear();
    }

    private static bool HasNonFinite(ReadOnlySpan<float> samples)
    {
        foreach (float v in samples)
        {
            if (!float.IsFinite(v))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>numpy's <c>hanning(n + 1)[:-1]</c>: the periodic Hann window.</summary>
    internal static double[] HannPeriodic(int n)
    {
        var w = new double[n];
        for (int i = 0; i < n; i++)
        {
            w[i] = 0.5 - 0.5 * Math.Cos(2.0 * Math.PI * i / n);
        }

        return w;
    }

    /// <summary>
    /// transformers' <c>mel_filter_bank(norm="slaney", mel_scale="slaney")</c> (librosa's default filters):
    /// [mel band, frequency bin] triangular weights between <paramref name="fMin"/> and <paramref name="fMax"/>.
    /// </summary>
    internal static double[,] MelFilterBank(int frequencyBins, int bands, double fMin, double fMax, int samplingRate)
    {
        double melMin = HertzToMel(fMin);
        double melMax = HertzToMel(fMax);
        double[] filterFreqs = Linspace(melMin, melMax, bands + 2);
        for (int i = 0; i < filterFreqs.Length; i++)
        {
            filterFreqs[i] = MelToHertz(filterFreqs[i]);
        }

        double[] fftFreqs = Linspace(0, samplingRate / 2, frequencyBins);
        var bank = new double[bands, frequencyBins];
        for (int m = 0; m < bands; m++)
        {
            double lower = filterFreqs[m + 1] - filterFreqs[m];
            double upper = filterFreqs[m + 2] - filterFreqs[m + 1];
            double enorm = 2.0 / (filterFreqs[m + 2] - filterFreqs[m]);
            for (int k = 0; k < frequencyBins; k++)
            {
                double down = (fftFreqs[k] - filterFreqs[m]) / lower;
                double up = (filterFreqs[m + 2] - fftFreqs[k]) / upper;
                bank[m, k] = Math.Max(0, Math.Min(down, up)) * enorm;
            }
        }

        return bank;
    }

    internal static double HertzToMel(double hz) =>
        hz >= 1000.0 ? 15.0 + Math.Log(hz / 1000.0) * (27.0 / Math.Log(6.4)) : 3.0 * hz / 200.0;

    internal static double MelToHertz(double mel) =>
        mel >= 15.0 ? 1000.0 * Math.Exp(Math.Log(6.4) / 27.0 * (mel - 15.0)) : 200.0 * mel / 3.0;

    /// <summary>numpy's linspace: start + i·step, the last value exactly <paramref name="stop"/>.</summary>
    private static double[] Linspace(double start, double stop, int count)
    {
        var values = new double[count];
        double step = (stop - start) / (count - 1);
        for (int i = 0; i < count; i++)
        {
            values[i] = start + i * step;
        }

        values[count - 1] = stop;
        return values;
    }
}
