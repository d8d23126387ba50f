using System.Globalization;
using System.Text.Json;

namespace Omnivec.Preprocessing;

/// <summary>How a clip shorter than the model's input is filled up to it.</summary>
public enum ClapPadding
{
    /// <summary>
    /// <c>repeatpad</c> (LAION's training setting): as many whole copies of the clip as fit, then zeros. Python's
    /// <c>ClapFeatureExtractor</c> behaviour, also when the clip length divides the input length (transformers.js tiles
    /// one copy fewer there and leaves the last copy's room as zeros).
    /// </summary>
    RepeatPad,

    /// <summary><c>repeat</c>: copies of the clip up to the input length, the last one cut.</summary>
    Repeat,
}

/// <summary>
/// The settings of Hugging Face's <c>ClapFeatureExtractor</c>, read from a CLAP pack's <c>preprocessor_config.json</c>.
/// Only what Omnivec implements is accepted; other values (the <c>fusion</c> variant, other windows or paddings) are
/// refused with their name and value rather than guessed.
/// </summary>
public sealed record ClapFeatureSettings
{
    /// <summary>The file name the settings are read from.</summary>
    public const string FileName = "preprocessor_config.json";

    // Keys that do not change the features the reference computes (bookkeeping, or values it never reads).
    private static readonly HashSet<string> s_ignoredKeys = new(StringComparer.Ordinal)
    {
        "processor_class", "_processor_class", "return_attention_mask", "chunk_length_s", "nb_max_frames", "padding_value",
        // Python's ClapFeatureExtractor stores top_db but never applies it; transformers.js does not read it either.
        "top_db",
    };

    /// <summary>Sampling rate the model was trained at, in Hz (48,000 for LAION's CLAP).</summary>
    public int SamplingRate { get; init; } = 48_000;

    /// <summary>STFT frame and FFT length in samples (Hann window of this length).</summary>
    public int FftWindowSize { get; init; } = 1024;

    /// <summary>Samples between STFT frames.</summary>
    public int HopLength { get; init; } = 480;

    /// <summary>Mel bands.</summary>
    public int FeatureSize { get; init; } = 64;

    /// <summary>Lowest frequency of the mel filters, Hz.</summary>
    public double FrequencyMin { get; init; } = 50;

    /// <summary>Highest frequency of the mel filters, Hz.</summary>
    public double FrequencyMax { get; init; } = 14_000;

    /// <summary>Samples the model takes per input (10 s at 48 kHz); shorter clips are padded, longer audio is cut into windows.</summary>
    public int MaxSamples { get; init; } = 480_000;

    /// <summary>How short clips are filled.</summary>
    public ClapPadding Padding { get; init; } = ClapPadding.RepeatPad;

    /// <summary>Frequency bins of the one-sided spectrum.</summary>
    public int FrequencyBins => FftWindowSize / 2 + 1;

    /// <summary>STFT frames per input (centred frames: 1 + samples / hop; 1,001 for 10 s).</summary>
    public int FrameCount => 1 + MaxSamples / HopLength;

    /// <summary>Seconds one input covers.</summary>
    public double WindowSeconds => (double)MaxSamples / SamplingRate;

    /// <summary>Reads <see cref="FileName"/> from a model folder.</summary>
    /// <exception cref="ModelConfigurationException">The file is missing, not JSON, not a CLAP extractor or asks for something not implemented.</exception>
    public static ClapFeatureSettings FromDirectory(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            throw new ModelConfigurationException($"{path} not found: a CLAP pack needs its feature extractor settings.");
        }

        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses the JSON of a <c>preprocessor_config.json</c>; <paramref name="source"/> names it in messages.</summary>
    /// <exception cref="ModelConfigurationException">Not JSON, not a CLAP extractor, or a setting Omnivec does not implement.</exception>
    public static ClapFeatureSettings Parse(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(source);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new ModelConfigurationException($"{source} is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ModelConfigurationException($"{source} must contain a JSON object.");
            }

            return Parse(document.RootElement, source);
        }
    }

    private static ClapFeatureSettings Parse(JsonElement root, string file)
    {
        var s = new ClapFeatureSettings();
        int? nFft = null;
        int? fftWindow = null;
        int? bins = null;
        double? maxLengthSec = null;
        bool typed = false;
        foreach (JsonProperty p in root.EnumerateObject())
        {
            JsonElement v = p.Value;
            switch (p.Name)
            {
                case "feature_extractor_type":
                    if (v.ValueKind != JsonValueKind.String || v.GetString() != "ClapFeatureExtractor")
                    {
                        throw Unsupported(file, p, "only ClapFeatureExtractor is implemented for audio");
                    }

                    typed = true;
                    break;
                case "sampling_rate":
                    s = s with { SamplingRate = Int(file, p, 8_000, 384_000) };
                    break;
                case "fft_window_size":
                    fftWindow = Int(file, p, 16, 1 << 16);
                    break;
                case "n_fft":
                    nFft = Int(file, p, 16, 1 << 16);
                    break;
                case "hop_length":
                    s = s with { HopLength = Int(file, p, 1, 1 << 16) };
                    break;
                case "feature_size":
                    s = s with { FeatureSize = Int(file, p, 1, 1024) };
                    break;
                case "nb_frequency_bins":
                    bins = Int(file, p, 2, 1 << 16);
                    break;
                case "frequency_min":
                    s = s with { FrequencyMin = Num(file, p) };
                    break;
                case "frequency_max":
                    s = s with { FrequencyMax = Num(file, p) };
                    break;
                case "nb_max_samples":
                    s = s with { MaxSamples = Int(file, p, 1, 100_000_000) };
                    break;
                case "max_length_s":
                    maxLengthSec = Num(file, p);
                    break;
                case "padding":
                    s = s with
                    {
                        Padding = v.ValueKind == JsonValueKind.String ? v.GetString() switch
                        {
                            "repeatpad" => ClapPadding.RepeatPad,
                            "repeat" => ClapPadding.Repeat,
                            _ => throw Unsupported(file, p, "only \"repeatpad\" and \"repeat\" are implemented"),
                        } : throw Unsupported(file, p, "expected a string"),
                    };
                    break;
                case "truncation":
                    // rand_trunc takes a random 10 s crop of longer audio; Omnivec instead embeds every window with its offsets.
                    if (v.ValueKind != JsonValueKind.String || v.GetString() != "rand_trunc")
                    {
                        throw Unsupported(file, p, v.ValueKind == JsonValueKind.String && v.GetString() == "fusion"
                            ? "the fusion variant (4-channel input with a downsampled whole clip) is not implemented; use an unfused pack such as Xenova/clap-htsat-unfused"
                            : "only \"rand_trunc\" (single-channel 10 s input) is implemented");
                    }

                    break;
                case "padding_side":
                    if (v.ValueKind != JsonValueKind.String || v.GetString() != "right")
                    {
                        throw Unsupported(file, p, "only \"right\" is implemented");
                    }

                    break;
                default:
                    if (!s_ignoredKeys.Contains(p.Name))
                    {
                        throw Unsupported(file, p, "a setting Omnivec's CLAP feature extractor does not know");
                    }

                    break;
            }
        }

        if (!typed)
        {
            throw new ModelConfigurationException($"{file}: no \"feature_extractor_type\": \"ClapFeatureExtractor\"; not a CLAP pack's settings.");
        }

        if (nFft is int n && fftWindow is int w && n != w)
        {
            throw new ModelConfigurationException($"{file}: n_fft {n} differs from fft_window_size {w}; a window shorter than the FFT is not implemented.");
        }

        s = s with { FftWindowSize = fftWindow ?? nFft ?? s.FftWindowSize };
        if ((s.FftWindowSize & (s.FftWindowSize - 1)) != 0)
        {
            throw new ModelConfigurationException($"{file}: fft_window_size {s.FftWindowSize} is not a power of two (not implemented).");
        }

        if (bins is int b && b != s.FrequencyBins)
        {
            throw new ModelConfigurationException($"{file}: nb_frequency_bins {b} is not fft_window_size / 2 + 1 = {s.FrequencyBins}.");
        }

        if (!(s.FrequencyMin >= 0 && s.FrequencyMin < s.FrequencyMax && s.FrequencyMax <= s.SamplingRate / 2.0))
        {
            throw new ModelConfigurationException(string.Create(CultureInfo.InvariantCulture,
                $"{file}: frequency_min {s.FrequencyMin} and frequency_max {s.FrequencyMax} must satisfy 0 <= min < max <= sampling_rate / 2 ({s.SamplingRate / 2})."));
        }

        if (maxLengthSec is double sec && Math.Abs(sec * s.SamplingRate - s.MaxSamples) > 0.5)
        {
            throw new ModelConfigurationException(string.Create(CultureInfo.InvariantCulture,
                $"{file}: max_length_s {sec} does not match nb_max_samples {s.MaxSamples} at {s.SamplingRate} Hz."));
        }

        if (s.MaxSamples <= s.FftWindowSize / 2)
        {
            throw new ModelConfigurationException($"{file}: nb_max_samples {s.MaxSamples} is shorter than half an FFT window.");
        }

        return s;
    }

    private static int Int(string file, JsonProperty p, int min, int max) =>
        p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetDouble(out double d) && d == Math.Floor(d) && d >= min && d <= max
            ? (int)d
            : throw Unsupported(file, p, string.Create(CultureInfo.InvariantCulture, $"expected a whole number from {min} to {max}"));

    private static double Num(string file, JsonProperty p) =>
        p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetDouble(out double d) && double.IsFinite(d)
            ? d
            : throw Unsupported(file, p, "expected a number");

    private static ModelConfigurationException Unsupported(string file, JsonProperty p, string why)
    {
        string raw = p.Value.GetRawText();
        return new($"{file}: unsupported \"{p.Name}\": {(raw.Length <= 80 ? raw : raw[..80] + "…")} ({why}).");
    }
}
