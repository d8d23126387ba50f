#!/usr/bin/python3
"""Make small random-weight CLIP test models and the reference embeddings for them.

Run with the Debian python that has torch (see tools/README.md):

    /usr/bin/python3 tools/make_test_models.py              # tiny models + references -> tests/fixtures/
    /usr/bin/python3 tools/make_test_models.py --full-size  # ViT-B/32-shaped random model -> tools/out/ (not committed)

The model is a plain-PyTorch re-statement of OpenAI CLIP's architecture (ViT image tower, causal text
transformer, features at the first end-of-text token, linear projections) with random weights drawn from a
fixed seed. The same weights are exported as ONNX in two layouts:

* Transformers.js / Xenova:  tiny-clip-hf/onnx/{text_model,vision_model,vision_model_fp16}.onnx + HF json files
* Immich:                     tiny-clip-immich/{textual,visual}/model.onnx + OpenCLIP-style json files

Reference embeddings (tests/fixtures/reference/tiny-clip.json) are computed with the PyTorch module, never
through ONNX. The tokenizer used for the references is a re-implementation of OpenAI's simple_tokenizer logic
(with ftfy replaced by NFC normalisation), checked against the corpus' tokenizer-vectors.jsonl before
anything is written. The exported ONNX graphs are checked with onnx.checker, their signatures are checked,
and (since onnxruntime is not available here) they are executed with a small numpy interpreter below and
compared with the PyTorch outputs.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import json
import math
import os
import shutil
import sys
import tempfile
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import regex
import torch
import torch.nn as nn
import torch.nn.functional as F
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image, ImageOps
import torchvision.transforms as T

REPO = Path(__file__).resolve().parents[1]

SOT = 49406  # <|startoftext|>
EOT = 49407  # <|endoftext|>
VOCAB_SIZE = 49408
CONTEXT = 77
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
OPSET = 14
SEED = 5  # picked (with the TINY vision gains) among a few seeds: photo separation vs. robustness to pixel noise


@dataclass
class ClipConfig:
    embed_dim: int
    image_size: int
    patch_size: int
    vision_width: int
    vision_layers: int
    vision_heads: int
    context_length: int
    vocab_size: int
    text_width: int
    text_layers: int
    text_heads: int
    vision_qk_gain: float = 1.0    # init multiplier on the q/k rows of in_proj_weight (vision tower)
    vision_proj_gain: float = 1.0  # init multiplier on out_proj / c_proj weights (vision tower)
    seed: int = SEED


# Text width 16 (not 32): the 49408 x width token table is stored in both layouts, and with the tokenizer
# files (about 2.9 MB per layout) width 32 would put tests/fixtures/models at ~22 MB.
TINY = ClipConfig(embed_dim=64, image_size=224, patch_size=32,
                  vision_width=64, vision_layers=2, vision_heads=2,
                  context_length=CONTEXT, vocab_size=VOCAB_SIZE,
                  text_width=16, text_layers=2, text_heads=2,
                  vision_qk_gain=2.0, vision_proj_gain=2.0)

VIT_B32 = ClipConfig(embed_dim=512, image_size=224, patch_size=32,
                     vision_width=768, vision_layers=12, vision_heads=12,
                     context_length=CONTEXT, vocab_size=VOCAB_SIZE,
                     text_width=512, text_layers=12, text_heads=8)


def fail(msg: str) -> None:
    print("ERROR: " + msg, file=sys.stderr)
    sys.exit(1)


# ----------------------------------------------------------------------------------------------------------
# Tokenizer: OpenAI simple_tokenizer logic, written from its description
# ----------------------------------------------------------------------------------------------------------

def bytes_to_unicode() -> dict[int, str]:
    """Byte -> printable unicode char table used by GPT-2/CLIP byte-level BPE (order matters for the vocab)."""
    printable = (list(range(ord("!"), ord("~") + 1))
                 + list(range(ord("\u00a1"), ord("\u00ac") + 1))
                 + list(range(ord("\u00ae"), ord("\u00ff") + 1)))
    byte_values = list(printable)
    code_points = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            byte_values.append(b)
            code_points.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(byte_values, code_points)}


def get_pairs(word: tuple[str, ...]) -> set[tuple[str, str]]:
    return {(word[i], word[i + 1]) for i in range(len(word) - 1)}


def basic_clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text)  # stands in for ftfy.fix_text
    text = html.unescape(html.unescape(text))
    return text.strip()


def whitespace_clean(text: str) -> str:
    return regex.sub(r"\s+", " ", text).strip()


class ClipTokenizer:
    PATTERN = (r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d"
               r"|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+")

    def __init__(self, bpe_gz: Path):
        lines = gzip.open(bpe_gz).read().decode("utf-8").split("\n")
        merge_lines = lines[1:49152 - 256 - 2 + 1]
        self.merges: list[tuple[str, str]] = []
        for line in merge_lines:
            parts = line.split()
            if len(parts) != 2:
                fail(f"bad merge line {line!r}")
            self.merges.append((parts[0], parts[1]))
        self.byte_encoder = bytes_to_unicode()
        vocab = list(self.byte_encoder.values())
        vocab = vocab + [v + "</w>" for v in vocab]
        vocab.extend("".join(m) for m in self.merges)
        vocab.extend(["<|startoftext|>", "<|endoftext|>"])
        if len(vocab) != VOCAB_SIZE or len(set(vocab)) != VOCAB_SIZE:
            fail(f"vocab has {len(vocab)} entries ({len(set(vocab))} distinct), expected {VOCAB_SIZE}")
        self.vocab_list = vocab
        self.encoder = {tok: i for i, tok in enumerate(vocab)}
        if self.encoder["<|startoftext|>"] != SOT or self.encoder["<|endoftext|>"] != EOT:
            fail("special token ids are not 49406/49407")
        self.bpe_ranks = {m: i for i, m in enumerate(self.merges)}
        self.cache = {"<|startoftext|>": "<|startoftext|>", "<|endoftext|>": "<|endoftext|>"}
        self.pat = regex.compile(self.PATTERN, regex.IGNORECASE)

    def bpe(self, token: str) -> str:
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        pairs = get_pairs(word)
        if not pairs:
            return token + "</w>"
        while True:
            best = min(pairs, key=lambda p: self.bpe_ranks.get(p, math.inf))
            if best not in self.bpe_ranks:
                break
            first, second = best
            merged: list[str] = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    merged.extend(word[i:])
                    break
                merged.extend(word[i:j])
                i = j
                if i < len(word) - 1 and word[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = tuple(merged)
            if len(word) == 1:
                break
            pairs = get_pairs(word)
        result = " ".join(word)
        self.cache[token] = result
        return result

    def encode(self, text: str) -> list[int]:
        text = whitespace_clean(basic_clean(text)).lower()
        ids: list[int] = []
        for piece in self.pat.findall(text):
            chars = "".join(self.byte_encoder[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(chars).split(" "))
        return ids

    def context(self, text: str, pad_id: int = 0) -> list[int]:
        """clip.tokenize(text, context_length=77, truncate=True) semantics, with a choice of pad id."""
        ids = [SOT] + self.encode(text) + [EOT]
        if len(ids) > CONTEXT:
            ids = ids[:CONTEXT]
            ids[-1] = EOT
        return ids + [pad_id] * (CONTEXT - len(ids))


def verify_tokenizer(tok: ClipTokenizer, vectors: Path) -> int:
    n = 0
    bad = []
    with open(vectors, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            n += 1
            bpe_ids = tok.encode(rec["text"])
            ctx = tok.context(rec["text"])
            if bpe_ids != rec["bpe_ids"] or ctx != rec["context77"]:
                bad.append(rec["text"])
    if bad:
        fail(f"tokenizer differs from tokenizer-vectors.jsonl on {len(bad)} of {n} lines, e.g. {bad[:3]!r}")
    if n == 0:
        fail("tokenizer-vectors.jsonl is empty")
    return n


# ----------------------------------------------------------------------------------------------------------
# Tokenizer files
# ----------------------------------------------------------------------------------------------------------

def write_json(path: Path, obj, compact: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        if compact:
            json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        else:
            json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")


def tokenizer_json(tok: ClipTokenizer) -> dict:
    """HF `tokenizers` JSON in the shape the CLIP converter produces (BPE with </w> suffix, byte level)."""
    def added(i, content):
        return {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
                "normalized": True, "special": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added(SOT, "<|startoftext|>"), added(EOT, "<|endoftext|>")],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFC"},
            {"type": "Replace", "pattern": {"Regex": r"\s+"}, "content": " "},
            {"type": "Lowercase"},
        ]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split",
             "pattern": {"Regex": r"'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"},
             "behavior": "Removed", "invert": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        ]},
        "post_processor": {"type": "RobertaProcessing", "sep": ["<|endoftext|>", EOT],
                           "cls": ["<|startoftext|>", SOT], "trim_offsets": False, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": "<|endoftext|>", "continuing_subword_prefix": "",
            "end_of_word_suffix": "</w>", "fuse_unk": False, "byte_fallback": False,
            "vocab": tok.encoder,
            "merges": [f"{a} {b}" for a, b in tok.merges],
        },
    }


def write_tokenizer_files(tok: ClipTokenizer, folder: Path, pad_token: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "vocab.json", tok.encoder, compact=True)
    with open(folder / "merges.txt", "w", encoding="utf-8", newline="\n") as f:
        f.write("#version: 0.2\n")
        for a, b in tok.merges:
            f.write(f"{a} {b}\n")
    write_json(folder / "tokenizer.json", tokenizer_json(tok), compact=True)
    write_json(folder / "tokenizer_config.json", {
        "model_max_length": CONTEXT,
        "pad_token": pad_token,
        "bos_token": "<|startoftext|>",
        "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
        "do_lower_case": True,
        "tokenizer_class": "CLIPTokenizer",
    })
    write_json(folder / "special_tokens_map.json", {
        "bos_token": "<|startoftext|>",
        "eos_token": "<|endoftext|>",
        "pad_token": pad_token,
        "unk_token": "<|endoftext|>",
    })


# ----------------------------------------------------------------------------------------------------------
# Model (OpenAI CLIP architecture)
# ----------------------------------------------------------------------------------------------------------

class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Attention(nn.Module):
    """nn.MultiheadAttention's math (packed in_proj, q scaled by head_dim^-0.5, out_proj), batch-first."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * width))
        self.out_proj = nn.Linear(width, width)

    def forward(self, x, causal: bool):
        b, n, w = x.shape
        d = w // self.heads
        q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        q = q.reshape(b, n, self.heads, d).transpose(1, 2) * (d ** -0.5)
        k = k.reshape(b, n, self.heads, d).transpose(1, 2)
        v = v.reshape(b, n, self.heads, d).transpose(1, 2)
        scores = q @ k.transpose(-2, -1)
        if causal:
            pos = torch.arange(n, device=x.device)
            scores = scores.masked_fill(pos[None, :] > pos[:, None], float("-inf"))
        out = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, w)
        return self.out_proj(out)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = Attention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(width, 4 * width))
        self.mlp.add_module("gelu", QuickGELU())
        self.mlp.add_module("c_proj", nn.Linear(4 * width, width))

    def forward(self, x, causal: bool):
        x = x + self.attn(self.ln_1(x), causal)
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int, causal: bool):
        super().__init__()
        self.causal = causal
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads) for _ in range(layers)])

    def forward(self, x):
        for block in self.resblocks:
            x = block(x, self.causal)
        return x


class VisionTransformer(nn.Module):
    def __init__(self, c: ClipConfig):
        super().__init__()
        w = c.vision_width
        grid = c.image_size // c.patch_size
        self.conv1 = nn.Conv2d(3, w, kernel_size=c.patch_size, stride=c.patch_size, bias=False)
        self.class_embedding = nn.Parameter(torch.empty(w))
        self.positional_embedding = nn.Parameter(torch.empty(grid * grid + 1, w))
        self.ln_pre = nn.LayerNorm(w)
        self.transformer = Transformer(w, c.vision_layers, c.vision_heads, causal=False)
        self.ln_post = nn.LayerNorm(w)
        self.proj = nn.Parameter(torch.empty(w, c.embed_dim))

    def forward(self, pixels):
        """Returns (projected CLS features [B, D], encoder output before ln_post [B, 1+grid^2, W])."""
        x = self.conv1(pixels)                       # [B, W, g, g]
        x = x.flatten(2).transpose(1, 2)             # [B, g*g, W]
        cls = self.class_embedding.reshape(1, 1, -1).expand(x.shape[0], 1, x.shape[2])
        x = torch.cat([cls, x], dim=1) + self.positional_embedding
        x = self.ln_pre(x)
        hidden = self.transformer(x)
        pooled = self.ln_post(hidden[:, 0, :])
        return pooled @ self.proj, hidden


class TextTransformer(nn.Module):
    def __init__(self, c: ClipConfig):
        super().__init__()
        self.token_embedding = nn.Embedding(c.vocab_size, c.text_width)
        self.positional_embedding = nn.Parameter(torch.empty(c.context_length, c.text_width))
        self.transformer = Transformer(c.text_width, c.text_layers, c.text_heads, causal=True)
        self.ln_final = nn.LayerNorm(c.text_width)
        self.text_projection = nn.Parameter(torch.empty(c.text_width, c.embed_dim))

    def forward(self, ids):
        """ids int64 [B, L<=77]. Returns (projected features at the first EOT [B, D], ln_final output [B, L, W])."""
        x = self.token_embedding(ids) + self.positional_embedding[: ids.shape[1]]
        x = self.ln_final(self.transformer(x))
        first_eot = (ids == EOT).int().argmax(dim=-1)                       # ArgMax keeps the first maximum
        index = first_eot.reshape(-1, 1, 1).expand(-1, 1, x.shape[2])
        pooled = torch.gather(x, 1, index)[:, 0]   # (squeeze(1) would export as an If node)
        return pooled @ self.text_projection, x


class CLIP(nn.Module):
    def __init__(self, c: ClipConfig):
        super().__init__()
        self.config = c
        self.visual = VisionTransformer(c)
        self.text = TextTransformer(c)


def init_weights(model: CLIP) -> None:
    """CLIP-like initialisation from a fixed seed; biases and LayerNorm affine params are made non-trivial
    so that a port that drops or swaps them fails the parity test."""
    c = model.config
    g = torch.Generator().manual_seed(c.seed)

    def normal_(t, std, mean=0.0):
        with torch.no_grad():
            t.copy_(torch.randn(t.shape, generator=g) * std + mean)

    def init_transformer(tr: Transformer, width: int, layers: int, qk_gain: float = 1.0, proj_gain: float = 1.0):
        attn_std = width ** -0.5
        proj_std = width ** -0.5 * (2 * layers) ** -0.5 * proj_gain
        fc_std = (2 * width) ** -0.5
        for blk in tr.resblocks:
            for ln in (blk.ln_1, blk.ln_2):
                normal_(ln.weight, 0.1, 1.0)
                normal_(ln.bias, 0.05)
            normal_(blk.attn.in_proj_weight, attn_std)
            with torch.no_grad():
                blk.attn.in_proj_weight[: 2 * width].mul_(qk_gain)  # q and k rows: sharper attention
            normal_(blk.attn.in_proj_bias, 0.02)
            normal_(blk.attn.out_proj.weight, proj_std)
            normal_(blk.attn.out_proj.bias, 0.02)
            normal_(blk.mlp.c_fc.weight, fc_std)
            normal_(blk.mlp.c_fc.bias, 0.02)
            normal_(blk.mlp.c_proj.weight, proj_std)
            normal_(blk.mlp.c_proj.bias, 0.02)

    v = model.visual
    vw = c.vision_width
    scale = vw ** -0.5
    # conv1: smooth random filters (8x8 normal noise upsampled bilinearly to patch x patch), std twice the
    # PyTorch default bound. Trained CLIP filters are smooth; white-noise filters make a random model react to
    # pixel-level noise (a +-2/255 perturbation moved embeddings to cosine 0.91), which would make end-to-end
    # tests with a different resampler meaningless. With smooth filters that perturbation gives > 0.997.
    p = c.patch_size
    low = torch.randn((vw, 3, 8, 8), generator=g)
    smooth = F.interpolate(low, size=(p, p), mode="bilinear", align_corners=False)
    with torch.no_grad():
        v.conv1.weight.copy_(smooth / smooth.std() * (2.0 * (3 * p * p) ** -0.5))
    normal_(v.class_embedding, scale)
    normal_(v.positional_embedding, scale)
    for ln in (v.ln_pre, v.ln_post):
        normal_(ln.weight, 0.1, 1.0)
        normal_(ln.bias, 0.05)
    # Sharper attention (q/k x2, so logits x4) and stronger residual branches (x2) than CLIP's init: with
    # CLIP's own scales, random-weight image embeddings are dominated by the image-independent CLS path and
    # two photos on white backgrounds get cosine 0.9987; with these (and seed 5) the most similar pair of
    # corpus photos is 0.94. Sharper still (x4) separates photos more but makes the model chaotic: +-1/255
    # pixel noise then costs cosine 0.9997, versus 0.99996 here.
    # (TINY sets them; the full-size benchmark model keeps CLIP's scales.)
    init_transformer(v.transformer, vw, c.vision_layers, qk_gain=c.vision_qk_gain, proj_gain=c.vision_proj_gain)
    normal_(v.proj, scale)

    t = model.text
    tw = c.text_width
    normal_(t.token_embedding.weight, 0.02)
    normal_(t.positional_embedding, 0.01)
    init_transformer(t.transformer, tw, c.text_layers)
    normal_(t.ln_final.weight, 0.1, 1.0)
    normal_(t.ln_final.bias, 0.05)
    normal_(t.text_projection, tw ** -0.5)


def build_model(c: ClipConfig) -> CLIP:
    model = CLIP(c)
    init_weights(model)
    return model.eval()


# Export wrappers ------------------------------------------------------------------------------------------

class HFText(nn.Module):
    def __init__(self, text):
        super().__init__()
        self.text = text

    def forward(self, input_ids):
        return self.text(input_ids)


class HFVision(nn.Module):
    def __init__(self, visual):
        super().__init__()
        self.visual = visual

    def forward(self, pixel_values):
        return self.visual(pixel_values)


class ImmichText(nn.Module):
    def __init__(self, text):
        super().__init__()
        self.text = text

    def forward(self, text):
        return self.text(text.long())[0]


class ImmichVision(nn.Module):
    def __init__(self, visual):
        super().__init__()
        self.visual = visual

    def forward(self, image):
        return self.visual(image)[0]


class OpenAIText(nn.Module):
    """The text tower as OpenAI CLIP's own encode_text exports it: the whole 77-position embedding is added (not sliced
    to the input's length) and the causal mask is a fixed 77x77 buffer, while input_ids is exported with a dynamic
    sequence axis. The graph therefore runs only at the full context; a shorter input fails to broadcast. Pooling is
    OpenAI's: at the highest id, i.e. the first end token."""

    def __init__(self, text: TextTransformer):
        super().__init__()
        self.text = text
        self.register_buffer("attn_mask", torch.full((CONTEXT, CONTEXT), float("-inf")).triu_(1))

    def _attention(self, attn: Attention, x):
        b, n, w = x.shape
        d = w // attn.heads
        q, k, v = F.linear(x, attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1)
        q = q.reshape(b, n, attn.heads, d).transpose(1, 2) * (d ** -0.5)
        k = k.reshape(b, n, attn.heads, d).transpose(1, 2)
        v = v.reshape(b, n, attn.heads, d).transpose(1, 2)
        scores = q @ k.transpose(-2, -1) + self.attn_mask
        out = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, w)
        return attn.out_proj(out)

    def forward(self, input_ids):
        t = self.text
        x = t.token_embedding(input_ids) + t.positional_embedding
        for block in t.transformer.resblocks:
            x = x + self._attention(block.attn, block.ln_1(x))
            x = x + block.mlp(block.ln_2(x))
        x = t.ln_final(x)
        eot = input_ids.int().argmax(dim=-1)
        index = eot.reshape(-1, 1, 1).expand(-1, 1, x.shape[2])
        return torch.gather(x, 1, index)[:, 0] @ t.text_projection


def export(module: nn.Module, dummy: torch.Tensor, path: Path, input_name: str, output_names: list[str],
           dynamic_axes: dict | None, output_dims: dict[str, list] | None = None) -> None:
    """torch.onnx.export, then set the declared output shapes (int = fixed, str = named dynamic axis): the
    exporter's shape inference leaves some fixed dims as generated symbols."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(module, (dummy,), str(path), opset_version=OPSET, do_constant_folding=True,
                          input_names=[input_name], output_names=output_names, dynamic_axes=dynamic_axes)
    if output_dims:
        m = onnx.load(str(path))
        for out in m.graph.output:
            dims = output_dims.get(out.name)
            if dims is None:
                continue
            shape = out.type.tensor_type.shape
            if len(shape.dim) != len(dims):
                fail(f"{path}: output {out.name} has rank {len(shape.dim)}, expected {len(dims)}")
            for d, want in zip(shape.dim, dims):
                if isinstance(want, str):
                    d.dim_param = want
                else:
                    d.dim_value = want
        onnx.save(m, str(path))


def fp16_weights_copy(model: CLIP) -> CLIP:
    """A copy whose parameters are rounded to float16 (stored as float32): the PyTorch twin of *_fp16.onnx."""
    twin = build_model(model.config)
    twin.load_state_dict(model.state_dict())
    with torch.no_grad():
        for p in twin.parameters():
            p.copy_(p.half().float())
    return twin


def convert_initializers_to_fp16(src: Path, dst: Path) -> tuple[int, int]:
    """Store every float32 initializer that is exactly representable in float16 (all weights of a model
    exported from fp16_weights_copy) as float16, followed by a Cast back to float32. Compute, inputs and
    outputs stay float32, so the graph computes exactly what the fp32 graph of the rounded weights computes."""
    m = onnx.load(str(src))
    g = m.graph
    kept, converted = [], 0
    casts = []
    for init in g.initializer:
        arr = numpy_helper.to_array(init)
        if init.data_type == TensorProto.FLOAT and arr.size > 1 and np.array_equal(
                arr.astype(np.float16).astype(np.float32), arr):
            name16 = init.name + "__fp16"
            kept.append(numpy_helper.from_array(arr.astype(np.float16), name16))
            casts.append(helper.make_node("Cast", [name16], [init.name], to=TensorProto.FLOAT,
                                          name=f"Cast_fp16_{converted}"))
            converted += 1
        else:
            kept.append(init)
    left = len(g.initializer) - converted
    del g.initializer[:]
    g.initializer.extend(kept)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    onnx.save(m, str(dst))
    return converted, left


# ----------------------------------------------------------------------------------------------------------
# A tiny numpy ONNX interpreter (only the ops these exports use) -- onnxruntime is not available here
# ----------------------------------------------------------------------------------------------------------

ONNX_NP = {
    TensorProto.FLOAT: np.float32, TensorProto.FLOAT16: np.float16, TensorProto.DOUBLE: np.float64,
    TensorProto.INT64: np.int64, TensorProto.INT32: np.int32, TensorProto.BOOL: np.bool_,
    TensorProto.INT8: np.int8, TensorProto.UINT8: np.uint8,
}


def run_onnx(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    env: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    env.update(feeds)

    def attr(node, name, default=None):
        for a in node.attribute:
            if a.name == name:
                return helper.get_attribute_value(a)
        return default

    for node in model.graph.node:
        x = [env[n] if n else None for n in node.input]
        op = node.op_type
        if op == "Constant":
            out = [numpy_helper.to_array(attr(node, "value"))]
        elif op in ("Add", "Sub", "Mul", "Div", "Pow"):
            a, b = x
            r = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide,
                 "Pow": np.power}[op](a, b)
            out = [r.astype(a.dtype)]
        elif op == "Sqrt":
            out = [np.sqrt(x[0])]
        elif op == "Sigmoid":
            out = [(1.0 / (1.0 + np.exp(-x[0]))).astype(x[0].dtype)]
        elif op == "MatMul":
            out = [np.matmul(x[0], x[1])]
        elif op == "Gemm":
            a, b = x[0], x[1]
            if attr(node, "transA", 0):
                a = a.T
            if attr(node, "transB", 0):
                b = b.T
            r = attr(node, "alpha", 1.0) * (a @ b)
            if len(x) > 2 and x[2] is not None:
                r = r + attr(node, "beta", 1.0) * x[2]
            out = [r.astype(np.float32)]
        elif op == "Conv":
            xx, w = x[0], x[1]
            k = attr(node, "kernel_shape")
            s = attr(node, "strides")
            if list(k) != list(s) or any(attr(node, "pads", [0] * 4)) or attr(node, "group", 1) != 1 \
                    or any(d != 1 for d in attr(node, "dilations", [1, 1])) or (len(x) > 2 and x[2] is not None):
                raise NotImplementedError("only non-overlapping patch Conv without bias is supported")
            bsz, cin, h, wd = xx.shape
            gh, gw = h // k[0], wd // k[1]
            patches = xx[:, :, :gh * k[0], :gw * k[1]].reshape(bsz, cin, gh, k[0], gw, k[1])
            patches = patches.transpose(0, 2, 4, 1, 3, 5).reshape(bsz, gh, gw, -1)
            r = patches @ w.reshape(w.shape[0], -1).T
            out = [r.transpose(0, 3, 1, 2).astype(np.float32)]
        elif op == "Reshape":
            shape = [int(v) for v in x[1]]
            shape = [x[0].shape[i] if v == 0 else v for i, v in enumerate(shape)]
            out = [x[0].reshape(shape)]
        elif op == "Flatten":
            ax = attr(node, "axis", 1)
            out = [x[0].reshape(int(np.prod(x[0].shape[:ax])), -1)]
        elif op == "Transpose":
            out = [np.transpose(x[0], attr(node, "perm"))]
        elif op == "Concat":
            out = [np.concatenate(x, axis=attr(node, "axis"))]
        elif op == "Shape":
            out = [np.array(x[0].shape, dtype=np.int64)]
        elif op == "Gather":
            out = [np.take(x[0], x[1], axis=attr(node, "axis", 0))]
        elif op == "GatherElements":
            out = [np.take_along_axis(x[0], x[1], axis=attr(node, "axis", 0))]
        elif op == "Unsqueeze":
            r = x[0]
            axes = sorted(int(a) for a in x[1])
            for a in axes:
                r = np.expand_dims(r, a if a >= 0 else a + r.ndim + 1)
            out = [r]
        elif op == "Squeeze":
            axes = tuple(int(a) for a in x[1]) if len(x) > 1 and x[1] is not None else None
            out = [np.squeeze(x[0], axis=axes)]
        elif op == "Expand":
            shape = np.broadcast_shapes(x[0].shape, tuple(int(v) for v in x[1]))
            out = [np.broadcast_to(x[0], shape).copy()]
        elif op == "ConstantOfShape":
            val = attr(node, "value")
            fill = numpy_helper.to_array(val) if val is not None else np.zeros(1, np.float32)
            out = [np.full(tuple(int(v) for v in x[0]), fill.reshape(-1)[0], dtype=fill.dtype)]
        elif op == "Slice":
            data, starts, ends = x[0], x[1], x[2]
            axes = x[3] if len(x) > 3 and x[3] is not None else np.arange(len(starts))
            steps = x[4] if len(x) > 4 and x[4] is not None else np.ones(len(starts), np.int64)
            sl = [slice(None)] * data.ndim
            for s, e, a, st in zip(starts, ends, axes, steps):
                a = int(a)
                dim = data.shape[a]
                s, e = int(max(min(s, dim), -dim - 1)), int(max(min(e, dim), -dim - 1))
                sl[a] = slice(s, e, int(st))
            out = [data[tuple(sl)]]
        elif op == "Split":
            ax = attr(node, "axis", 0)
            sizes = x[1] if len(x) > 1 and x[1] is not None else attr(node, "split")
            if sizes is None:
                out = np.split(x[0], len(node.output), axis=ax)
            else:
                out = np.split(x[0], np.cumsum([int(s) for s in sizes])[:-1], axis=ax)
        elif op == "ReduceMean":
            axes = tuple(attr(node, "axes"))
            out = [np.mean(x[0], axis=axes, keepdims=bool(attr(node, "keepdims", 1))).astype(x[0].dtype)]
        elif op == "Softmax":
            ax = attr(node, "axis", -1)
            e = np.exp(x[0] - np.max(x[0], axis=ax, keepdims=True))
            out = [(e / np.sum(e, axis=ax, keepdims=True)).astype(x[0].dtype)]
        elif op == "Equal":
            out = [np.equal(x[0], x[1])]
        elif op in ("Greater", "Less"):
            out = [(np.greater if op == "Greater" else np.less)(x[0], x[1])]
        elif op == "Not":
            out = [np.logical_not(x[0])]
        elif op == "Where":
            out = [np.where(x[0], x[1], x[2]).astype(x[1].dtype)]
        elif op == "Cast":
            out = [x[0].astype(ONNX_NP[attr(node, "to")])]
        elif op == "ArgMax":
            if attr(node, "select_last_index", 0):
                raise NotImplementedError("ArgMax select_last_index=1")
            r = np.argmax(x[0], axis=attr(node, "axis", 0))  # numpy returns the first maximum
            if attr(node, "keepdims", 1):
                r = np.expand_dims(r, attr(node, "axis", 0))
            out = [r.astype(np.int64)]
        elif op == "Range":
            out = [np.arange(x[0], x[1], x[2]).astype(x[0].dtype)]
        elif op == "Identity":
            out = [x[0]]
        else:
            raise NotImplementedError(f"numpy ONNX interpreter: op {op} not implemented")
        for name, val in zip(node.output, out):
            env[name] = np.asarray(val)
    return [env[o.name] for o in model.graph.output]


def check_signature(path: Path, inputs: list[tuple], outputs: list[tuple]) -> onnx.ModelProto:
    """inputs/outputs: (name, elem_type, [dim or str]) -- str means a symbolic (dynamic) dimension."""
    onnx.checker.check_model(str(path))  # path form also works for models > 2 GB
    m = onnx.load(str(path))

    def describe(vi):
        tt = vi.type.tensor_type
        dims = [d.dim_param if d.HasField("dim_param") else d.dim_value for d in tt.shape.dim]
        return vi.name, tt.elem_type, dims

    for kind, actual, expected in (("input", m.graph.input, inputs), ("output", m.graph.output, outputs)):
        got = [describe(v) for v in actual]
        if len(got) != len(expected):
            fail(f"{path}: {kind}s {got} != {expected}")
        for (gn, gt, gd), (en, et, ed) in zip(got, expected):
            ok = gn == en and gt == et and len(gd) == len(ed)
            ok = ok and all((isinstance(e, str) and isinstance(d, str) and d != "") or d == e
                            for d, e in zip(gd, ed))
            if not ok:
                fail(f"{path}: {kind} {(gn, gt, gd)} != expected {(en, et, ed)}")
    for node in m.graph.node:
        if node.op_type == "ArgMax":
            sli = [helper.get_attribute_value(a) for a in node.attribute if a.name == "select_last_index"]
            if sli and sli[0] != 0:
                fail(f"{path}: ArgMax selects the last index")
    return m


def assert_close(name: str, got: np.ndarray, want: np.ndarray, tol: float) -> float:
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        fail(f"{name}: shape {got.shape} != {want.shape}")
    err = float(np.max(np.abs(got - want))) if got.size else 0.0
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    if not err <= tol * scale:
        fail(f"{name}: max abs diff {err:.3g} > {tol} x max(1, max|value|) = {tol * scale:.3g}")
    return err


# ----------------------------------------------------------------------------------------------------------
# Image preprocessing references
# ----------------------------------------------------------------------------------------------------------

def load_image(path: Path) -> Image.Image:
    img = Image.open(path)
    img.load()
    return ImageOps.exif_transpose(img)


OPENCLIP_TRANSFORM = T.Compose([
    T.Resize(224, interpolation=T.InterpolationMode.BICUBIC),
    T.CenterCrop(224),
    lambda im: im.convert("RGB"),
    T.ToTensor(),
    T.Normalize(MEAN, STD),
])


def preprocess_openclip(img: Image.Image) -> torch.Tensor:
    """OpenAI CLIP / OpenCLIP (torchvision) preprocessing; reference for the Immich layout."""
    return OPENCLIP_TRANSFORM(img)


def preprocess_hf(img: Image.Image, resample=Image.BICUBIC) -> torch.Tensor:
    """transformers CLIPImageProcessor semantics, by hand with Pillow; reference for the HF layout."""
    img = img.convert("RGB")
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = 224, int(224 * long / short)
    nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
    img = img.resize((nw, nh), resample)
    top, left = (nh - 224) // 2, (nw - 224) // 2
    img = img.crop((left, top, left + 224, top + 224))
    arr = np.asarray(img, dtype=np.float32) * np.float32(1 / 255)
    arr = (arr - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1), dtype=np.float32))


# ----------------------------------------------------------------------------------------------------------
# Reference texts
# ----------------------------------------------------------------------------------------------------------

LONG_TEXT = " ".join([
    "This deliberately long caption keeps going well past the seventy seven token context of CLIP so",
    "that every implementation has to truncate it. It describes a quiet harbour town at dawn, where",
    "fishing boats with peeling blue paint rock gently against the wooden pier, gulls circle above",
    "the market stalls, and an old man in a yellow raincoat sorts nets beside stacks of empty crates.",
    "Behind him narrow streets climb the hill between whitewashed houses with red tiled roofs,",
    "flower boxes, bicycles leaning on walls, a bakery just opening its shutters, and a church tower",
    "whose clock says twenty past six. Far out on the water a ferry leaves a long white wake while",
    "clouds glow orange and pink over the lighthouse at the end of the breakwater, and the first",
    "tourists of the day wander along the promenade with cameras, coffee cups and sleepy children.",
])

REFERENCE_TEXTS = [
    "a photo of a cat",
    "a diagram",
    "A photo of two dogs playing on the beach at sunset.",
    "",
    "   \t\n  ",
    "A PHOTO OF A RED DOOR",
    "&amp;lt;b&amp;gt;bold&amp;lt;/b&amp;gt; &amp; more",   # double-escaped: html.unescape runs twice
    "Tom &amp; Jerry &lt;3 &quot;cartoon&quot; &#39;classic&#39;",
    "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e",          # precomposed
    "cafe\u0301 cre\u0300me bru\u0302le\u0301e",      # decomposed: NFC makes it equal to the line above
    "\U0001F431\U0001F436 \U0001F680 emoji \u2764\ufe0f",
    "\u4e00\u53ea\u732b\u5728\u6c99\u53d1\u4e0a\u7761\u89c9",    # CJK
    "\u6771\u4eac\u30bf\u30ef\u30fc \u306e\u591c\u666f",          # Japanese
    "1234 apples and 56.78 oranges",
    "it's a dog, we'll see, they're here, I'd go, you've won, I'm done, don't",
    LONG_TEXT,
    "<|startoftext|>a photo<|endoftext|> of a cat",
    "before <|endoftext|> after",
    "hello     world\u00a0again",
    "O'Neill's caf\u00e9 -- 50% off!!!",
    "x",
]


# ----------------------------------------------------------------------------------------------------------
# Output helpers
# ----------------------------------------------------------------------------------------------------------

def f9(values) -> list[float]:
    """float32 values rounded to 9 significant digits (enough to round-trip float32)."""
    return [float(f"{float(v):.9g}") for v in np.asarray(values, dtype=np.float32).reshape(-1)]


def dumps_compact(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def write_reference(path: Path, doc: dict) -> None:
    """Compact JSON, one list entry per line for readable diffs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = []
    for key, value in doc.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            body = ",\n".join(dumps_compact(v) for v in value)
            parts.append(f"{dumps_compact(key)}:[\n{body}\n]")
        else:
            parts.append(f"{dumps_compact(key)}:{dumps_compact(value)}")
    text = "{\n" + ",\n".join(parts) + "\n}\n"
    json.loads(text)
    path.write_bytes(text.encode("utf-8"))


def min_row_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float(np.min(np.sum(a * b, axis=1)))


def cosine_stats(embs: np.ndarray) -> tuple[float, float, float]:
    e = embs / np.linalg.norm(embs, axis=1, keepdims=True)
    s = e @ e.T
    off = s[~np.eye(len(e), dtype=bool)]
    return float(off.min()), float(off.max()), float(off.mean())


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ----------------------------------------------------------------------------------------------------------
# Layouts
# ----------------------------------------------------------------------------------------------------------

def hf_config(c: ClipConfig) -> dict:
    return {
        "architectures": ["CLIPModel"],
        "model_type": "clip",
        "projection_dim": c.embed_dim,
        "logit_scale_init_value": 2.6592,
        "initializer_factor": 1.0,
        "torch_dtype": "float32",
        "text_config": {
            "model_type": "clip_text_model",
            "vocab_size": c.vocab_size,
            "hidden_size": c.text_width,
            "intermediate_size": 4 * c.text_width,
            "num_hidden_layers": c.text_layers,
            "num_attention_heads": c.text_heads,
            "max_position_embeddings": c.context_length,
            "hidden_act": "quick_gelu",
            "layer_norm_eps": 1e-05,
            "projection_dim": c.embed_dim,
            "bos_token_id": SOT,
            "eos_token_id": EOT,
            "pad_token_id": 1,
        },
        "vision_config": {
            "model_type": "clip_vision_model",
            "hidden_size": c.vision_width,
            "intermediate_size": 4 * c.vision_width,
            "num_hidden_layers": c.vision_layers,
            "num_attention_heads": c.vision_heads,
            "num_channels": 3,
            "image_size": c.image_size,
            "patch_size": c.patch_size,
            "hidden_act": "quick_gelu",
            "layer_norm_eps": 1e-05,
            "projection_dim": c.embed_dim,
        },
        "omnivec_note": "random weights made by tools/make_test_models.py; not a trained model",
    }


HF_PREPROCESSOR = {
    "crop_size": {"height": 224, "width": 224},
    "do_center_crop": True,
    "do_convert_rgb": True,
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "image_mean": list(MEAN),
    "image_std": list(STD),
    "image_processor_type": "CLIPImageProcessor",
    "resample": 3,
    "rescale_factor": 0.00392156862745098,
    "size": {"shortest_edge": 224},
}


def export_hf_layout(model: CLIP, tok: ClipTokenizer, out: Path, with_fp16: bool) -> dict:
    c = model.config
    onnx_dir = out / "onnx"
    onnx_dir.mkdir(parents=True, exist_ok=True)
    dummy_ids = torch.tensor([tok.context("a photo of a cat", pad_id=EOT),
                              tok.context("two dogs", pad_id=EOT)], dtype=torch.int64)
    dummy_px = torch.zeros(2, 3, c.image_size, c.image_size)
    ntok = (c.image_size // c.patch_size) ** 2 + 1
    export(HFText(model.text), dummy_ids, onnx_dir / "text_model.onnx", "input_ids",
           ["text_embeds", "last_hidden_state"],
           {"input_ids": {0: "batch_size", 1: "sequence_length"},
            "text_embeds": {0: "batch_size"},
            "last_hidden_state": {0: "batch_size", 1: "sequence_length"}},
           {"text_embeds": ["batch_size", c.embed_dim],
            "last_hidden_state": ["batch_size", "sequence_length", c.text_width]})
    vision_axes = {"pixel_values": {0: "batch_size"}, "image_embeds": {0: "batch_size"},
                   "last_hidden_state": {0: "batch_size"}}
    vision_dims = {"image_embeds": ["batch_size", c.embed_dim],
                   "last_hidden_state": ["batch_size", ntok, c.vision_width]}
    export(HFVision(model.visual), dummy_px, onnx_dir / "vision_model.onnx", "pixel_values",
           ["image_embeds", "last_hidden_state"], vision_axes, vision_dims)
    info = {}
    if with_fp16:
        twin = fp16_weights_copy(model)
        with tempfile.TemporaryDirectory() as td:
            tmp = Path(td) / "vision_fp32_of_fp16_weights.onnx"
            export(HFVision(twin.visual), dummy_px, tmp, "pixel_values", ["image_embeds", "last_hidden_state"],
                   vision_axes, vision_dims)
            conv, left = convert_initializers_to_fp16(tmp, onnx_dir / "vision_model_fp16.onnx")
        info["fp16_initializers"] = conv
        info["fp32_initializers_left"] = left
    write_json(out / "config.json", hf_config(c))
    write_json(out / "preprocessor_config.json", HF_PREPROCESSOR)
    write_tokenizer_files(tok, out, pad_token="<|endoftext|>")
    return info


def export_immich_layout(model: CLIP, tok: ClipTokenizer, out: Path) -> None:
    c = model.config
    dummy_ids = torch.tensor([tok.context("a photo of a cat")], dtype=torch.int32)
    export(ImmichText(model.text), dummy_ids, out / "textual" / "model.onnx", "text", ["embedding"], None,
           {"embedding": [1, c.embed_dim]})
    export(ImmichVision(model.visual), torch.zeros(1, 3, c.image_size, c.image_size),
           out / "visual" / "model.onnx", "image", ["embedding"], None, {"embedding": [1, c.embed_dim]})
    write_json(out / "visual" / "preprocess_cfg.json", {
        "size": [c.image_size, c.image_size],
        "mode": "RGB",
        "mean": list(MEAN),
        "std": list(STD),
        "interpolation": "bicubic",
        "resize_mode": "shortest",
        "fill_color": 0,
    })
    write_json(out / "config.json", {
        "embed_dim": c.embed_dim,
        "vision_cfg": {"image_size": c.image_size, "layers": c.vision_layers, "width": c.vision_width,
                       "patch_size": c.patch_size},
        "text_cfg": {"context_length": c.context_length, "vocab_size": c.vocab_size, "width": c.text_width,
                     "heads": c.text_heads, "layers": c.text_layers},
    })
    write_tokenizer_files(tok, out / "textual", pad_token="!")


def export_openai_text(twin16: CLIP, tok: ClipTokenizer, out: Path, ids_hf: np.ndarray) -> np.ndarray:
    """Writes out/onnx/text_model.onnx: the tiny CLIP's text tower (float16-rounded weights, stored as float16 to halve
    the file) exported the way OpenAI's code does (OpenAIText). Checks it at the full context against PyTorch and
    checks that a trimmed input fails; returns the PyTorch reference embeddings of ids_hf."""
    module = OpenAIText(twin16.text).eval()
    ids = torch.from_numpy(ids_hf)
    with torch.no_grad():
        ref = module(ids).numpy()
        same = twin16.text(ids)[0].numpy()
    if not np.allclose(ref, same, rtol=0, atol=1e-5):
        fail("the OpenAI-style text tower computes something else than the tiny CLIP's text tower")
    dummy = torch.tensor([tok.context("a photo of a cat", pad_id=EOT), tok.context("two dogs", pad_id=EOT)],
                         dtype=torch.int64)
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td) / "text_fp32_of_fp16_weights.onnx"
        export(module, dummy, tmp, "input_ids", ["text_embeds"],
               {"input_ids": {0: "batch_size", 1: "sequence_length"}, "text_embeds": {0: "batch_size"}},
               {"text_embeds": ["batch_size", twin16.config.embed_dim]})
        (out / "onnx").mkdir(parents=True, exist_ok=True)
        convert_initializers_to_fp16(tmp, out / "onnx" / "text_model.onnx")
    tm = check_signature(out / "onnx" / "text_model.onnx",
                         [("input_ids", TensorProto.INT64, ["b", "s"])],
                         [("text_embeds", TensorProto.FLOAT, ["b", twin16.config.embed_dim])])
    sel = ids_hf[:4]
    (emb,) = run_onnx(tm, {"input_ids": sel})
    assert_close("openai-style text_model", emb, ref[:4], 2e-4)
    try:
        run_onnx(tm, {"input_ids": np.ascontiguousarray(sel[:, :8])})
    except Exception:  # the fixed 77-position add cannot broadcast against 8 positions
        pass
    else:
        fail("the OpenAI-style text model ran on 8 tokens; it is meant to need the full 77")
    return ref


def verify_hf_layout(out: Path, c: ClipConfig, ids_hf: np.ndarray, text_ref: np.ndarray,
                     px: np.ndarray, img_ref: np.ndarray, img_ref16: np.ndarray | None,
                     hidden_ref: dict | None) -> dict:
    D, TW, VW = c.embed_dim, c.text_width, c.vision_width
    ntok = (c.image_size // c.patch_size) ** 2 + 1
    errs = {}
    tm = check_signature(out / "onnx" / "text_model.onnx",
                         [("input_ids", TensorProto.INT64, ["b", "s"])],
                         [("text_embeds", TensorProto.FLOAT, ["b", D]),
                          ("last_hidden_state", TensorProto.FLOAT, ["b", "s", TW])])
    emb, hid = run_onnx(tm, {"input_ids": ids_hf})
    errs["hf text (77)"] = assert_close("hf text_model", emb, text_ref, 2e-4)
    if hidden_ref is not None:
        errs["hf text last_hidden_state"] = assert_close("hf text last_hidden_state", hid,
                                                         hidden_ref["text"], 2e-4)
    # dynamic sequence length: cut after the longest real sequence -> same embeddings (causal + first-EOT pooling)
    rows = [i for i, r in enumerate(ids_hf) if np.argmax(r == EOT) < CONTEXT - 1]
    if rows:
        cut = int(max(np.argmax(ids_hf[i] == EOT) for i in rows)) + 1
        emb_cut, _ = run_onnx(tm, {"input_ids": np.ascontiguousarray(ids_hf[rows, :cut])})
        errs[f"hf text (seq {cut})"] = assert_close("hf text_model, shorter sequence", emb_cut,
                                                    text_ref[rows], 2e-4)
    vm = check_signature(out / "onnx" / "vision_model.onnx",
                         [("pixel_values", TensorProto.FLOAT, ["b", 3, c.image_size, c.image_size])],
                         [("image_embeds", TensorProto.FLOAT, ["b", D]),
                          ("last_hidden_state", TensorProto.FLOAT, ["b", ntok, VW])])
    emb, hid = run_onnx(vm, {"pixel_values": px})
    errs["hf vision"] = assert_close("hf vision_model", emb, img_ref, 2e-4)
    if hidden_ref is not None:
        errs["hf vision last_hidden_state"] = assert_close("hf vision last_hidden_state", hid,
                                                           hidden_ref["vision"], 2e-4)
    p16 = out / "onnx" / "vision_model_fp16.onnx"
    if p16.exists():
        vm16 = check_signature(p16,
                               [("pixel_values", TensorProto.FLOAT, ["b", 3, c.image_size, c.image_size])],
                               [("image_embeds", TensorProto.FLOAT, ["b", D]),
                                ("last_hidden_state", TensorProto.FLOAT, ["b", ntok, VW])])
        emb16, _ = run_onnx(vm16, {"pixel_values": px})
        if img_ref16 is not None:
            errs["hf vision fp16"] = assert_close("hf vision_model_fp16", emb16, img_ref16, 2e-4)
    return errs


def verify_immich_layout(out: Path, c: ClipConfig, ids_openai: np.ndarray, text_ref: np.ndarray,
                         px: np.ndarray, img_ref: np.ndarray) -> dict:
    D = c.embed_dim
    errs = {}
    tm = check_signature(out / "textual" / "model.onnx", [("text", TensorProto.INT32, [1, CONTEXT])],
                         [("embedding", TensorProto.FLOAT, [1, D])])
    vm = check_signature(out / "visual" / "model.onnx",
                         [("image", TensorProto.FLOAT, [1, 3, c.image_size, c.image_size])],
                         [("embedding", TensorProto.FLOAT, [1, D])])
    e_t = 0.0
    for i in range(len(ids_openai)):
        (emb,) = run_onnx(tm, {"text": ids_openai[i:i + 1].astype(np.int32)})
        e_t = max(e_t, assert_close(f"immich textual #{i}", emb, text_ref[i:i + 1], 2e-4))
    errs["immich textual"] = e_t
    e_v = 0.0
    for i in range(len(px)):
        (emb,) = run_onnx(vm, {"image": px[i:i + 1]})
        e_v = max(e_v, assert_close(f"immich visual #{i}", emb, img_ref[i:i + 1], 2e-4))
    errs["immich visual"] = e_v
    return errs


def list_sizes(root: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*") if p.is_file())


# ----------------------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path,
                    default=REPO / "tests" / "fixtures" / "corpus",
                    help="test media corpus (default: the committed tests/fixtures/corpus)")
    ap.add_argument("--fixtures", type=Path, default=REPO / "tests" / "fixtures",
                    help="where the tiny models and references go (default: tests/fixtures)")
    ap.add_argument("--full-size", action="store_true",
                    help="write a random-weight model with ViT-B/32 shapes (Transformers.js layout only, no "
                         "references) to --out-dir instead")
    ap.add_argument("--out-dir", type=Path, default=REPO / "tools" / "out" / "clip-vit-b32-random")
    ap.add_argument("--no-fp16", action="store_true", help="skip onnx/vision_model_fp16.onnx")
    ap.add_argument("--size-limit-mb", type=float, default=17.0,
                    help="fail if tests/fixtures/models grows beyond this (tiny mode)")
    args = ap.parse_args()

    torch.manual_seed(SEED)
    torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)))

    corpus: Path = args.corpus
    bpe_gz = corpus / "clip" / "bpe_simple_vocab_16e6.txt.gz"
    vectors = corpus / "clip" / "tokenizer-vectors.jsonl"
    for p in (bpe_gz, vectors):
        if not p.exists():
            fail(f"missing {p} (see --corpus)")

    tok = ClipTokenizer(bpe_gz)
    n = verify_tokenizer(tok, vectors)
    print(f"tokenizer: {len(tok.encoder)} vocab, {len(tok.merges)} merges; matches all {n} tokenizer vectors")

    if args.full_size:
        run_full_size(args, tok)
    else:
        run_tiny(args, tok, corpus)


def run_full_size(args, tok: ClipTokenizer) -> None:
    c = VIT_B32
    out: Path = args.out_dir
    if out.exists():
        shutil.rmtree(out)
    model = build_model(c)
    nparams = sum(p.numel() for p in model.parameters())
    print(f"full-size model: {nparams / 1e6:.1f} M parameters -> {out}")
    info = export_hf_layout(model, tok, out, with_fp16=not args.no_fp16)
    ids = np.array([tok.context("a photo of a cat", pad_id=EOT), tok.context("a diagram", pad_id=EOT)], np.int64)
    px = np.random.default_rng(0).standard_normal((2, 3, 224, 224)).astype(np.float32)
    with torch.no_grad():
        t_ref = model.text(torch.from_numpy(ids))[0].numpy()
        v_ref = model.visual(torch.from_numpy(px))[0].numpy()
        v16 = fp16_weights_copy(model).visual(torch.from_numpy(px))[0].numpy() if not args.no_fp16 else None
    errs = verify_hf_layout(out, c, ids, t_ref, px, v_ref, v16, None)
    print("onnx vs torch max abs diff:", {k: f"{v:.2g}" for k, v in errs.items()}, info)
    for name, size in list_sizes(out):
        print(f"  {size:>12,}  {name}")


def run_tiny(args, tok: ClipTokenizer, corpus: Path) -> None:
    c = TINY
    fixtures: Path = args.fixtures
    models_dir = fixtures / "models"
    hf_dir = models_dir / "tiny-clip-hf"
    im_dir = models_dir / "tiny-clip-immich"
    oa_dir = models_dir / "tiny-clip-openai-text"
    ref_path = fixtures / "reference" / "tiny-clip.json"
    oa_ref_path = fixtures / "reference" / "tiny-clip-openai-text.json"
    for d in (hf_dir, im_dir, oa_dir):
        if d.exists():
            shutil.rmtree(d)

    model = build_model(c)
    twin16 = fp16_weights_copy(model)
    nparams = {"visual": sum(p.numel() for p in model.visual.parameters()),
               "text": sum(p.numel() for p in model.text.parameters())}
    print(f"tiny model: {asdict(c)}; parameters {nparams}")

    # ---- texts
    ids_openai = np.array([tok.context(t, pad_id=0) for t in REFERENCE_TEXTS], np.int64)
    ids_hf = np.array([tok.context(t, pad_id=EOT) for t in REFERENCE_TEXTS], np.int64)
    with torch.no_grad():
        t_emb, t_hidden = model.text(torch.from_numpy(ids_openai))
        t_emb_hf, t_hidden_hf = model.text(torch.from_numpy(ids_hf))
    t_emb, t_emb_hf = t_emb.numpy(), t_emb_hf.numpy()
    if not np.allclose(t_emb, t_emb_hf, rtol=0, atol=1e-6):
        fail("0-padded and EOT-padded ids give different text embeddings")
    long_ids = tok.context(LONG_TEXT)
    if len(tok.encode(LONG_TEXT)) <= CONTEXT - 2 or long_ids[-1] != EOT:
        fail("the long reference text is not truncated with EOT kept last")
    if tok.context("caf\u00e9 cr\u00e8me br\u00fbl\u00e9e") != tok.context("cafe\u0301 cre\u0300me bru\u0302le\u0301e"):
        fail("precomposed and decomposed accents should tokenize the same after NFC")

    # ---- images
    photo_dir = corpus / "images" / "photos"
    photos = sorted(p for p in photo_dir.iterdir() if p.is_file() and p.name != "CAPTIONS.tsv")
    if not photos:
        fail(f"no photos in {photo_dir}")
    px_oc, px_hf, img_meta = [], [], []
    for p in photos:
        img = load_image(p)
        px_oc.append(preprocess_openclip(img))
        px_hf.append(preprocess_hf(img))
        img_meta.append({"file": p.relative_to(corpus).as_posix(), "width": img.size[0], "height": img.size[1],
                         "mode": img.mode})
    px_oc_t, px_hf_t = torch.stack(px_oc), torch.stack(px_hf)
    with torch.no_grad():
        i_oc, i_oc_hidden = model.visual(px_oc_t)
        i_hf, i_hf_hidden = model.visual(px_hf_t)
        i_hf16 = twin16.visual(px_hf_t)[0]
    i_oc, i_hf, i_hf16 = i_oc.numpy(), i_hf.numpy(), i_hf16.numpy()

    cmin, cmax, cmean = cosine_stats(i_hf)
    tmin, tmax, tmean = cosine_stats(t_emb)
    print(f"image cosine between different photos (hf): min {cmin:.4f} max {cmax:.4f} mean {cmean:.4f}")
    print(f"text cosine between different texts: min {tmin:.4f} max {tmax:.4f} mean {tmean:.4f}")
    if cmax > 0.97 or cmean > 0.8:
        fail("image embeddings are too similar; raise the init scale")
    # Sensitivity of this random model to small preprocessing differences (recorded in the notes).
    gen = torch.Generator().manual_seed(1)
    noise = (torch.rand(px_hf_t.shape, generator=gen) * 2 - 1) / 255 / torch.tensor(STD).view(1, 3, 1, 1)
    px_bilinear = torch.stack([preprocess_hf(load_image(p), Image.BILINEAR) for p in photos])
    with torch.no_grad():
        i_noise = model.visual(px_hf_t + noise)[0].numpy()
        i_bilinear = model.visual(px_bilinear)[0].numpy()
    sens = {
        "openclip_vs_hf": min_row_cosine(i_oc, i_hf),
        "fp16_vs_fp32_weights": min_row_cosine(i_hf16, i_hf),
        "uniform_noise_1_255": min_row_cosine(i_noise, i_hf),
        "bilinear_vs_bicubic": min_row_cosine(i_bilinear, i_hf),
    }
    print("minimum per-photo cosine under small changes:", {k: round(v, 6) for k, v in sens.items()})

    # ---- export
    info = export_hf_layout(model, tok, hf_dir, with_fp16=not args.no_fp16)
    export_immich_layout(model, tok, im_dir)
    print(f"fp16 variant: {info}")

    # ---- verify the exports against the PyTorch outputs
    # a short caption, empty text, upper case, the long text, literal special tokens, one letter
    sel = [REFERENCE_TEXTS.index(t) for t in ("a photo of a cat", "", "A PHOTO OF A RED DOOR", LONG_TEXT,
                                              "<|startoftext|>a photo<|endoftext|> of a cat", "x")]
    errs = verify_hf_layout(hf_dir, c, ids_hf[sel], t_emb[sel], px_hf_t[:4].numpy(), i_hf[:4], i_hf16[:4],
                            {"text": t_hidden_hf.numpy()[sel], "vision": i_hf_hidden.numpy()[:4]})
    errs.update(verify_immich_layout(im_dir, c, ids_openai[sel], t_emb[sel], px_oc_t[:3].numpy(), i_oc[:3]))
    print("onnx (numpy interpreter) vs torch, max abs diff:", {k: f"{v:.2g}" for k, v in errs.items()})

    # ---- reference json
    doc = {
        "format": "omnivec-clip-reference/1",
        "model": {
            "name": "tiny-clip (random weights)",
            **asdict(c),
            "mlp_ratio": 4,
            "activation": "quick_gelu",
            "layer_norm_eps": 1e-5,
            "sot_token": SOT,
            "eot_token": EOT,
            "onnx_opset": OPSET,
            "parameters": nparams,
            "layouts": {
                "hf": "tests/fixtures/models/tiny-clip-hf",
                "immich": "tests/fixtures/models/tiny-clip-immich",
            },
        },
        "notes": [
            "Made by tools/make_test_models.py; random weights from a fixed seed, so embeddings have no meaning "
            "beyond parity testing. All embeddings are the projected features, NOT L2-normalised.",
            "Computed with the PyTorch module in float32 on CPU, not through ONNX. The exported ONNX graphs were "
            "checked against it with a numpy interpreter (max abs diff <= 2e-5 on embeddings); allow ~1e-4 abs "
            "(or cosine > 0.99999) for onnxruntime.",
            "texts[].ids_openai = clip.tokenize(text, truncate=True): [49406] + bpe + [49407], truncated to 77 "
            "with 49407 forced last, padded with 0 (Immich/OpenCLIP convention). ids_hf = same ids padded with "
            "49407 (Transformers CLIPTokenizer padding='max_length'). Tokenizer = OpenAI simple_tokenizer logic "
            "with ftfy.fix_text replaced by NFC normalisation, verified against clip/tokenizer-vectors.jsonl. "
            "Literal '<|startoftext|>'/'<|endoftext|>' in the text map to 49406/49407 (as OpenAI's regex does).",
            "texts[].embedding: text features taken at the FIRST 49407 in the ids, so both paddings give the "
            "same embedding (asserted); feed ids_openai as int32 [1,77] to the Immich textual model and ids_hf "
            "as int64 to the HF text_model.",
            "images[].file is relative to the corpus root. Images were opened with PIL.Image.open and "
            "ImageOps.exif_transpose was applied first (no photo here is rotated, so it is a no-op). ICC "
            "profiles are ignored (Pillow does not apply them). width/height/mode are after exif_transpose, "
            "before any conversion.",
            "images[].openclip: torchvision Resize(224, BICUBIC) on the PIL image (shorter side to 224, longer "
            "side int(224*long/short)), CenterCrop(224) (offset round((size-224)/2)), convert('RGB'), "
            "ToTensor, Normalize(mean, std) -- OpenAI CLIP/OpenCLIP preprocessing; reference for the Immich "
            "layout. Note: RGB conversion happens AFTER resize here (matters for the one RGBA photo).",
            "images[].hf: CLIPImageProcessor semantics: convert('RGB') first, PIL resize so the shortest edge is "
            "224 and the other int(224*long/short), BICUBIC; center crop with top=(h-224)//2, left=(w-224)//2; "
            "x/255 then (x-mean)/std in float32; reference for the HF layout onnx/vision_model.onnx.",
            "images[].hf_fp16: same pixels as hf through the model with every weight rounded to float16 -- "
            "the exact reference for onnx/vision_model_fp16.onnx (fp16 initializers + Cast, fp32 compute).",
            f"Photos are distinguishable: cosine between different photos' hf embeddings is {cmin:.3f}..{cmax:.3f} "
            f"(mean {cmean:.3f}). This random model is more sensitive to preprocessing than a trained CLIP; "
            f"minimum per-photo cosine to the hf reference: uniform +-1/255 pixel noise "
            f"{sens['uniform_noise_1_255']:.6f}, Pillow BILINEAR instead of BICUBIC "
            f"{sens['bilinear_vs_bicubic']:.6f}, openclip pipeline (1-pixel crop shifts on some photos) "
            f"{sens['openclip_vs_hf']:.6f}, fp16 weights {sens['fp16_vs_fp32_weights']:.6f}.",
        ],
        "sensitivity_min_cosine": {k: round(v, 7) for k, v in sens.items()},
        "preprocess": {"mean": list(MEAN), "std": list(STD), "size": 224},
        "texts": [
            {"text": t, "ids_openai": [int(v) for v in a], "ids_hf": [int(v) for v in b], "embedding": f9(e)}
            for t, a, b, e in zip(REFERENCE_TEXTS, ids_openai, ids_hf, t_emb)
        ],
        "images": [
            {**meta, "openclip": f9(a), "hf": f9(b), "hf_fp16": f9(d)}
            for meta, a, b, d in zip(img_meta, i_oc, i_hf, i_hf16)
        ],
    }
    write_reference(ref_path, doc)

    # ---- the OpenAI-style text export (fixed 77-position embedding behind a dynamic sequence axis)
    oa_emb = export_openai_text(twin16, tok, oa_dir, ids_hf)
    write_reference(oa_ref_path, {
        "format": "omnivec-clip-reference/1",
        "model": {"name": "tiny-clip text tower, OpenAI-style export", "text_model": "tests/fixtures/models/"
                  "tiny-clip-openai-text/onnx/text_model.onnx", "other_files": "tests/fixtures/models/tiny-clip-hf"},
        "notes": [
            "Made by tools/make_test_models.py. The tiny CLIP's text tower with every weight rounded to float16 "
            "(stored as float16 + Cast, float32 compute), exported the way OpenAI CLIP's own code does: input_ids "
            "[batch_size, sequence_length] is dynamic, but the graph adds the fixed 77-position embedding and a "
            "fixed 77x77 causal mask, so it only runs on the full context (a shorter input fails to broadcast).",
            "The folder holds only onnx/text_model.onnx; use it in place of tiny-clip-hf's onnx/text_model.onnx "
            "(same tokenizer, config and vision tower).",
            "texts[].embedding: the PyTorch module on ids_hf (padded with 49407 to 77), projected, NOT "
            "L2-normalised.",
        ],
        "texts": [{"text": t, "ids_hf": [int(v) for v in b], "embedding": f9(e)}
                  for t, b, e in zip(REFERENCE_TEXTS, ids_hf, oa_emb)],
    })

    # ---- report (only this script's outputs; other tools also write under tests/fixtures)
    total = 0
    print("files:")
    for name, size in list_sizes(models_dir) + [("../reference/tiny-clip.json", ref_path.stat().st_size),
                                                ("../reference/tiny-clip-openai-text.json", oa_ref_path.stat().st_size)]:
        path = (models_dir / name).resolve()
        total += size if path.is_relative_to(models_dir.resolve()) else 0
        print(f"  {size:>12,}  {path.relative_to(fixtures.resolve())}  {sha256(path)[:12]}")
    print(f"tests/fixtures/models total: {total:,} bytes ({total / 2**20:.2f} MiB)")
    if total > args.size_limit_mb * 2**20:
        fail(f"tests/fixtures/models is larger than {args.size_limit_mb} MiB")


if __name__ == "__main__":
    main()
