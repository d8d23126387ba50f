using System.CommandLine;

namespace Omnivec.Cli;

/// <summary><c>omnivec config show</c>: the effective defaults and where each comes from (flag, environment, config file, built-in).</summary>
internal static class ConfigCommand
{
    public static Command Create()
    {
        var embedder = new EmbedderOptions();
        var collection = new CollectionOptions();
        var show = new Command("show", "Print the effective settings and where each came from: a flag given here, an environment variable, the config file, or the built-in default.");
        embedder.Model.AddTo(show);
        show.Options.Add(embedder.Provider);
        collection.AddTo(show);
        show.SetAction(parse =>
        {
            CliSettings settings = CliSettings.Current;
            Console.WriteLine($"config file: {settings.ConfigPath} ({(settings.ConfigFound ? "found" : "not found; optional")})");
            var flags = new Dictionary<string, Option>(StringComparer.Ordinal)
            {
                ["model"] = embedder.Model.Model,
                ["variant"] = embedder.Model.Variant,
                ["provider"] = embedder.Provider,
                ["store"] = collection.Store,
                ["collection"] = collection.Collection,
            };
            Setting[] effective = settings.All.Select(s => flags.TryGetValue(s.Name, out Option? flag) && EmbedderOptions.Given(parse, flag)
                ? new Setting(s.Name, flag is Option<string> text ? parse.GetValue(text) : null, "flag " + flag.Name)
                : s).ToArray();
            int nameWidth = effective.Max(s => s.Name.Length);
            int valueWidth = Math.Min(60, effective.Max(s => (s.Value ?? "(none)").Length));
            foreach (Setting s in effective)
            {
                Console.WriteLine($"{s.Name.PadRight(nameWidth)}  {(s.Value ?? "(none)").PadRight(valueWidth)}  {s.Source}");
            }

            return 0;
        });
        var command = new Command("config", "Settings: defaults from environment variables and the optional config file; flags win.");
        command.Subcommands.Add(show);
        return command;
    }
}
