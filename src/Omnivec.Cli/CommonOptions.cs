using System.CommandLine;
using System.CommandLine.Parsing;
using Omnivec.Models;

namespace Omnivec.Cli;

/// <summary>Options shared by every command that needs a model.</summary>
internal sealed class ModelOptions
{
    public const string DefaultModel = "Xenova/clip-vit-base-patch32";

    public Option<string> Model { get; } = new("--model", "-m")
    {
        Description = "A model folder, or a Hugging Face Hub repo id (org/name[@revision]). Default: " + DefaultModel + " (or OMNIVEC_MODEL, or \"model\" in the config file).",
        DefaultValueFactory = _ => CliSettings.Current.Value("model") ?? DefaultModel,
    };

    public Option<string> Variant { get; } = new("--variant")
    {
        Description = "Which ONNX files to use where the model has several: fp32 (default), fp16 or quantized.",
        DefaultValueFactory = _ => CliSettings.Current.Value("variant") ?? "fp32",
    };

    public ModelOptions() => Variant.Validators.Add(ValidateVariant);

    public void AddTo(Command command)
    {
        command.Options.Add(Model);
        command.Options.Add(Variant);
    }

    /// <summary>An unknown variant is a usage error (exit code 2), found while parsing.</summary>
    public static void ValidateVariant(OptionResult result)
    {
        if (result.GetValueOrDefault<string>() is { } value)
        {
            try
            {
                _ = ClipModelLayout.ParseVariant(value);
            }
            catch (ModelConfigurationException e)
            {
                result.AddError(e.Message);
            }
        }
    }

    public ModelVariant GetVariant(ParseResult parse) => ClipModelLayout.ParseVariant(parse.GetValue(Variant) ?? "fp32");
}
