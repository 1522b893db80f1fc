#!/usr/bin/env python3
"""Token offsets from the reference Hugging Face tokenizers, for tokc's offsets test (Tests/TokcTests/Offsets):
every shipped tokenizer.json vocabulary and Tests/Fixtures/unigram-multi-8k.tokenizer.json, on the 112 public
texts of ../shared/reference/fixtures-more/glm-4.jsonl plus a few texts that exercise offsets (combining marks,
ligatures, emoji split by byte-level BPE, runs of spaces, CJK, special tokens).

tokenizers' offsets are character offsets into the Python string; they are written here as UTF-8 byte offsets
(what tokc's spans are), flattened: [start0, end0, start1, end1, ...].

Usage (the reference venv: python3 scripts/reference_venv.py prints its python):
    Benchmarks/.venv/bin/python scripts/make-offsets-fixtures.py | gzip -9 -n > Tests/Fixtures/offsets-tokenizers.jsonl.gz
"""
import gzip
import json
import os

import tokenizers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXTS = os.path.join(ROOT, "../shared/reference/fixtures-more/glm-4.jsonl")

EXTRA = [
    ("offsets-ligature", "ﬁne ﬂour ① ㌀ ＡＢＣ"),
    ("offsets-combining", "cafe\u0301 nai\u0308ve e\u0301"),
    ("offsets-emoji", "🤗 hugs 👩‍👩‍👧 x🤗y"),
    ("offsets-spaces", "  two  spaces   three\t\ttabs \n\n end  "),
    ("offsets-cjk", "日本語のテキスト、東京タワー。中文文本"),
    ("offsets-special", "<|endoftext|>hello</s><s>[CLS] world[SEP]<unk>"),
    ("offsets-mixed", "Ünïcödé ÀÉÎÕÜ straße İstanbul ΟΔΟΣ"),
]


def byte_offsets(text, offsets):
    """Character offsets into `text` as UTF-8 byte offsets."""
    position = [0]
    for character in text:
        position.append(position[-1] + len(character.encode("utf-8")))
    flat = []
    for start, end in offsets:
        flat += [position[start], position[end]]
    return flat


def vocabularies():
    manifest = json.load(open(os.path.join(ROOT, "Vocabularies/manifest.json")))
    for entry in manifest["vocabularies"]:
        if entry["format"] != "tokenizer.json":
            continue
        data = open(os.path.join(ROOT, "Vocabularies", entry["file"]), "rb").read()
        if entry["file"].endswith(".gz"):
            data = gzip.decompress(data)
        yield entry["name"], "Vocabularies/" + entry["file"], data
    path = "Tests/Fixtures/unigram-multi-8k.tokenizer.json"
    yield "unigram-multi-8k.tokenizer.json", path, open(os.path.join(ROOT, path), "rb").read()


def main():
    texts = [(record["id"], record["text"]) for record in map(json.loads, open(TEXTS, encoding="utf-8"))]
    texts += EXTRA
    for name, path, data in vocabularies():
        tokenizer = tokenizers.Tokenizer.from_str(data.decode("utf-8"))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        for text_id, text in texts:
            encoding = tokenizer.encode(text, add_special_tokens=False)
            print(json.dumps({
                "vocab": name, "file": path, "id": text_id, "text": text, "ids": encoding.ids,
                "offsets": byte_offsets(text, encoding.offsets),
            }, ensure_ascii=False))
    print(json.dumps({"note": f"tokenizers {tokenizers.__version__}: Tokenizer.from_str, no_truncation(), no_padding(); "
                              "ids and offsets of encode(text, add_special_tokens=False); offsets as UTF-8 byte offsets, flattened"}))


if __name__ == "__main__":
    main()
