using System.CommandLine;
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

    public void AddTo(Command command)
    {
        command.Options.Add(Model);
        command.Options.Add(Variant);
    }

    public ModelVariant GetVariant(ParseResult parse) => ClipModelLayout.ParseVariant(parse.GetValue(Variant) ?? "fp32");
}
