using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Omnivec.Index;
using Omnivec.Server;

namespace Omnivec.Cli;

/// <summary><c>omnivec serve</c>: the HTTP API (OpenAI-compatible embeddings, search, classify, uploads) and the web page.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var embedder = new EmbedderOptions();
        var collection = new CollectionOptions();
        var language = new LanguageOption();
        var urls = new Option<string[]>("--urls")
        {
            Description = "Addresses to listen on. Default: http://127.0.0.1:8080 (this machine only), or OMNIVEC_URLS / \"server.urls\" in the config file.",
            DefaultValueFactory = _ => CliSettings.Current.List("server.urls") is { Length: > 0 } configured ? configured : ["http://127.0.0.1:8080"],
            AllowMultipleArgumentsPerToken = true,
        };
        var apiKeys = new Option<string[]>("--api-key")
        {
            Description = "Require 'Authorization: Bearer <key>' on /v1/*; repeatable. Also OMNIVEC_API_KEYS (comma-separated).",
        };
        var corsOrigins = new Option<string[]>("--cors-origin") { Description = "Allow browser calls from this origin (repeatable). Default: none." };
        var allowImageUrls = new Option<bool>("--allow-image-urls") { Description = "Fetch {\"image\": \"https://…\"} inputs (only from --image-url-allow hosts; never internal addresses)." };
        var imageUrlAllow = new Option<string?>("--image-url-allow") { Description = "Hosts image URLs may use, comma-separated; *.example.com allows subdomains." };
        var maxBatch = new Option<int>("--max-batch-size") { Description = "Inputs merged into one model run by dynamic batching (1 = off).", DefaultValueFactory = _ => CliSettings.Current.Int("server.maxBatchSize") };
        var metrics = new Option<bool>("--metrics")
        {
            Description = "Serve Prometheus metrics at /metrics (needs the API key when --api-key is set). OTLP export: set OTEL_EXPORTER_OTLP_ENDPOINT.",
        };
        var settings = new Option<string[]>("--set")
        {
            Description = "Set a server limit or option by name, e.g. --set MaxCollections=500 --set CollectionIdleTimeout=00:10:00 (repeatable; README 'Limits' lists them).",
        };
        var command = new Command("serve", "Serve the HTTP API and the web page.");
        embedder.AddTo(command);
        collection.AddTo(command);
        language.AddTo(command);
        foreach (Option option in new Option[] { urls, apiKeys, corsOrigins, allowImageUrls, imageUrlAllow, maxBatch, metrics, settings })
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            // Bad addresses are a usage error, found before the model loads (Kestrel would only fail after).
            if ((parse.GetValue(urls) ?? []).FirstOrDefault(u => !IsListenAddress(u)) is { } badUrl)
            {
                Output.Error($"--urls: '{badUrl}' is not an address to listen on; use e.g. http://127.0.0.1:8080");
                return 2;
            }

            IVectorStore store = collection.OpenStore(parse);
            string name = collection.Name(parse);
            IMultimodalEmbeddingGenerator generator;
            if (store.Exists(name))
            {
                // An existing collection names the model that filled it, as `search` does.
                using IVectorCollection existing = store.Open(name);
                generator = await EmbedderFactory.CreateAsync(parse, embedder, existing, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                generator = await EmbedderFactory.CreateAsync(parse, embedder, null, cancellationToken).ConfigureAwait(false);
            }

            // A server loads everything up front: model errors at start-up, and no slow first image request.
            (generator as Omnivec.Onnx.ClipEmbeddingGenerator)?.EnsureVisionLoaded();
            // Models told their query language (NLLB-CLIP) read requests that name none in the chosen one (--language,
            // OMNIVEC_LANGUAGE, else the locale's); an unknown one stops the start.
            generator = language.Apply(parse, generator);
            using (generator)
            {
                var options = new OmnivecServerOptions
                {
                    StoreRoot = collection.Location(parse),
                    DefaultCollection = name,
                    AllowImageUrls = parse.GetValue(allowImageUrls),
                    MaxBatchSize = Math.Max(1, parse.GetValue(maxBatch)),
                    MetricsEndpoint = parse.GetValue(metrics),
                    CollectionCreated = c => EmbedderFactory.Remember(c, parse, embedder),
                };
                ApplySettings(options, parse.GetValue(settings) ?? []);
                options.Urls.Clear();
                foreach (string url in parse.GetValue(urls) ?? [])
                {
                    options.Urls.Add(url);
                }

                IEnumerable<string> keys = (parse.GetValue(apiKeys) ?? [])
                    .Concat((Environment.GetEnvironmentVariable("OMNIVEC_API_KEYS") ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
                foreach (string key in keys.Distinct(StringComparer.Ordinal))
                {
                    options.ApiKeys.Add(key);
                }

                foreach (string origin in parse.GetValue(corsOrigins) is { Length: > 0 } given ? given : CliSettings.Current.List("server.corsOrigins"))
                {
                    options.CorsOrigins.Add(origin);
                }

                foreach (string host in (parse.GetValue(imageUrlAllow) ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    options.ImageUrlAllowList.Add(host);
                }

                if (options.AllowImageUrls && options.ImageUrlAllowList.Count == 0)
                {
                    Output.Warn("--allow-image-urls without --image-url-allow: every image URL will be refused.");
                }

                if (options.ApiKeys.Count == 0 && options.Urls.Any(u => !u.Contains("127.0.0.1", StringComparison.Ordinal) && !u.Contains("localhost", StringComparison.OrdinalIgnoreCase)))
                {
                    Output.Warn("listening beyond this machine without --api-key: anyone who can reach it can use the API.");
                }

                Console.Error.WriteLine($"omnivec: serving {generator.Space} on {string.Join(", ", options.Urls)} (collections in {store.Location})");
                LanguageOption.Report(generator, language.Choice(parse));
                await OmnivecServer.RunAsync(generator, options, cancellationToken).ConfigureAwait(false);
            }

            return 0;
        });
        return command;
    }

    /// <summary>An http(s) URL with a host (or Kestrel's * and + wildcards) and an optional port.</summary>
    private static bool IsListenAddress(string url)
    {
        string normalized = url.Replace("://*", "://localhost", StringComparison.Ordinal).Replace("://+", "://localhost", StringComparison.Ordinal);
        return Uri.TryCreate(normalized, UriKind.Absolute, out Uri? uri)
            && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            && !string.IsNullOrEmpty(uri.Host);
    }

    /// <summary>Binds <c>Name=Value</c> pairs onto the server options (numbers, booleans, TimeSpans like 00:10:00); unknown names and bad values are refused.</summary>
    internal static void ApplySettings(OmnivecServerOptions options, IEnumerable<string> pairs)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (string pair in pairs)
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new InvalidInputException($"--set takes Name=Value, like MaxCollections=500; got '{pair}'.");
            }

            string name = pair[..eq].Trim();
            System.Reflection.PropertyInfo? property = typeof(OmnivecServerOptions).GetProperty(name,
                System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.IgnoreCase);
            if (property is null || !property.CanWrite || !(property.PropertyType.IsPrimitive || property.PropertyType == typeof(TimeSpan)))
            {
                throw new InvalidInputException($"--set: the server has no setting named '{name}' (README 'Limits' lists them).");
            }

            values[property.Name] = pair[(eq + 1)..].Trim();
        }

        try
        {
            new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(values).Build().Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidInputException("--set: " + (e.InnerException?.Message ?? e.Message));
        }
    }
}
