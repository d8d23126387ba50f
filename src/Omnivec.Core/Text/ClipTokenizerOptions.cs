namespace Omnivec.Text;

/// <summary>Overrides for what a model folder says (or what the defaults are when it says nothing).</summary>
public sealed class ClipTokenizerOptions
{
    /// <summary>Ids per encoded text, start and end tokens included; default: tokenizer_config.json's model_max_length, else 77.</summary>
    public int? ContextLength { get; set; }

    /// <summary>
    /// Id written after the end token; default: tokenizer_config.json's pad_token, else 0 as OpenAI's clip.tokenize does.
    /// Hugging Face CLIP pads with &lt;|endoftext|&gt; (49407); OpenCLIP and Immich exports pad with 0.
    /// </summary>
    public int? PadTokenId { get; set; }
}
