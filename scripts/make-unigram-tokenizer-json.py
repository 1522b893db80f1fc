#!/usr/bin/env python3
"""The Unigram tokenizer.json fixtures, made by the reference tools: transformers' SentencePiece converter
(SpmConverter) turns Vocabularies/unigram-multi-8k.model into Tests/Fixtures/unigram-multi-8k.tokenizer.json
(Precompiled + Strip + Replace normalizer, Metaspace, Unigram model: the layout of converted T5, ALBERT,
XLM-R files), and Hugging Face `tokenizers` gives the ids every fixture holds.

Two layouts are recorded, for the 112 public texts of unigram-multi-8k plus texts that exercise the Unigram
path (leading and repeated spaces, clusters the Precompiled normaliser rewrites whole, piece names in the text,
unknown characters):
  converted      the converter's file as it is (byte_fallback false: unknown characters are <unk>)
  byte-fallback  the same with byte_fallback true and the Replace/ByteFallback/Fuse/Strip decoder

Usage: pip install tokenizers==0.23.3 transformers sentencepiece; python3 scripts/make-unigram-tokenizer-json.py
Writes Tests/Fixtures/unigram-multi-8k.tokenizer.json and Tests/Fixtures/extra-unigram-multi-8k-json.jsonl; each
line: variant, id, text, ids (add_special_tokens=False), decoded (decode(ids, skip_special_tokens=False)).
"""
import copy
import json
import os
import warnings

import tokenizers
import transformers
from tokenizers import Tokenizer
from transformers.convert_slow_tokenizer import SpmConverter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "Vocabularies", "unigram-multi-8k.model")
OUT_JSON = os.path.join(ROOT, "Tests", "Fixtures", "unigram-multi-8k.tokenizer.json")
OUT_FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "extra-unigram-multi-8k-json.jsonl")


class SlowTokenizerStandIn:
    """What SpmConverter reads from a slow tokenizer: the model file and the legacy Metaspace settings."""
    vocab_file = MODEL
    legacy = True
    add_prefix_space = True


converter = SpmConverter.__new__(SpmConverter)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "byte fallback ... not implemented in the fast tokenizers": recorded below
    SpmConverter.__init__(converter, SlowTokenizerStandIn())
    converter.converted().save(OUT_JSON)
converted = json.load(open(OUT_JSON, encoding="utf-8"))

with_byte_fallback = copy.deepcopy(converted)
with_byte_fallback["model"]["byte_fallback"] = True
with_byte_fallback["decoder"] = {"type": "Sequence", "decoders": [
    {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
    {"type": "ByteFallback"}, {"type": "Fuse"},
    {"type": "Strip", "content": " ", "start": 1, "stop": 0},
]}

EXTRA = [
    ("leading-spaces", "   three leading spaces and two  inside   and trailing   "),
    ("tabs-newlines", "tab\there\r\nnew line\n\nparagraph\u3000ideographic space"),
    ("piece-names", "<unk> <s>x</s> <0x41><0xE3> ▁ ▁▁word"),
    ("combining", "e\u0301 Ａ\u0301 ｶﾞ ｶ\u3099 \u1100\u1161\u11a8 क्षत्रिय ห\u0e49\u0e32"),
    ("emoji-clusters", "👨‍👩‍👧 🏳️‍🌈 👍🏽 🇯🇵 1️⃣ ©️"),
    ("unknown-run", "漢字龘靐齉 and 𠀀𠀁 then ㍿ 🦩🦩"),
    ("fullwidth", "ＡＢＣ ｱｲｳ ﬁ ① ㌔ ½ Ⅻ"),
    ("controls", "a\u0000b\u0007c\u200bd\u200de\ufeff\u00adf"),
]

texts = []
for line in open(os.path.join(ROOT, "Tests", "Fixtures", "unigram-multi-8k.jsonl"), encoding="utf-8"):
    record = json.loads(line)
    texts.append((record["id"], record["text"]))
texts += EXTRA

with open(OUT_FIXTURES, "w", encoding="utf-8") as out:
    for name, document in [("converted", converted), ("byte-fallback", with_byte_fallback)]:
        tok = Tokenizer.from_str(json.dumps(document))
        for text_id, text in texts:
            ids = tok.encode(text, add_special_tokens=False).ids
            record = {
                "variant": name, "id": text_id, "text": text, "ids": ids,
                "decoded": tok.decode(ids, skip_special_tokens=False),
                "note": f"tokenizers {tokenizers.__version__}, transformers {transformers.__version__} SpmConverter",
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
print(OUT_JSON)
print(OUT_FIXTURES)
