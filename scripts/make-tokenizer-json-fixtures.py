#!/usr/bin/env python3
"""Parity fixtures for a shipped tokenizer.json vocabulary that ../shared has none for, made with the reference
Hugging Face tokenizers, in the layout of ../shared/reference/fixtures-more/*.jsonl and on the same 112 public
texts (taken from that folder's glm-4.jsonl).

Usage (offline; the vocabulary comes from Vocabularies/, gunzipped where it is stored so):
    pip install tokenizers==0.23.3
    python3 scripts/make-tokenizer-json-fixtures.py glm-4.7 > Tests/Fixtures/glm-4.7.jsonl
"""
import gzip
import json
import os
import sys

import tokenizers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXTS = os.path.join(ROOT, "../shared/reference/fixtures-more/glm-4.jsonl")


def main():
    name = sys.argv[1]
    manifest = json.load(open(os.path.join(ROOT, "Vocabularies/manifest.json")))
    entry = next(e for e in manifest["vocabularies"] if e["name"] == name)
    data = open(os.path.join(ROOT, "Vocabularies", entry["file"]), "rb").read()
    if entry.get("compression") == "gzip":
        data = gzip.decompress(data)
    tokenizer = tokenizers.Tokenizer.from_str(data.decode("utf-8"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    note = (f"tokenizers {tokenizers.__version__}: Tokenizer.from_str of Vocabularies/{entry['file']}, no_truncation(), "
            "no_padding(); ids, tokens = encode(text, add_special_tokens=False); ids_with_special = add_special_tokens=True; "
            "decoded = decode(ids, skip_special_tokens=False)")
    for line in open(TEXTS, encoding="utf-8"):
        record = json.loads(line)
        text = record["text"]
        encoding = tokenizer.encode(text, add_special_tokens=False)
        ids = encoding.ids
        print(json.dumps({
            "vocab": name, "id": record["id"], "text": text, "ids": ids, "tokens": encoding.tokens,
            "ids_with_special": tokenizer.encode(text, add_special_tokens=True).ids,
            "decoded": tokenizer.decode(ids, skip_special_tokens=False), "note": note,
        }, ensure_ascii=False))


if __name__ == "__main__":
    main()
