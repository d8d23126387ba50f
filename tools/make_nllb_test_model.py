#!/usr/bin/python3
"""Make a small random-weight NLLB-CLIP test pack (Immich layout) and its PyTorch reference embeddings.

    /usr/bin/python3 tools/make_nllb_test_model.py   # -> tests/fixtures/models/tiny-nllb-clip-immich/, tests/fixtures/reference/tiny-nllb-clip.json

Shaped as Immich's nllb-clip-base-siglip__v1 export (OpenCLIP's NLLB-CLIP: an NLLB-200 text encoder with a linear
projection, a SigLIP image tower), so that every file name, input, output and config key is the real one:

* textual/model.onnx: input `text` int32 [1, 77] only (OpenCLIP's HF text encoder derives the attention mask from the
  pad id 1 inside the graph), output `embedding` [1, 32], L2-normalised (Immich exports encode_text(normalize=True)).
  The tower attends over the non-pad positions and pools the FIRST position (OpenCLIP's cls_pooler), which holds the
  language code: the language and any padding mistake change the output.
* visual/model.onnx: input `image` float32 [1, 3, 224, 224], output `embedding` [1, 32] (SigLIP-shaped tower,
  normalised); visual/preprocess_cfg.json: 224x224 squash resize, bicubic, mean = std = 0.5.
* config.json: OpenCLIP model config with text_cfg.hf_tokenizer_name facebook/nllb-200-distilled-600M (no
  context_length: 77).
* textual/sentencepiece.bpe.model: a SentencePiece Unigram model trained here (nmt_nfkc, <unk>=0 <s>=1 </s>=2),
  because NLLB's 256k vocabulary cannot be had; textual/tokenizer.json: the same vocabulary the way transformers'
  NllbConverter writes it (fairseq ids <s>=0 <pad>=1 </s>=2 <unk>=3, every other piece + 1, then the 202 FLORES-200
  language codes, then <mask>; precompiled charsmap + " {2,}" -> " " normaliser; Metaspace; post-processor
  "eng_Latn $A </s>"); textual/tokenizer_config.json: NllbTokenizer, src_lang null (eng_Latn).

Token ids (reference rules, NllbTokenizer with src_lang set, as OpenCLIP's HFTokenizer.set_language does): the text
whitespace-cleaned (OpenCLIP's clean="whitespace"), [language code] + python3-sentencepiece ids + 1 (unk -> 3) + [</s>],
truncated to 77 and padded with <pad> = 1. Embeddings come from the PyTorch modules, never through ONNX.
"""

from __future__ import annotations

import base64
import math
import sys
from pathlib import Path

import numpy as np
import sentencepiece as spm
import torch
import torch.nn as nn
from sentencepiece import sentencepiece_model_pb2 as spm_pb2

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_family_test_models as fam  # noqa: E402

SEED = 31
CONTEXT = 77
BOS, PAD, EOS, UNK = 0, 1, 2, 3

# transformers' FAIRSEQ_LANGUAGE_CODES for NLLB-200, in vocabulary order.
FLORES200 = (
    "ace_Arab ace_Latn acm_Arab acq_Arab aeb_Arab afr_Latn ajp_Arab aka_Latn amh_Ethi apc_Arab arb_Arab ars_Arab ary_Arab "
    "arz_Arab asm_Beng ast_Latn awa_Deva ayr_Latn azb_Arab azj_Latn bak_Cyrl bam_Latn ban_Latn bel_Cyrl bem_Latn ben_Beng "
    "bho_Deva bjn_Arab bjn_Latn bod_Tibt bos_Latn bug_Latn bul_Cyrl cat_Latn ceb_Latn ces_Latn cjk_Latn ckb_Arab crh_Latn "
    "cym_Latn dan_Latn deu_Latn dik_Latn dyu_Latn dzo_Tibt ell_Grek eng_Latn epo_Latn est_Latn eus_Latn ewe_Latn fao_Latn "
    "pes_Arab fij_Latn fin_Latn fon_Latn fra_Latn fur_Latn fuv_Latn gla_Latn gle_Latn glg_Latn grn_Latn guj_Gujr hat_Latn "
    "hau_Latn heb_Hebr hin_Deva hne_Deva hrv_Latn hun_Latn hye_Armn ibo_Latn ilo_Latn ind_Latn isl_Latn ita_Latn jav_Latn "
    "jpn_Jpan kab_Latn kac_Latn kam_Latn kan_Knda kas_Arab kas_Deva kat_Geor knc_Arab knc_Latn kaz_Cyrl kbp_Latn kea_Latn "
    "khm_Khmr kik_Latn kin_Latn kir_Cyrl kmb_Latn kon_Latn kor_Hang kmr_Latn lao_Laoo lvs_Latn lij_Latn lim_Latn lin_Latn "
    "lit_Latn lmo_Latn ltg_Latn ltz_Latn lua_Latn lug_Latn luo_Latn lus_Latn mag_Deva mai_Deva mal_Mlym mar_Deva min_Latn "
    "mkd_Cyrl plt_Latn mlt_Latn mni_Beng khk_Cyrl mos_Latn mri_Latn zsm_Latn mya_Mymr nld_Latn nno_Latn nob_Latn npi_Deva "
    "nso_Latn nus_Latn nya_Latn oci_Latn gaz_Latn ory_Orya pag_Latn pan_Guru pap_Latn pol_Latn por_Latn prs_Arab pbt_Arab "
    "quy_Latn ron_Latn run_Latn rus_Cyrl sag_Latn san_Deva sat_Beng scn_Latn shn_Mymr sin_Sinh slk_Latn slv_Latn smo_Latn "
    "sna_Latn snd_Arab som_Latn sot_Latn spa_Latn als_Latn srd_Latn srp_Cyrl ssw_Latn sun_Latn swe_Latn swh_Latn szl_Latn "
    "tam_Taml tat_Cyrl tel_Telu tgk_Cyrl tgl_Latn tha_Thai tir_Ethi taq_Latn taq_Tfng tpi_Latn tsn_Latn tso_Latn tuk_Latn "
    "tum_Latn tur_Latn twi_Latn tzm_Tfng uig_Arab ukr_Cyrl umb_Latn urd_Arab uzn_Latn vec_Latn vie_Latn war_Latn wol_Latn "
    "xho_Latn ydd_Hebr yor_Latn yue_Hant zho_Hans zho_Hant zul_Latn"
).split()
assert len(FLORES200) == 202 and FLORES200.index("eng_Latn") == 46

# (language, text) pairs besides the reference strings (which are read as English, the pack's default).
LANGUAGE_TEXTS = [
    ("deu_Latn", "ein Hund am Strand"), ("deu_Latn", "Ein Hund spielt am Strand mit einem Ball."),
    ("deu_Latn", "zwei Hunde auf einer Wiese"), ("deu_Latn", "Straße, Größe, Übermaß und Äpfel"),
    ("fra_Latn", "un chien sur la plage"), ("fra_Latn", "une tasse de café crème brûlée"),
    ("spa_Latn", "el perro corre en la playa"), ("rus_Cyrl", "собака на пляже"), ("rus_Cyrl", "Кошка спит на диване"),
    ("ell_Grek", "σκύλος στην παραλία"), ("zho_Hans", "一只猫在沙发上睡觉"), ("zho_Hant", "海灘上的狗"),
    ("jpn_Jpan", "ビーチの犬"), ("kor_Hang", "해변의 개"), ("arb_Arab", "كلب على الشاطئ"), ("hin_Deva", "कुत्ता समुद्र तट पर"),
    ("tha_Thai", "สุนัขบนชายหาด"), ("tur_Latn", "köpek sahilde"), ("pol_Latn", "pies na plaży"),
    ("eng_Latn", "family \U0001F469\u200d\U0001F469\u200d\U0001F467 zero\u200bwidth"),
    ("deu_Latn", "  viel   Platz\tzwischen  den  Wörtern  "), ("deu_Latn", ""),
    ("eng_Latn", "a dog on the beach"), ("zul_Latn", "inja olwandle"),
    ("deu_Latn", " ".join(["ein sehr langer Satz über einen Hafen im Morgengrauen mit Booten und Möwen"] * 6)),
]

# Zero-shot classification prompts (the "simple" template with German labels), read in German and in English. They are
# not part of the SentencePiece training text, so adding them leaves the pack itself unchanged.
PROMPT_LABELS = ["Hund", "Banane", "Tomate", "Katze"]
PROMPT_TEXTS = [(lang, f"a photo of a {label}.") for lang in ("deu_Latn", "eng_Latn") for label in PROMPT_LABELS]


class NllbText(nn.Module):
    """OpenCLIP's HFTextEncoder over an NLLB-shaped encoder: mask from the pad id, scaled token embeddings plus
    sinusoidal positions, pre-LN encoder, final LayerNorm, the first position pooled (cls_pooler), linear projection."""

    def __init__(self, vocab: int, width: int, dim: int):
        super().__init__()
        self.width = width
        self.tok = nn.Embedding(vocab, width)
        position = torch.arange(CONTEXT + 2, dtype=torch.float32)[:, None]
        div = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
        pe = torch.zeros(CONTEXT + 2, width)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(position * div), torch.cos(position * div)
        self.register_buffer("pos", pe[None], persistent=False)
        self.encoder = fam.Encoder(width, 2, 2)
        self.ln = nn.LayerNorm(width)
        self.proj = nn.Linear(width, dim, bias=False)

    def forward(self, text):
        ids = text.long()
        mask = (ids != PAD).float()
        x = self.tok(ids) * math.sqrt(self.width) * 0.2 + self.pos[:, : ids.shape[1]]
        x = self.ln(self.encoder(x, mask))
        e = self.proj(x[:, 0])
        return e / e.norm(dim=-1, keepdim=True)


class NormalisedVision(nn.Module):
    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, image):
        e = self.inner(image)[1]
        return e / e.norm(dim=-1, keepdim=True)


def clean(text: str) -> str:
    return " ".join(text.split())  # OpenCLIP's whitespace clean (Immich's clean_text)


def nllb_ids(sp: spm.SentencePieceProcessor, lang_ids: dict[str, int], language: str, text: str) -> list[int]:
    pieces = [UNK if i == sp.unk_id() else i + 1 for i in sp.encode(clean(text))]
    ids = [lang_ids[language]] + pieces[: CONTEXT - 2] + [EOS]
    return ids + [PAD] * (CONTEXT - len(ids))


def tokenizer_json(model_bytes: bytes, lang_ids: dict[str, int], mask_id: int) -> dict:
    """tokenizer.json as transformers' NllbConverter (SpmConverter) writes it for a Unigram model."""
    proto = spm_pb2.ModelProto()
    proto.ParseFromString(model_bytes)
    vocab = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]]
    vocab += [[p.piece, p.score] for p in proto.pieces[3:]]
    vocab += [[code, 0.0] for code in FLORES200] + [["<mask>", 0.0]]

    def added(i, content, **kw):
        return {"id": i, "content": content, "single_word": False, "lstrip": kw.get("lstrip", False), "rstrip": False,
                "normalized": kw.get("normalized", False), "special": True}

    added_tokens = [added(0, "<s>"), added(1, "<pad>"), added(2, "</s>"), added(3, "<unk>")]
    added_tokens += [added(lang_ids[c], c) for c in FLORES200]
    added_tokens.append(added(mask_id, "<mask>", lstrip=True, normalized=True))
    metaspace = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added_tokens,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(proto.normalizer_spec.precompiled_charsmap).decode()},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        "pre_tokenizer": metaspace,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "eng_Latn", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "eng_Latn", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {
                "eng_Latn": {"id": "eng_Latn", "ids": [lang_ids["eng_Latn"]], "tokens": ["eng_Latn"]},
                "</s>": {"id": "</s>", "ids": [EOS], "tokens": ["</s>"]}}},
        "decoder": metaspace,
        "model": {"type": "Unigram", "unk_id": UNK, "vocab": vocab, "byte_fallback": False},
    }


def main() -> None:
    corpus = fam.corpus_dir(None)
    reference_texts = fam.tokenizer_texts(corpus)
    training = reference_texts + fam.EXTRA_SENTENCES * 3 + [t for _, t in LANGUAGE_TEXTS] * 2
    fixtures = fam.REPO / "tests" / "fixtures"
    out, ref = fixtures / "models" / "tiny-nllb-clip-immich", fixtures / "reference" / "tiny-nllb-clip.json"

    torch.manual_seed(SEED)
    model_bytes = fam.train_spm(training, 700, dict(unk_id=0, bos_id=1, eos_id=2, pad_id=-1))
    sp = spm.SentencePieceProcessor(model_proto=model_bytes)
    size = sp.get_piece_size()
    lang_ids = {code: size + 1 + i for i, code in enumerate(FLORES200)}
    mask_id = size + 1 + len(FLORES200)
    vocab = mask_id + 1
    text, vision = NllbText(vocab, 32, 32).eval(), fam.SiglipVision(32).eval()
    fam.spice_up(text)
    fam.spice_up(vision, 3.0)
    visual = NormalisedVision(vision).eval()

    (out / "textual").mkdir(parents=True, exist_ok=True)
    (out / "visual").mkdir(parents=True, exist_ok=True)
    (out / "textual" / "sentencepiece.bpe.model").write_bytes(model_bytes)
    ids0 = torch.tensor([nllb_ids(sp, lang_ids, "deu_Latn", "ein Hund am Strand")], dtype=torch.int32)
    fam.export(text, (ids0,), out / "textual" / "model.onnx", ["text"], ["embedding"], {})
    fam.export(visual, (torch.zeros(1, 3, 224, 224),), out / "visual" / "model.onnx", ["image"], ["embedding"], {})

    fam.write_json(out / "config.json", {
        "embed_dim": 32,
        "vision_cfg": {"image_size": 224, "timm_model_name": "vit_base_patch16_siglip_224", "timm_model_pretrained": False,
                       "timm_pool": "map", "timm_proj": "none"},
        "text_cfg": {"hf_model_name": "facebook/nllb-200-distilled-600M", "hf_tokenizer_name": "facebook/nllb-200-distilled-600M",
                     "hf_proj_type": "linear", "hf_pooler_type": "cls_pooler"},
    })
    fam.write_json(out / "visual" / "preprocess_cfg.json", {
        "size": [224, 224], "mode": "RGB", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
        "interpolation": "bicubic", "resize_mode": "squash", "fill_color": 0,
    })
    fam.write_json(out / "textual" / "tokenizer_config.json", {
        "tokenizer_class": "NllbTokenizer", "model_max_length": 1024, "src_lang": None, "tgt_lang": None,
        "legacy_behaviour": False, "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
        "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>", "additional_special_tokens": FLORES200,
        "sp_model_kwargs": {}, "clean_up_tokenization_spaces": True,
    })
    fam.write_json(out / "textual" / "special_tokens_map.json", {
        "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>", "unk_token": "<unk>",
        "pad_token": "<pad>", "mask_token": "<mask>", "additional_special_tokens": FLORES200,
    })
    fam.write_json(out / "textual" / "tokenizer.json", tokenizer_json(model_bytes, lang_ids, mask_id))

    # Reference strings and edge texts are English (the default); language pairs are written as Immich sends them,
    # the FLORES-200 code glued in front of the text.
    pairs = [("eng_Latn", t, t) for t in reference_texts + fam.EDGE_TEXTS]
    pairs += [(lang, t, lang + t) for lang, t in LANGUAGE_TEXTS + PROMPT_TEXTS]
    entries = []
    with torch.no_grad():
        for lang, plain, written in pairs:
            ids = nllb_ids(sp, lang_ids, lang, plain)
            e = text(torch.tensor([ids], dtype=torch.int32))[0].numpy()
            entries.append({"text": written, "language": lang, "plain": plain, "ids": ids, "embedding": fam.f9(e)})
        same = [e for e in entries if e["plain"] == "a dog on the beach"]
        de = text(torch.tensor([nllb_ids(sp, lang_ids, "deu_Latn", "a dog on the beach")], dtype=torch.int32))[0].numpy()
        language_effect = float(np.dot(de, np.array(same[0]["embedding"], dtype=np.float32)))

    images = []
    with torch.no_grad():
        for name in fam.PHOTOS:
            img = fam.load_image(corpus / "images" / "photos" / name)
            e = visual(fam.siglip_pixels(img)[None])[0].numpy()
            images.append({"file": "images/photos/" + name, "embedding": fam.f9(e)})
    img_embs = np.array([i["embedding"] for i in images], dtype=np.float32)
    fam.write_reference(ref, {
        "format": "omnivec-family-reference-1", "family": "nllb-clip", "pack": "tiny-nllb-clip-immich",
        "notes": "ids: [FLORES-200 code] + python3-sentencepiece ids with the fairseq offset (<s>=0 <pad>=1 </s>=2 <unk>=3, "
                 "others +1) + </s>, on whitespace-cleaned text, truncated to 77, padded with 1; 'text' is what Omnivec is "
                 "given (Immich's form: the code glued in front; no code = eng_Latn); embeddings: PyTorch, L2-normalised; "
                 "images: PIL resize to 224x224 bicubic (squash), (x/255-0.5)/0.5, L2-normalised.",
        "sensitivity": {"max_cosine_between_photos": fam.min_offdiag_cos(img_embs),
                        "cosine_same_text_eng_vs_deu": language_effect},
        "texts": entries, "images": images,
    })
    print(f"nllb-clip: spm {size}, vocab {vocab}, {len(entries)} texts, {len(images)} images, "
          f"photos max cos {fam.min_offdiag_cos(img_embs):.4f}, eng vs deu cos {language_effect:.4f}")


if __name__ == "__main__":
    main()
