using System.Globalization;
using System.Text.Json;

namespace Omnivec.Mcp;

/// <summary>A tool call's arguments, read with errors that name the argument (an MCP tool error, never a crash).</summary>
internal sealed class ToolArguments
{
    private readonly Dictionary<string, JsonElement> _values;
    private readonly string _tool;

    public ToolArguments(string tool, IEnumerable<KeyValuePair<string, JsonElement>>? arguments, IReadOnlyCollection<string> known)
    {
        _tool = tool;
        _values = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach ((string name, JsonElement value) in arguments ?? [])
        {
            if (!known.Contains(name))
            {
                throw new InvalidInputException($"{tool}: unknown argument '{Quote(name)}'; it takes {string.Join(", ", known)}.");
            }

            // null is "not given", as JSON clients often send it for optional arguments.
            if (value.ValueKind is not JsonValueKind.Null and not JsonValueKind.Undefined)
            {
                _values[name] = value;
            }
        }
    }

    public bool Has(string name) => _values.ContainsKey(name);

    public string? String(string name)
    {
        if (!_values.TryGetValue(name, out JsonElement value))
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw Wrong(name, "a string", value);
    }

    public bool? Bool(string name)
    {
        if (!_values.TryGetValue(name, out JsonElement value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Wrong(name, "true or false", value),
        };
    }

    public float? Number(string name, float min, float max)
    {
        if (!_values.TryGetValue(name, out JsonElement value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double number) || !double.IsFinite(number))
        {
            throw Wrong(name, "a number", value);
        }

        return number >= min && number <= max
            ? (float)number
            : throw new InvalidInputException(string.Create(CultureInfo.InvariantCulture, $"{_tool}: '{name}' must be between {min} and {max}; got {number}."));
    }

    public int? Integer(string name, int min, int max)
    {
        if (!_values.TryGetValue(name, out JsonElement value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long number))
        {
            throw Wrong(name, "a whole number", value);
        }

        return number >= min && number <= max
            ? (int)number
            : throw new InvalidInputException(string.Create(CultureInfo.InvariantCulture, $"{_tool}: '{name}' must be between {min} and {max}; got {number}."));
    }

    /// <summary>An id (a number) or a path (a string), as the item arguments take.</summary>
    public string? IdOrPath(string name)
    {
        if (!_values.TryGetValue(name, out JsonElement value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number when value.TryGetInt64(out long id) => id.ToString(CultureInfo.InvariantCulture),
            _ => throw Wrong(name, "an item id (number) or a path (string)", value),
        };
    }

    public IReadOnlyList<string> Strings(string name)
    {
        if (!_values.TryGetValue(name, out JsonElement value))
        {
            return [];
        }

        // One string is taken as a list of one: agents often send "people" for ["people"].
        if (value.ValueKind == JsonValueKind.String)
        {
            return [value.GetString()!];
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw Wrong(name, "an array of strings", value);
        }

        var list = new List<string>();
        foreach (JsonElement item in value.EnumerateArray())
        {
            list.Add(item.ValueKind == JsonValueKind.String ? item.GetString()! : throw Wrong(name + "[" + list.Count.ToString(CultureInfo.InvariantCulture) + "]", "a string", item));
        }

        return list;
    }

    private InvalidInputException Wrong(string name, string expected, JsonElement value) =>
        new($"{_tool}: '{name}' must be {expected}; got {Quote(value.GetRawText())}.");

    internal static string Quote(string text, int max = 80) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max), "…");
}
