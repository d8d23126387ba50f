using System.Globalization;
using Npgsql;

namespace Omnivec.Index.Postgres;

/// <summary>
/// Converts <c>postgresql://user:password@host:port/database?sslmode=require&amp;…</c> (libpq's URI form, also
/// <c>postgres://</c>) into an Npgsql connection string, which takes no URIs.
/// </summary>
public static class PostgresUri
{
    /// <summary>Whether <paramref name="location"/> names a PostgreSQL database rather than a folder.</summary>
    public static bool IsPostgres(string? location) =>
        location is not null && (location.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
            || location.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase));

    /// <summary>The Npgsql connection string for a connection URI; <see cref="PostgresStoreException"/> when it is not one.</summary>
    public static NpgsqlConnectionStringBuilder Parse(string uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!IsPostgres(uri) || !Uri.TryCreate(uri, UriKind.Absolute, out Uri? parsed) || string.IsNullOrEmpty(parsed.Host))
        {
            throw new PostgresStoreException($"'{Redact(uri)}' is not a PostgreSQL connection URI; expected postgresql://user:password@host:port/database.");
        }

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = parsed.Host.Trim('[', ']'),
            Port = parsed.IsDefaultPort || parsed.Port <= 0 ? 5432 : parsed.Port,
        };
        string database = Uri.UnescapeDataString(parsed.AbsolutePath.TrimStart('/'));
        if (database.Length > 0)
        {
            builder.Database = database;
        }

        if (parsed.UserInfo.Length > 0)
        {
            int colon = parsed.UserInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon < 0 ? parsed.UserInfo : parsed.UserInfo[..colon]);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(parsed.UserInfo[(colon + 1)..]);
            }
        }

        foreach (string pair in parsed.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            string key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            string value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..].Replace('+', ' '));
            try
            {
                switch (key.ToLowerInvariant())
                {
                    case "sslmode":
                        builder.SslMode = Enum.Parse<SslMode>(value.Replace("-", "", StringComparison.Ordinal), ignoreCase: true);
                        break;
                    case "connect_timeout":
                        builder.Timeout = int.Parse(value, CultureInfo.InvariantCulture);
                        break;
                    case "application_name":
                        builder.ApplicationName = value;
                        break;
                    case "options":
                        builder.Options = value;
                        break;
                    case "user":
                        builder.Username = value;
                        break;
                    case "password":
                        builder.Password = value;
                        break;
                    case "dbname":
                        builder.Database = value;
                        break;
                    default:
                        // Npgsql keywords ("Maximum Pool Size", "Include Error Detail", …) pass through.
                        builder[key] = value;
                        break;
                }
            }
            catch (Exception e) when (e is ArgumentException or FormatException or OverflowException or KeyNotFoundException)
            {
                throw new PostgresStoreException($"Connection URI option '{key}={value}' is not valid: {e.Message}", e);
            }
        }

        return builder;
    }

    /// <summary>The URI with its password replaced by <c>***</c>, for messages and logs.</summary>
    public static string Redact(string uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        int scheme = uri.IndexOf("://", StringComparison.Ordinal);
        int at = uri.IndexOf('@', StringComparison.Ordinal);
        if (scheme < 0 || at < scheme)
        {
            return uri;
        }

        int colon = uri.IndexOf(':', scheme + 3);
        return colon > 0 && colon < at ? string.Concat(uri.AsSpan(0, colon + 1), "***", uri.AsSpan(at)) : uri;
    }
}
