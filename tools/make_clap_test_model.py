#!/usr/bin/env python3
"""A tiny CLAP-shaped test pack (Transformers.js layout) with random weights, and reference embeddings from PyTorch.

Run with the Debian Python (torch, onnx, numpy, regex) from the repository root; Node.js with tools/clap-reference
installed (`cd tools/clap-reference && npm ci`) supplies the reference features and token ids:

    /usr/bin/python3 tools/make_clap_test_model.py

Writes (byte-identical on every run: fixed seeds, no clock):
  tests/fixtures/models/tiny-clap-hf/   onnx/audio_model.onnx (input_features [batch, 1, 1001, 64] -> audio_embeds [batch, 512]),
                                        onnx/text_model.onnx (input_ids, attention_mask [batch, seq] -> text_embeds [batch, 512]),
                                        vocab.json, merges.txt, tokenizer.json, tokenizer_config.json, config.json
                                        (preprocessor_config.json is LAION's unfused CLAP settings, kept as committed)
  tests/fixtures/reference/clap/        clips (16-bit PCM WAV at 48 kHz, mono), tiny-clap.json (reference embeddings)

The tokenizer is a RoBERTa-style byte-level BPE (GPT-2's algorithm and pre-tokenisation, <s> </s> <pad> <unk> <mask>)
trained here on the shared tokenizer strings so the pack stays small; its merges are real BPE merges, so every rule of the
algorithm is exercised. The reference embeddings are the PyTorch model run on transformers.js's features of each clip
(per 10 s window for the long one) and on transformers.js's token ids of each text, so nothing comes from Omnivec.
"""
import json
import os
import subprocess
import sys
import tempfile
import wave
from collections import Counter
from pathlib import Path

import numpy as np
import regex
import torch
import torch.nn as nn

ROOT = Path(__file__).resolve().parent.parent
PACK = ROOT / "tests" / "fixtures" / "models" / "tiny-clap-hf"
REF = ROOT / "tests" / "fixtures" / "reference" / "clap"
NODE_TOOL = ROOT / "tools" / "clap-reference"
RATE = 48_000
MAX = 480_000
EMBED = 512
MERGES = 1000
OPSET = 14

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
GPT2_PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def train_bpe():
    """Byte-level BPE on the shared tokenizer strings (tests/fixtures/corpus/clip): deterministic (ties broken by the pair)."""
    # Only committed fixture text, so the vocabulary (and so the pack) does not change when the docs do.
    texts = []
    for line in (ROOT / "tests" / "fixtures" / "corpus" / "clip" / "tokenizer-vectors.jsonl").read_text(encoding="utf-8").splitlines():
        texts.append(json.loads(line)["text"])
    byte_map = bytes_to_unicode()
    words = Counter()
    for text in texts:
        for piece in GPT2_PATTERN.findall(text):
            words["".join(byte_map[b] for b in piece.encode("utf-8"))] += 1
    splits = {w: list(w) for w in words}
    merges = []
    for _ in range(MERGES):
        pairs = Counter()
        for w, count in words.items():
            s = splits[w]
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] += count
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        merges.append(best)
        for w in words:
            s = splits[w]
            i = 0
            out = []
            while i < len(s):
                if i + 1 < len(s) and (s[i], s[i + 1]) == best:
                    out.append(s[i] + s[i + 1])
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            splits[w] = out
    vocab = {t: i for i, t in enumerate(SPECIALS)}
    for ch in sorted(byte_map.values()):
        vocab.setdefault(ch, len(vocab))
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    vocab["<mask>"] = len(vocab)
    return vocab, merges


def write_tokenizer(vocab, merges):
    (PACK / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (PACK / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")
    added = [{"id": vocab[t], "content": t, "single_word": False, "lstrip": t == "<mask>", "rstrip": False,
              "normalized": False, "special": True} for t in SPECIALS + ["<mask>"]]
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0], "trim_offsets": True, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "", "end_of_word_suffix": "",
                  "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }
    (PACK / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")
    config = {
        "add_prefix_space": False, "bos_token": "<s>", "clean_up_tokenization_spaces": True, "cls_token": "<s>", "eos_token": "</s>",
        "errors": "replace", "mask_token": "<mask>", "model_max_length": 512, "pad_token": "<pad>", "sep_token": "</s>",
        "tokenizer_class": "RobertaTokenizer", "trim_offsets": True, "unk_token": "<unk>",
    }
    (PACK / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


class TinyAudio(nn.Module):
    """[batch, 1, 1001, 64] dB features -> [batch, 512]: HTSAT's input batch norm over mel bands, convolutions, pooling, projection."""

    def __init__(self):
        super().__init__()
        self.bn0 = nn.BatchNorm2d(64)
        self.conv1 = nn.Conv2d(1, 8, kernel_size=5, stride=(4, 2), padding=2)
        self.conv2 = nn.Conv2d(8, 16, kernel_size=3, stride=(4, 2), padding=1)
        self.proj1 = nn.Linear(32, 64)
        self.proj2 = nn.Linear(64, EMBED)

    def forward(self, input_features):
        x = input_features.transpose(1, 3)          # [b, 64, 1001, 1]
        x = self.bn0(x).transpose(1, 3)             # [b, 1, 1001, 64]
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))               # [b, 16, t, 16]
        x = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)  # [b, 32]
        return self.proj2(torch.relu(self.proj1(x)))


class TinyText(nn.Module):
    """RoBERTa-shaped: positions from the padding mask, one encoder layer, pooler on <s>, CLAP's two-layer projection."""

    def __init__(self, vocab_size):
        super().__init__()
        self.width = 32
        self.tokens = nn.Embedding(vocab_size, self.width)
        self.positions = nn.Embedding(514, self.width)
        self.norm = nn.LayerNorm(self.width)
        self.layer = nn.TransformerEncoderLayer(self.width, 2, 64, dropout=0.0, batch_first=True)
        self.pooler = nn.Linear(self.width, self.width)
        self.proj1 = nn.Linear(self.width, EMBED)
        self.proj2 = nn.Linear(EMBED, EMBED)

    def forward(self, input_ids, attention_mask):
        mask = (input_ids != 1).long()
        positions = torch.cumsum(mask, dim=1) * mask + 1      # RoBERTa: padding_idx + running count
        x = self.norm(self.tokens(input_ids) + self.positions(positions))
        x = self.layer(x, src_key_padding_mask=attention_mask == 0)
        pooled = torch.tanh(self.pooler(x[:, 0]))
        return self.proj2(torch.relu(self.proj1(pooled)))


def run_node(script, job):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(job, f)
        name = f.name
    try:
        subprocess.run(["node", str(NODE_TOOL / script), name], check=True, cwd=NODE_TOOL)
    finally:
        os.unlink(name)


def clips():
    """Deterministic test clips (name, int16 samples): lengths under 10 s that do not divide it, and one over 10 s."""
    rng = np.random.default_rng(17)
    t = lambda n: np.arange(n) / RATE
    out = []
    n = int(2.3 * RATE)
    out.append(("tone-2.3s.wav", 0.4 * np.sin(2 * np.pi * 660 * t(n))))
    n = int(6.7 * RATE)
    out.append(("chirp-6.7s.wav", 0.5 * np.sin(2 * np.pi * (100 * t(n) + 400 * t(n) ** 2))))
    n = int(4.1 * RATE)
    out.append(("noise-4.1s.wav", 0.2 * rng.uniform(-1, 1, n)))
    n = int(13.5 * RATE)
    out.append(("mix-13.5s.wav", 0.3 * np.sin(2 * np.pi * 220 * t(n)) * (t(n) < 7) + 0.3 * np.sin(2 * np.pi * (1000 + 300 * t(n)) * t(n)) * (t(n) >= 7)
                + 0.01 * rng.uniform(-1, 1, n)))
    return [(name, np.clip(np.round(x * 32767), -32768, 32767).astype("<i2")) for name, x in out]


def windows(samples):
    """Omnivec's windows: consecutive 10 s, the last one ending at the end; one short window for a short clip."""
    if len(samples) <= MAX:
        return [(0, samples)]
    starts = list(range(0, len(samples) - MAX + 1, MAX))
    if starts[-1] + MAX < len(samples):
        starts.append(len(samples) - MAX)
    return [(s, samples[s:s + MAX]) for s in starts]


TEXTS = [
    "a dog barking", "rain on a window", "a crowd cheering", "applause", "", "A man speaking, then a door slams!",
    "the sound of a violin playing a slow melody in a large concert hall with a lot of reverb",
    "Ünïcödé: café, naïve, 東京, emoji 🎵🐕", "  leading and trailing spaces  ", "numbers 1234567 and symbols #$%&",
]


def main():
    torch.manual_seed(29)
    PACK.mkdir(parents=True, exist_ok=True)
    (PACK / "onnx").mkdir(exist_ok=True)
    REF.mkdir(parents=True, exist_ok=True)
    vocab, merges = train_bpe()
    write_tokenizer(vocab, merges)
    config = {
        "architectures": ["ClapModel"], "model_type": "clap", "projection_dim": EMBED, "logit_scale_init_value": 14.285714285714285,
        "text_config": {"model_type": "clap_text_model", "vocab_size": len(vocab), "hidden_size": 32, "max_position_embeddings": 514,
                        "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2, "num_hidden_layers": 1, "num_attention_heads": 2},
        "audio_config": {"model_type": "clap_audio_model", "enable_fusion": False, "num_mel_bins": 64, "spec_size": 256},
    }
    (PACK / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")

    audio = TinyAudio().eval()
    with torch.no_grad():
        audio.bn0.running_mean.uniform_(-60, -20)
        audio.bn0.running_var.uniform_(100, 400)
    text = TinyText(len(vocab)).eval()

    torch.onnx.export(audio, (torch.zeros(1, 1, 1001, 64),), str(PACK / "onnx" / "audio_model.onnx"), opset_version=OPSET,
                      input_names=["input_features"], output_names=["audio_embeds"],
                      dynamic_axes={"input_features": {0: "batch_size"}, "audio_embeds": {0: "batch_size"}})
    ids = torch.tensor([[0, 40, 41, 2, 1]])
    torch.onnx.export(text, (ids, (ids != 1).long()), str(PACK / "onnx" / "text_model.onnx"), opset_version=OPSET,
                      input_names=["input_ids", "attention_mask"], output_names=["text_embeds"],
                      dynamic_axes={"input_ids": {0: "batch_size", 1: "sequence_length"},
                                    "attention_mask": {0: "batch_size", 1: "sequence_length"}, "text_embeds": {0: "batch_size"}})

    # Reference features from transformers.js, per window, then the PyTorch audio tower.
    work = Path(tempfile.mkdtemp())
    items, meta = [], []
    for name, samples in clips():
        with wave.open(str(REF / name), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(samples.tobytes())
        floats = samples.astype(np.float32) / 32768.0
        for start, window in windows(floats):
            i = len(items)
            window.astype("<f4").tofile(work / f"{i}.f32")
            items.append({"input": str(work / f"{i}.f32"), "output": str(work / f"{i}.out.f32")})
            meta.append((name, start, len(window)))
    run_node("features.mjs", {"config": str(PACK / "preprocessor_config.json"), "items": items})
    audio_refs = []
    with torch.no_grad():
        for item, (name, start, length) in zip(items, meta):
            features = torch.from_numpy(np.fromfile(item["output"], dtype="<f4").reshape(1, 1, 1001, 64))
            vector = audio(features)[0].numpy().astype(np.float64)
            audio_refs.append({"file": name, "start_sample": start, "samples": length,
                               "embedding": [float(v) for v in (vector / np.linalg.norm(vector)).astype(np.float32)]})

    ids_file = work / "ids.json"
    run_node("tokenize.mjs", {"model": str(PACK), "texts": TEXTS, "output": str(ids_file)})
    token_ids = json.loads(ids_file.read_text())
    text_refs = []
    with torch.no_grad():
        for s, ids in zip(TEXTS, token_ids):
            t = torch.tensor([ids])
            vector = text(t, torch.ones_like(t))[0].numpy().astype(np.float64)
            text_refs.append({"text": s, "ids": ids, "embedding": [float(v) for v in (vector / np.linalg.norm(vector)).astype(np.float32)]})
    (REF / "tiny-clap.json").write_text(json.dumps({"audio": audio_refs, "texts": text_refs}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"vocab {len(vocab)}, {len(merges)} merges; {len(audio_refs)} audio windows, {len(text_refs)} texts -> {PACK}, {REF}")


if __name__ == "__main__":
    sys.exit(main())
