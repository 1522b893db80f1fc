#!/usr/bin/env python3
"""Parity fixtures for the shipped llama4 vocabulary, made with Meta's own Llama 4 tokenizer (the Tokenizer class
of llama-models, which runs tiktoken on the tokenizer.model tokc ships), in the layout of the tiktoken fixtures
(Tests/Fixtures/o200k_harmony.jsonl) and on the same 112 public texts, plus texts spelling Llama 4's special
tokens.

Usage (offline once the two packages are installed):
    pip install llama-models==0.3.0 --no-deps && pip install tiktoken==0.14.0
    python3 scripts/make-llama4-fixtures.py > Tests/Fixtures/llama4.jsonl
"""
import json
import os

import tiktoken
from llama_models.llama4.tokenizer import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXTS = os.path.join(ROOT, "Tests/Fixtures/o200k_harmony.jsonl")
SPECIAL_TEXTS = [
    ("llama4-special-chat", "<|begin_of_text|><|header_start|>user<|header_end|>\n\nこんにちは<|eot|>"),
    ("llama4-special-reasoning", "<|reasoning_thinking_start|>x<|reasoning_thinking_end|><|eom|>"),
    ("llama4-special-partial", "<|header_start|<|eot|<|reserved_special_token_903|>"),
]


def main():
    tokenizer = Tokenizer.get_instance()
    encoding = tokenizer.model
    note = (f"tiktoken {tiktoken.__version__} through llama-models 0.3.0's llama_models.llama4.tokenizer.Tokenizer "
            "(its tokenizer.model, pattern and 2,048 special tokens); ids = encode(text, allowed_special=set(), "
            "disallowed_special=()) (special-token text encoded as ordinary text); ids_special_all = "
            "encode(text, allowed_special='all'); decoded = decode(ids)")
    records = [(r["id"], r["text"]) for r in map(json.loads, open(TEXTS, encoding="utf-8"))] + SPECIAL_TEXTS
    for identifier, text in records:
        ids = encoding.encode(text, allowed_special=set(), disallowed_special=())
        print(json.dumps({
            "vocab": "llama4", "id": identifier, "text": text, "ids": ids, "decoded": encoding.decode(ids),
            "ids_special_all": encoding.encode(text, allowed_special="all"), "note": note,
        }, ensure_ascii=False))


if __name__ == "__main__":
    main()
