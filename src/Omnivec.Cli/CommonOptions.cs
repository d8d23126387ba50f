using System.CommandLine;
using Omnivec.Models;

namespace Omnivec.Cli;

/// <summary>Options shared by every command that needs a model.</summary>
internal sealed class ModelOptions
{
    public const string DefaultModel = "Xenova/clip-vit-base-patch32";

    public Option<string> Model { get; } = new("--model", "-m")
    {
        Description = "A model folder, or a Hugging Face Hub repo id (org/name[@revision]). Default: " + DefaultModel,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("OMNIVEC_MODEL") is { Length: > 0 } env ? env : DefaultModel,
    };

    public Option<string> Variant { get; } = new("--variant")
    {
        Description = "Which ONNX files to use where the model has several: fp32 (default), fp16 or quantized.",
        DefaultValueFactory = _ => "fp32",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Model);
        command.Options.Add(Variant);
    }

    public ModelVariant GetVariant(ParseResult parse) => ClipModelLayout.ParseVariant(parse.GetValue(Variant) ?? "fp32");
}
