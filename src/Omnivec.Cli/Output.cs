using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Omnivec.Cli;

/// <summary>Console output helpers: JSON lines on stdout, errors on stderr.</summary>
internal static class Output
{
    private static readonly JsonWriterOptions s_writerOptions = new() { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void WriteJsonLine(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, s_writerOptions))
        {
            write(writer);
        }

        buffer.WriteByte((byte)'\n');
        using Stream stdout = Console.OpenStandardOutput();
        stdout.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
        stdout.Flush();
    }

    public static void Error(string message) => Console.Error.WriteLine("error: " + message);

    public static void Warn(string message) => Console.Error.WriteLine("warning: " + message);

    public static string FormatBytes(long? bytes) => bytes switch
    {
        null => "?",
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F1} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):F1} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F1} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };

    public static string FormatEta(TimeSpan? eta) =>
        eta is { } e ? e.ToString(e.TotalHours >= 1 ? @"h\:mm\:ss" : @"m\:ss", CultureInfo.InvariantCulture) : "--";

    public static string Preview(ReadOnlySpan<float> vector, int count = 4)
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < Math.Min(count, vector.Length); i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            sb.Append(vector[i].ToString("+0.0000;-0.0000", System.Globalization.CultureInfo.InvariantCulture));
        }

        if (vector.Length > count)
        {
            sb.Append(", …");
        }

        return sb.Append(']').ToString();
    }
}
