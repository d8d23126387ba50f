#!/usr/bin/python3
"""Make Immich-layout copies of the tiny SigLIP and SigLIP 2 test packs: the same weights, Immich's files and graphs.

    /usr/bin/python3 tools/make_immich_siglip_test_models.py
    # -> tests/fixtures/models/tiny-siglip-immich/, tests/fixtures/models/tiny-siglip2-immich/

Run it after make_family_test_models.py and make_siglip2_test_model.py: it reads their Transformers.js packs
(tests/fixtures/models/tiny-siglip-hf, tiny-siglip2-hf) and rewrites their ONNX graphs the way Immich's exporter
(OpenCLIP encode_text/encode_image with normalize=True) shapes them, so the parity reference of the Immich packs is the
PyTorch reference of the Transformers.js packs (tests/fixtures/reference/tiny-siglip*.json): same towers, same weights.

* textual/model.onnx: input `text` int32 [1, 64] (cast to int64 in the graph), output `embedding` [1, 32], the
  pooled output L2-normalised. visual/model.onnx: input `image` float32 [1, 3, 224, 224], output `embedding` [1, 32],
  normalised. Immich exports a batch of one.
* config.json: OpenCLIP model config (embed_dim, vision_cfg with timm_model_name, text_cfg with context_length 64,
  hf_tokenizer_name timm/ViT-B-16-SigLIP or timm/ViT-B-16-SigLIP2, tokenizer_kwargs.clean "canonicalize" for SigLIP).
* visual/preprocess_cfg.json: 224x224, resize_mode "squash", bicubic (SigLIP) or bilinear (SigLIP 2), mean = std = 0.5.
* SigLIP's textual/ holds ONLY tokenizer.json (with tokenizer_config.json and special_tokens_map.json): the
  SentencePiece Unigram model written the way transformers' SpmConverter writes T5/SigLIP tokenizers (vocabulary in
  SentencePiece order with scores, precompiled charsmap, Metaspace, "$A </s>" template), so the pack exercises loading
  a Unigram tokenizer from tokenizer.json alone. SigLIP 2's textual/ holds tokenizer.model (Gemma BPE) and its configs.
"""

from __future__ import annotations

import base64
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sentencepiece import sentencepiece_model_pb2 as spm_pb2

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_family_test_models as fam  # noqa: E402

CONTEXT = 64


def immich_graph(source: Path, target: Path, old_input: str, new_input: str, int_input: bool, pooled: str) -> None:
    """Renames the input (casting int32 ids to int64 inside the graph), keeps only the pooled output, L2-normalised,
    as `embedding`, and fixes the batch at one."""
    model = onnx.load(str(source))
    graph = model.graph
    old = next(i for i in graph.input if i.name == old_input)
    dims = [d.dim_value if d.dim_value else None for d in old.type.tensor_type.shape.dim]
    if int_input:
        shape = [1, CONTEXT]
        feed = old_input + "_int64"
        graph.node.insert(0, helper.make_node("Cast", [new_input], [feed], to=TensorProto.INT64, name="ids_to_int64"))
        new = helper.make_tensor_value_info(new_input, TensorProto.INT32, shape)
    else:
        shape = [1] + dims[1:]
        feed = new_input
        new = helper.make_tensor_value_info(new_input, TensorProto.FLOAT, shape)
    for node in graph.node:
        for k, name in enumerate(node.input):
            if name == old_input:
                node.input[k] = feed
    graph.input.remove(old)
    graph.input.insert(0, new)

    out = next(o for o in graph.output if o.name == pooled)
    while len(graph.output):
        graph.output.pop()
    graph.initializer.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), "l2_axes"))
    graph.node.extend([
        helper.make_node("Mul", [pooled, pooled], ["l2_sq"], name="l2_sq"),
        helper.make_node("ReduceSum", ["l2_sq", "l2_axes"], ["l2_sum"], keepdims=1, name="l2_sum"),
        helper.make_node("Sqrt", ["l2_sum"], ["l2_norm"], name="l2_norm"),
        helper.make_node("Div", [pooled, "l2_norm"], ["embedding"], name="l2_div"),
    ])
    width = out.type.tensor_type.shape.dim[-1].dim_value
    graph.output.append(helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, width]))
    del graph.value_info[:]
    onnx.checker.check_model(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(target))


def unigram_tokenizer_json(spm_bytes: bytes) -> dict:
    """tokenizer.json as transformers' SpmConverter writes a SigLIP/T5 Unigram model (ids = SentencePiece ids)."""
    proto = spm_pb2.ModelProto()
    proto.ParseFromString(spm_bytes)
    special = {p.piece for p in proto.pieces if p.type in (2, 3)}  # UNKNOWN, CONTROL
    unk = next(i for i, p in enumerate(proto.pieces) if p.type == 2)
    metaspace = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    eos = proto.trainer_spec.eos_id
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": p.piece, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i, p in enumerate(proto.pieces) if p.piece in special],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(proto.normalizer_spec.precompiled_charsmap).decode()},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        "pre_tokenizer": metaspace,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {"</s>": {"id": "</s>", "ids": [eos], "tokens": ["</s>"]}}},
        "decoder": metaspace,
        "model": {"type": "Unigram", "unk_id": unk, "vocab": [[p.piece, p.score] for p in proto.pieces], "byte_fallback": False},
    }


def openclip_config(hf_tokenizer: str, timm_model: str, clean: str | None, vocab: int) -> dict:
    text_cfg = {"context_length": CONTEXT, "vocab_size": vocab, "hf_tokenizer_name": hf_tokenizer, "width": 32, "heads": 2,
                "layers": 2, "no_causal_mask": True, "proj_bias": True, "pool_type": "last", "norm_kwargs": {"eps": 1e-6}}
    if clean:
        text_cfg["tokenizer_kwargs"] = {"clean": clean}
    return {"embed_dim": 32, "init_logit_bias": -10,
            "vision_cfg": {"image_size": 224, "timm_model_name": timm_model, "timm_model_pretrained": False, "timm_pool": "map",
                           "timm_proj": "none"},
            "text_cfg": text_cfg}


def make(source: Path, out: Path, interpolation: str, hf_tokenizer: str, timm_model: str, clean: str | None, tokenizer_files) -> None:
    if out.exists():
        shutil.rmtree(out)
    immich_graph(source / "onnx" / "text_model.onnx", out / "textual" / "model.onnx", "input_ids", "text", True, "pooler_output")
    immich_graph(source / "onnx" / "vision_model.onnx", out / "visual" / "model.onnx", "pixel_values", "image", False, "pooler_output")
    vocab = json.loads((source / "config.json").read_text())["text_config"]["vocab_size"]
    fam.write_json(out / "config.json", openclip_config(hf_tokenizer, timm_model, clean, vocab))
    fam.write_json(out / "visual" / "preprocess_cfg.json", {
        "size": [224, 224], "mode": "RGB", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
        "interpolation": interpolation, "resize_mode": "squash", "fill_color": 0})
    tokenizer_files(source, out / "textual")


def siglip_tokenizer(source: Path, textual: Path) -> None:
    fam.write_json(textual / "tokenizer.json", unigram_tokenizer_json((source / "spiece.model").read_bytes()))
    fam.write_json(textual / "tokenizer_config.json", {
        "tokenizer_class": "T5Tokenizer", "model_max_length": CONTEXT, "eos_token": "</s>", "pad_token": "</s>",
        "unk_token": "<unk>", "additional_special_tokens": [], "extra_ids": 0, "clean_up_tokenization_spaces": True})
    fam.write_json(textual / "special_tokens_map.json", {"eos_token": "</s>", "pad_token": "</s>", "unk_token": "<unk>"})


def siglip2_tokenizer(source: Path, textual: Path) -> None:
    for name in ["tokenizer.model", "tokenizer_config.json", "special_tokens_map.json"]:
        shutil.copyfile(source / name, textual / name)


def main() -> None:
    models = fam.REPO / "tests" / "fixtures" / "models"
    make(models / "tiny-siglip-hf", models / "tiny-siglip-immich", "bicubic", "timm/ViT-B-16-SigLIP", "vit_base_patch16_siglip_224",
         "canonicalize", siglip_tokenizer)
    make(models / "tiny-siglip2-hf", models / "tiny-siglip2-immich", "bilinear", "timm/ViT-B-16-SigLIP2", "vit_base_patch16_siglip_224",
         None, siglip2_tokenizer)
    print("immich siglip packs written")


if __name__ == "__main__":
    main()
