#!/usr/bin/python3
"""Make a small random-weight SigLIP 2 (fixed resolution) test pack and its PyTorch reference embeddings.

    /usr/bin/python3 tools/make_siglip2_test_model.py   # -> tests/fixtures/models/tiny-siglip2-hf/, tests/fixtures/reference/tiny-siglip2.json

Shaped as onnx-community's SigLIP 2 exports (e.g. siglip2-base-patch16-224): the fixed-resolution SigLIP 2 checkpoints
are SiglipModel graphs (config.json model_type "siglip"; "siglip2" is the variable-resolution NaFlex architecture),
with Gemma's tokenizer instead of SigLIP's:

* tokenizer.model: a SentencePiece BPE model as Gemma's is built (byte fallback, identity normalisation, no dummy
  prefix, extra whitespace kept, digits split; <pad>=0, <eos>=1, <bos>=2, <unk>=3), trained here on the reference
  tokenizer strings and sentences in other scripts (Gemma's 256k vocabulary cannot be had here), small enough that
  many characters only exist as byte pieces.
* tokenizer_config.json: GemmaTokenizer, add_bos_token false, add_eos_token true, model_max_length unset (the huge
  sentinel transformers writes), so the pack's 64 comes from the family.
* Text rules (SigLIP 2's model card: the model was trained on lower-cased text, padded to 64): Python's str.lower(),
  the SentencePiece ids, <eos>, then <pad> (0) up to 64; at most 63 pieces.
* preprocessor_config.json: SiglipImageProcessor, 224x224 straight BILINEAR resize (SigLIP 2's), mean = std = 0.5.

The towers are make_family_test_models.py's SigLIP towers (text pools the LAST position, so a padding mistake changes
the output); ids come from python3-sentencepiece plus the rules above, embeddings from the PyTorch modules.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import onnx
import sentencepiece as spm
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_family_test_models as fam  # noqa: E402

SEED = 23
CONTEXT = 64
PAD, EOS, BOS, UNK = 0, 1, 2, 3

# Texts that exercise what differs from SigLIP: case, punctuation and whitespace kept, digits split, byte fallback.
GEMMA_EDGE = [
    "Ein Hund am Strand!", "a dog,  a cat;\tand  a bird...", "  leading and trailing  ", "room 1234 at 5:30pm",
    "ÄÖÜ straße", "ΣΊΣΥΦΟΣ", "İstanbul", "\U0001F431 cat \U0001F436", "snowman \u2603 and rune \u16A0",
]


def train_gemma_like(sentences: list[str]) -> bytes:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_writer=model, vocab_size=700, model_type="bpe", character_coverage=0.995,
        byte_fallback=True, normalization_rule_name="identity", add_dummy_prefix=False, remove_extra_whitespaces=False,
        split_digits=True, allow_whitespace_only_pieces=True, pad_id=PAD, eos_id=EOS, bos_id=BOS, unk_id=UNK,
        pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>", unk_piece="<unk>", hard_vocab_limit=False, num_threads=1,
        minloglevel=2)
    return model.getvalue()


def gemma_ids(sp: spm.SentencePieceProcessor, text: str) -> list[int]:
    ids = sp.encode(text.lower())[: CONTEXT - 1] + [EOS]
    return ids + [PAD] * (CONTEXT - len(ids))


def main() -> None:
    corpus = fam.corpus_dir(None)
    reference_texts = fam.tokenizer_texts(corpus)
    training = reference_texts + fam.EXTRA_SENTENCES * 3
    texts = reference_texts + fam.EDGE_TEXTS + GEMMA_EDGE
    fixtures = fam.REPO / "tests" / "fixtures"
    out, ref = fixtures / "models" / "tiny-siglip2-hf", fixtures / "reference" / "tiny-siglip2.json"

    torch.manual_seed(SEED)
    model_bytes = train_gemma_like(training)
    sp = spm.SentencePieceProcessor(model_proto=model_bytes)
    vocab, width = sp.get_piece_size(), 32
    text, vision = fam.SiglipText(vocab, width).eval(), fam.SiglipVision(width).eval()
    fam.spice_up(text)
    fam.spice_up(vision, 3.0)
    combined = fam.SiglipCombined(text, vision).eval()
    with torch.no_grad():
        combined.logit_scale.fill_(float(np.log(117.33)))
        combined.logit_bias.fill_(-12.9)

    (out / "onnx").mkdir(parents=True, exist_ok=True)
    (out / "tokenizer.model").write_bytes(model_bytes)
    ids0 = torch.tensor([gemma_ids(sp, "a photo of a cat")], dtype=torch.int64)
    px0 = torch.zeros(1, 3, 224, 224)
    fam.export(text, (ids0,), out / "onnx" / "text_model.onnx", ["input_ids"], ["last_hidden_state", "pooler_output"],
               {"input_ids": {0: "batch_size", 1: "sequence_length"}, "last_hidden_state": {0: "batch_size", 1: "sequence_length"},
                "pooler_output": {0: "batch_size"}})
    fam.export(vision, (px0,), out / "onnx" / "vision_model.onnx", ["pixel_values"], ["last_hidden_state", "pooler_output"],
               {"pixel_values": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"}, "pooler_output": {0: "batch_size"}})
    fam.export(combined, (ids0, px0), out / "onnx" / "model.onnx", ["input_ids", "pixel_values"],
               ["logits_per_image", "logits_per_text", "text_embeds", "image_embeds"],
               {"input_ids": {0: "text_batch_size", 1: "sequence_length"}, "pixel_values": {0: "image_batch_size"}}, fold=False)
    inits = {i.name for i in onnx.load(str(out / "onnx" / "model.onnx")).graph.initializer}
    if not {"logit_scale", "logit_bias"} <= inits:
        fam.fail("model.onnx lacks the logit_scale/logit_bias initializers")

    fam.write_json(out / "config.json", {
        "architectures": ["SiglipModel"], "model_type": "siglip", "initializer_factor": 1.0,
        "text_config": {"model_type": "siglip_text_model", "vocab_size": vocab, "hidden_size": width, "num_hidden_layers": 2,
                        "num_attention_heads": 2, "max_position_embeddings": CONTEXT, "pad_token_id": PAD, "eos_token_id": EOS,
                        "bos_token_id": BOS},
        "vision_config": {"model_type": "siglip_vision_model", "hidden_size": width, "num_hidden_layers": 2,
                          "num_attention_heads": 2, "image_size": 224, "patch_size": 16},
        "transformers_version": "4.49.0.dev0",
    })
    fam.write_json(out / "preprocessor_config.json", {
        "do_convert_rgb": None, "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5],
        "image_processor_type": "SiglipImageProcessor", "image_std": [0.5, 0.5, 0.5], "processor_class": "SiglipProcessor",
        "resample": 2, "rescale_factor": 0.00392156862745098, "size": {"height": 224, "width": 224},
    })
    fam.write_json(out / "tokenizer_config.json", {
        "tokenizer_class": "GemmaTokenizer", "add_bos_token": False, "add_eos_token": True,
        "model_max_length": 1000000000000000019884624838656, "bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>",
        "unk_token": "<unk>", "padding_side": "right", "processor_class": "SiglipProcessor", "sp_model_kwargs": {},
        "spaces_between_special_tokens": False, "clean_up_tokenization_spaces": False,
    })
    fam.write_json(out / "special_tokens_map.json", {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>"})

    entries = []
    with torch.no_grad():
        all_ids = [gemma_ids(sp, t) for t in texts]
        embs = text(torch.tensor(all_ids, dtype=torch.int64))[1].numpy()
    for t, ids, e in zip(texts, all_ids, embs):
        entries.append({"text": t, "ids": ids, "embedding": fam.f9(e)})
    byte_pieces = sum(1 for ids in all_ids for i in ids if sp.is_byte(i))
    if byte_pieces == 0:
        fam.fail("no text reaches the byte-fallback pieces")

    images, bicubic = [], []
    with torch.no_grad():
        for name in fam.PHOTOS:
            img = fam.load_image(corpus / "images" / "photos" / name)
            e = vision(fam.siglip_pixels(img, Image.BILINEAR)[None])[1].numpy()
            images.append({"file": "images/photos/" + name, "embedding": fam.f9(e[0])})
            bicubic.append(vision(fam.siglip_pixels(img, Image.BICUBIC)[None])[1].numpy()[0])
        img_embs = np.array([i["embedding"] for i in images], dtype=np.float32)
        ls, lb = float(combined.logit_scale), float(combined.logit_bias)
    fam.write_reference(ref, {
        "format": "omnivec-family-reference-1", "family": "siglip", "pack": "tiny-siglip2-hf",
        "notes": "SigLIP 2 (Gemma tokenizer). ids: python3-sentencepiece on str.lower() text (punctuation and whitespace "
                 "kept) + <eos>=1, padded to 64 with <pad>=0; embeddings: PyTorch pooler_output (not normalised); images: "
                 "PIL resize to 224x224 bilinear, (x/255-0.5)/0.5.",
        "logit_scale": ls, "logit_bias": lb,
        "sensitivity": {"max_cosine_between_photos": fam.min_offdiag_cos(img_embs),
                        "min_cosine_bicubic_vs_bilinear": fam.cos_rows(np.array(bicubic), img_embs),
                        "byte_fallback_pieces": byte_pieces},
        "texts": entries, "images": images,
    })
    print(f"siglip2: vocab {vocab}, {len(entries)} texts ({byte_pieces} byte pieces), {len(images)} images, sensitivity "
          f"{fam.min_offdiag_cos(img_embs):.4f}/{fam.cos_rows(np.array(bicubic), img_embs):.5f}")


if __name__ == "__main__":
    main()
