#!/usr/bin/env python3
"""Parity fixtures for the SentencePiece-style tokenizer.json components tokc reads, made with Hugging Face
`tokenizers` (the reference implementation of the format).

Vocabularies/mistral-v1.tokenizer.json has one layout (Prepend + Replace normalizers, no pre-tokenizer,
byte fallback, Replace/ByteFallback/Fuse/Strip decoder, a <s> template). Real files use others; each variant
below is that file with its components swapped for another layout, and the fixture holds tokenizers' ids for
the 112 public texts plus texts that exercise the variant (specials mid-text, capitals, unknown characters):

  metaspace-first-split    pre_tokenizer Metaspace(prepend_scheme first, split true), decoder ByteFallback + Metaspace
  metaspace-always-whole   pre_tokenizer Metaspace(prepend_scheme always, split false), the shipped decoder
  nfkc-lowercase           normalizer Sequence[NFKC, Lowercase, Prepend, Replace]
  unknown-fused            byte_fallback false, unk_token <unk>, fuse_unk true, decoder without ByteFallback
  unknown-unfused          the same with fuse_unk false

Usage: pip install tokenizers==0.23.3; python3 scripts/make-tokenizer-json-variants.py
Writes Tests/Fixtures/extra-mistral-v1-variants.jsonl; each line: variant, id, text, ids
(add_special_tokens=False), ids_with_special (True), decoded (decode(ids, skip_special_tokens=False)).
"""
import copy
import json
import os

import tokenizers
from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
base = json.load(open(os.path.join(ROOT, "Vocabularies", "mistral-v1.tokenizer.json"), encoding="utf-8"))

SHIPPED_DECODER = base["decoder"]


def variant(name):
    d = copy.deepcopy(base)
    if name == "metaspace-first-split":
        d["normalizer"] = None
        d["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True}
        d["decoder"] = {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True}]}
    elif name == "metaspace-always-whole":
        d["normalizer"] = None
        d["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": False}
    elif name == "nfkc-lowercase":
        d["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}] + base["normalizer"]["normalizers"]}
    elif name.startswith("unknown-"):
        d["model"]["byte_fallback"] = False
        d["model"]["fuse_unk"] = name == "unknown-fused"
        d["decoder"] = {"type": "Sequence", "decoders": [s for s in SHIPPED_DECODER["decoders"] if s["type"] != "ByteFallback"]}
    return d


VARIANTS = ["metaspace-first-split", "metaspace-always-whole", "nfkc-lowercase", "unknown-fused", "unknown-unfused"]
EXTRA = [
    ("special-first", "<s>Hello world</s>"),
    ("special-middle", "Hello <s> world </s>  again"),
    ("special-spaced", " <s> leading space"),
    ("capitals", "ΣΑΣ İstanbul DŽ ǅ Ⅻ ＡＢＣ ﬁ"),
    ("unknown-run", "漢字龘靐齉 and 𠀀𠀁 then ㍿"),
    ("spaces-only", "   "),
]

texts = []
for line in open(os.path.join(ROOT, "Tests", "Fixtures", "mistral-v1.jsonl"), encoding="utf-8"):
    record = json.loads(line)
    texts.append((record["id"], record["text"]))
texts += EXTRA

out_path = os.path.join(ROOT, "Tests", "Fixtures", "extra-mistral-v1-variants.jsonl")
with open(out_path, "w", encoding="utf-8") as out:
    for name in VARIANTS:
        tok = Tokenizer.from_str(json.dumps(variant(name)))
        for text_id, text in texts:
            ids = tok.encode(text, add_special_tokens=False).ids
            record = {
                "variant": name, "id": text_id, "text": text, "ids": ids,
                "ids_with_special": tok.encode(text, add_special_tokens=True).ids,
                "decoded": tok.decode(ids, skip_special_tokens=False),
                "note": f"tokenizers {tokenizers.__version__}",
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
print(out_path)
