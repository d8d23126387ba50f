using System.CommandLine;
using System.Globalization;
using Omnivec.Index;

namespace Omnivec.Cli;

/// <summary>Search filters shared by search, similar and dedupe.</summary>
internal sealed class FilterOptions
{
    public Option<string?> PathPrefix { get; } = new("--path") { Description = "Only items under this folder (or path prefix)." };
    public Option<string?> From { get; } = new("--from") { Description = "Only items taken (or modified) on or after this date (yyyy-MM-dd)." };
    public Option<string?> To { get; } = new("--to") { Description = "Only items taken (or modified) on or before this date (yyyy-MM-dd)." };
    public Option<string?> MediaType { get; } = new("--type") { Description = "Only this media type or prefix, e.g. image/png, image/ or video/*." };
    public Option<int?> MinWidth { get; } = new("--min-width") { Description = "Only images at least this many pixels wide." };
    public Option<int?> MinHeight { get; } = new("--min-height") { Description = "Only images at least this many pixels high." };
    public Option<long?> MinBytes { get; } = new("--min-size") { Description = "Only files of at least this many bytes." };

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { PathPrefix, From, To, MediaType, MinWidth, MinHeight, MinBytes })
        {
            command.Options.Add(option);
        }
    }

    public SearchFilter? Build(ParseResult parse)
    {
        var filter = new SearchFilter
        {
            PathPrefix = parse.GetValue(PathPrefix) is { Length: > 0 } p ? Path.GetFullPath(p) : null,
            From = ParseDate(parse.GetValue(From), endOfDay: false),
            To = ParseDate(parse.GetValue(To), endOfDay: true),
            MediaType = parse.GetValue(MediaType)?.TrimEnd('*'),
            MinWidth = parse.GetValue(MinWidth),
            MinHeight = parse.GetValue(MinHeight),
            MinSizeBytes = parse.GetValue(MinBytes),
        };
        return filter == new SearchFilter() ? null : filter;
    }

    private static DateTimeOffset? ParseDate(string? text, bool endOfDay)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset value))
        {
            throw new InvalidInputException($"Not a date: '{text}'. Use yyyy-MM-dd.");
        }

        // A bare date as an upper bound means the whole day.
        return endOfDay && value.TimeOfDay == TimeSpan.Zero ? value.AddDays(1).AddTicks(-1) : value;
    }
}
