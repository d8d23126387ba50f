#!/usr/bin/python3
"""Make a full-size SigLIP-B/16-shaped pack with random weights for bench/ (not committed; tools/out/ is git-ignored).

    /usr/bin/python3 tools/make_siglip_bench_model.py          # -> tools/out/siglip-b16-random/  (~1 min, ~350 MB)

Transformers.js / onnx-community layout, as Xenova/siglip-base-patch16-224, so Omnivec and the Node.js contender load the
same files the way they load the real pack:

* onnx/vision_model.onnx: the image tower at full size: 224x224 input, 16x16 patches (196 tokens, no class token),
  768 wide, 12 pre-LN layers with 12 heads and a 3072-wide tanh-GELU MLP, post LayerNorm, then SigLIP's
  attention-pooling head (a learned probe attending over the patches, LayerNorm, MLP). Input pixel_values float32
  [batch, 3, 224, 224]; outputs last_hidden_state and pooler_output [batch, 768] (not normalised), as the real export.
* onnx/text_model.onnx: a SigLIP-shaped text tower (input_ids [batch, 64] -> pooler_output [batch, 768], last position
  pooled) at full width but only 2 layers and a small trained vocabulary: the benchmark measures the image tower; the
  text tower only has to load.
* config.json (model_type siglip), preprocessor_config.json (SiglipImageProcessor: straight 224x224 bicubic resize,
  no crop, mean = std = 0.5), tokenizer_config.json (SiglipTokenizer, 64 tokens), spiece.model.

The weights come from a fixed seed (same file every run). The towers are the ones tools/make_family_test_models.py
builds for the tiny test pack, at the real sizes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_family_test_models as fam  # noqa: E402

SEED = 16
WIDTH, LAYERS, HEADS, PATCH, IMAGE = 768, 12, 12, 16, 224


class SiglipVisionB16(nn.Module):
    """SigLIP's vision tower (HF SiglipVisionTransformer) at B/16 size."""

    def __init__(self):
        super().__init__()
        self.embed = fam.PatchEmbed(WIDTH, PATCH, IMAGE, cls=False)
        self.encoder = fam.Encoder(WIDTH, LAYERS, HEADS)
        self.post_ln = nn.LayerNorm(WIDTH)
        self.probe = nn.Parameter(torch.randn(1, 1, WIDTH))
        self.head_attn = fam.Attention(WIDTH, HEADS)
        self.head_ln = nn.LayerNorm(WIDTH)
        self.head_fc1, self.head_fc2 = nn.Linear(WIDTH, 4 * WIDTH), nn.Linear(4 * WIDTH, WIDTH)

    def forward(self, pixel_values):
        hidden = self.post_ln(self.encoder(self.embed(pixel_values)))
        x = self.head_attn(self.probe.expand(hidden.shape[0], 1, hidden.shape[2]), hidden)
        x = x + self.head_fc2(F.gelu(self.head_fc1(self.head_ln(x)), approximate="tanh"))
        return hidden, x[:, 0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(fam.REPO / "tools" / "out" / "siglip-b16-random"))
    parser.add_argument("--corpus")
    args = parser.parse_args()
    out = Path(args.out)
    corpus = fam.corpus_dir(args.corpus)
    training = fam.tokenizer_texts(corpus) + fam.EXTRA_SENTENCES * 3

    torch.manual_seed(SEED)
    model_bytes = fam.train_spm(training, 600, dict(pad_id=0, eos_id=1, unk_id=2, bos_id=-1, pad_piece="<pad>",
                                                      eos_piece="</s>", unk_piece="<unk>"))
    sp = fam.spm.SentencePieceProcessor(model_proto=model_bytes)
    vocab = sp.get_piece_size()
    text = fam.SiglipText(vocab, WIDTH).eval()
    vision = SiglipVisionB16().eval()
    fam.spice_up(text)
    fam.spice_up(vision)
    params = sum(p.numel() for p in vision.parameters())

    (out / "onnx").mkdir(parents=True, exist_ok=True)
    (out / "spiece.model").write_bytes(model_bytes)
    ids0 = torch.tensor([fam.siglip_ids(sp, "a photo of a cat")], dtype=torch.int64)
    fam.export(text, (ids0,), out / "onnx" / "text_model.onnx", ["input_ids"], ["last_hidden_state", "pooler_output"],
               {"input_ids": {0: "batch_size", 1: "sequence_length"}, "last_hidden_state": {0: "batch_size", 1: "sequence_length"},
                "pooler_output": {0: "batch_size"}})
    fam.export(vision, (torch.zeros(1, 3, IMAGE, IMAGE),), out / "onnx" / "vision_model.onnx", ["pixel_values"],
               ["last_hidden_state", "pooler_output"],
               {"pixel_values": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"}, "pooler_output": {0: "batch_size"}})
    fam.write_json(out / "config.json", {
        "architectures": ["SiglipModel"], "model_type": "siglip", "initializer_factor": 1.0,
        "text_config": {"model_type": "siglip_text_model", "vocab_size": vocab, "hidden_size": WIDTH,
                        "num_hidden_layers": 2, "num_attention_heads": 2, "max_position_embeddings": fam.SIGLIP_CONTEXT},
        "vision_config": {"model_type": "siglip_vision_model", "hidden_size": WIDTH, "intermediate_size": 4 * WIDTH,
                          "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "image_size": IMAGE, "patch_size": PATCH},
        "transformers_version": "4.37.0.dev0",
    })
    fam.write_json(out / "preprocessor_config.json", {
        "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5],
        "image_processor_type": "SiglipImageProcessor", "image_std": [0.5, 0.5, 0.5], "processor_class": "SiglipProcessor",
        "resample": 3, "rescale_factor": 0.00392156862745098, "size": {"height": IMAGE, "width": IMAGE},
    })
    fam.write_json(out / "tokenizer_config.json", {
        "tokenizer_class": "SiglipTokenizer", "model_max_length": fam.SIGLIP_CONTEXT, "do_lower_case": True,
        "eos_token": "</s>", "pad_token": "</s>", "unk_token": "<unk>", "additional_special_tokens": [],
        "processor_class": "SiglipProcessor", "sp_model_kwargs": {},
    })
    fam.write_json(out / "special_tokens_map.json", {"eos_token": "</s>", "pad_token": "</s>", "unk_token": "<unk>"})
    size = (out / "onnx" / "vision_model.onnx").stat().st_size
    print(f"siglip-b16: vision tower {params / 1e6:.1f} M parameters, {size / 2**20:.0f} MiB -> {out}")


if __name__ == "__main__":
    main()
