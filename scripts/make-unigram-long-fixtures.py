#!/usr/bin/env python3
"""Whole-file parity fixtures for the shipped SentencePiece Unigram model, made with the reference sentencepiece.

The public fixtures and the held-out-line tests encode short texts, where a path's score stays small. Encoded as
ONE text, a corpus file's running score reaches millions, and sentencepiece 0.2.3 then rebases it (subtracts it in
Float once it passes 100,000, see UnigramEncoder.rebaseThreshold), which decides Float ties; these fixtures hold
tokc to that on every file of Corpus/split encoded whole.

Each record: the file (relative to the repository root), the id count, and the sha256 of the ids written as
decimal numbers joined by commas (the digest Tests/Fixtures/extra-o200k_base.jsonl uses).

Usage:
    pip install sentencepiece==0.2.3
    python3 scripts/make-unigram-long-fixtures.py
Writes Tests/Fixtures/extra-unigram-multi-8k-long.jsonl.
"""
import hashlib
import json
import os

import sentencepiece as spm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = "Vocabularies/unigram-multi-8k.model"
FILES = [f"Corpus/split/{lang}.{part}.txt" for part in ("heldout", "train") for lang in ("ja", "zh", "de", "fr", "en")]


def main():
    processor = spm.SentencePieceProcessor(model_file=os.path.join(ROOT, MODEL))
    out_path = os.path.join(ROOT, "Tests", "Fixtures", "extra-unigram-multi-8k-long.jsonl")
    with open(out_path, "w", encoding="utf-8") as out:
        for path in FILES:
            with open(os.path.join(ROOT, path), encoding="utf-8") as file:
                ids = processor.encode(file.read())
            digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()
            record = {"file": path, "model": MODEL, "sentencepiece": spm.__version__, "count": len(ids), "ids_sha256": digest}
            out.write(json.dumps(record) + "\n")
            print(path, len(ids), digest)


if __name__ == "__main__":
    main()
