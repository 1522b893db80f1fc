#!/usr/bin/env python3
"""Single-threaded throughput of the reference tokenizers for one tokc vocabulary: the counterpart of
tokc-throughput, run by scripts/bench-compare inside Benchmarks/.venv.

Which references run depends on the vocabulary's entry in Vocabularies/manifest.json:

- format "tiktoken" (o200k_base, cl100k_base): tiktoken `Encoding.encode_ordinary` and bpe-openai (the Rust
  crate from github/rust-gems, through its Python binding's `PyTokenizer.encode` and `.count`);
- format "tokenizer.json" (llama3, bert-base-uncased, mistral-v1, ...): Hugging Face `tokenizers`,
  `Tokenizer.from_file(...).encode(text, add_special_tokens=False).ids`;
- format "sentencepiece" (unigram-multi-8k, mistral-v3, mistral-v7): `SentencePieceProcessor(model_file=...).encode(text)`;
- format "tiktoken" outside OpenAI's (qwen2.5): a tiktoken `Encoding` built from the file, on NFC text;
- format "tekken": mistral-common's `Tekkenizer.encode`; format "gguf": llama.cpp's `llama_tokenize`;
- mistral-v1 also runs SentencePiece on the original model, Tests/Fixtures/mistral-v1.tokenizer.model;
- a vocabulary with a single pre-tokenizer pattern also gets a "ceiling" row: that regex alone, run by the
  Python `regex` module (`findall`). It is a Python figure and counts pieces, not tokens.

A vocabulary given as a file path uses its extension (.json: tokenizers, .model: sentencepiece).

Every file is read whole and encoded as ONE string on one thread: one untimed warm-up, then N timed runs, the
median reported in MB/s (10^6 UTF-8 bytes of input). Every encode row includes building the Python list of
ids, as tiktoken's API does. Load times are taken in this (fresh) process, after the import.

With --threads N (N > 1) each reference instead runs its batch API over the file's lines on N threads
(tiktoken encode_ordinary_batch, tokenizers encode_batch, sentencepiece encode(list, num_threads)), in rows of
mode `batch-N`; bpe-openai has no batch API and the regex ceiling is single-threaded, so they give no such row.

Output: `#version impl version`, `#load_ms impl vocab ms`, `#error impl vocab message` lines, then TSV rows
impl, vocab, file, bytes, tokens, mode, median_MBps (the same columns as tokc-throughput).
"""

import argparse
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# One timing loop and tiktoken's offline cache for both Python benchmark scripts.
sys.path.insert(0, HERE)
from tiktoken_throughput import median_seconds, offline_cache  # noqa: E402
from reference_loaders import (  # noqa: E402
    llamacpp_binding, llamacpp_encoder, shipped_bytes, tiktoken_file_encoder, write_plain,
)
REPO_ROOT = os.path.dirname(HERE)
VOCABULARIES = os.path.join(REPO_ROOT, "Vocabularies")

# The original SentencePiece model behind a tokenizer.json, where the repo ships one: a second reference.
SENTENCEPIECE_ORIGINALS = {
    "mistral-v1": os.path.join(REPO_ROOT, "Tests", "Fixtures", "mistral-v1.tokenizer.model"),
}


# Set from --threads: above 1, each reference runs its batch API over the file's lines on that many threads.
THREADS = 1


def lines_of(text):
    """The file's lines with their line breaks: what a batch API gets. Encoded one by one, lines can give a few
    tokens more than the whole text (a blank line's break is its own piece), so batch counts are shown, not
    required to agree."""
    return text.splitlines(keepends=True)


def counted(batches):
    """The total token count of a batch result, as a sized object for median_seconds."""
    return range(sum(len(ids) for ids in batches))


def timed_load(impl, vocab, body):
    start = time.perf_counter_ns()
    value = body()
    print(f"#load_ms\t{impl}\t{vocab}\t{(time.perf_counter_ns() - start) / 1e6:.3f}", flush=True)
    return value


def version_line(impl, module_name):
    from importlib import metadata

    try:
        print(f"#version\t{impl}\t{metadata.version(module_name)}", flush=True)
    except metadata.PackageNotFoundError:
        pass


# Each reference builder loads its tokenizer (timed) and returns [(impl, mode, body(text) -> sequence)].


def tiktoken_reference(vocab, entry):
    # tiktoken downloads its files by URL; the offline trick (shipped files copied into a temporary
    # TIKTOKEN_CACHE_DIR under the names tiktoken derives from those URLs) lives in tiktoken_throughput.py.
    import tiktoken

    version_line("tiktoken", "tiktoken")
    with tempfile.TemporaryDirectory(prefix="tiktoken-cache-") as cache:
        offline_cache(cache)
        # Cold: the first get_encoding in this process reads the file, checks its sha256, builds the tables.
        enc = timed_load("tiktoken", vocab, lambda: tiktoken.get_encoding(vocab))
    if THREADS > 1:
        return [("tiktoken", f"batch-{THREADS}", lambda text: counted(enc.encode_ordinary_batch(lines_of(text), num_threads=THREADS)))]
    return [("tiktoken", "encode", enc.encode_ordinary)]


def bpe_openai_reference(vocab, entry):
    # The public `bpe_openai.get_encoding` wraps a Rust `PyTokenizer`; its encode_ordinary adds a UTF-8 check of
    # the whole text and a list copy in Python. The benchmark calls the Rust object directly (encode and count,
    # the crate's own API) and times get_encoding separately, for its load cost.
    import bpe_openai
    from bpe_openai import _bindings

    version_line("bpe-openai", "bpe-openai")
    if THREADS > 1:
        raise RuntimeError("bpe-openai has no batch API; no all-cores row")
    backend = timed_load("bpe-openai", vocab, lambda: _bindings.tokenizer_for_encoding(vocab))
    # After the line above the Rust tables exist; what remains is the wrapper's Python dict of ranks.
    timed_load("bpe-openai.get_encoding", vocab, lambda: bpe_openai.get_encoding(vocab))
    return [
        ("bpe-openai", "encode", backend.encode),
        ("bpe-openai", "count", lambda text: range(backend.count(text))),  # a length, for median_seconds
    ]


def tiktoken_file_reference(vocab, entry, path):
    """A .tiktoken file tiktoken has no encoding name for (Qwen's), as dashscope runs it (reference_loaders)."""
    version_line("tiktoken", "tiktoken")
    return [("tiktoken", "encode", timed_load("tiktoken", vocab, lambda: tiktoken_file_encoder(vocab, entry, path)))]


def tekken_reference(vocab, entry, path):
    """mistral-common's Tekkenizer (tiktoken inside), loaded from the decompressed file."""
    from mistral_common.tokens.tokenizers.tekken import Tekkenizer

    version_line("mistral-common", "mistral_common")
    with tempfile.TemporaryDirectory(prefix="tekken-") as folder:
        plain = write_plain(entry, path, folder, "tekken.json")
        tekken = timed_load("mistral-common", vocab, lambda: Tekkenizer.from_file(plain))
    return [("mistral-common", "encode", lambda text: tekken.encode(text, bos=False, eos=False))]


def llamacpp_reference(vocab, entry, path):
    """llama.cpp's own tokenizer (libllama of PyPI llama-cpp-py-sync) on the vocabulary-only model; no BOS,
    special tokens parsed. Needs the glibc shim's LD_PRELOAD on glibc < 2.38 (bench-compare sets it)."""
    version_line("llama.cpp", "llama-cpp-py-sync")
    ffi, lib = llamacpp_binding(quiet=True)
    with tempfile.TemporaryDirectory(prefix="gguf-") as folder:
        plain = write_plain(entry, path, folder, "vocab.gguf")
        encode = timed_load("llama.cpp", vocab, lambda: llamacpp_encoder(ffi, lib, plain))
    return [("llama.cpp", "encode", encode)]


def tokenizers_reference(vocab, path, entry=None):
    # RAYON_NUM_THREADS=1 and TOKENIZERS_PARALLELISM=false are set by bench-compare before this process starts;
    # one `encode` call does not fan out anyway, but the batch paths would.
    import tokenizers

    version_line("tokenizers", "tokenizers")
    if entry and entry.get("compression") == "gzip":
        tok = timed_load("tokenizers", vocab, lambda: tokenizers.Tokenizer.from_str(shipped_bytes(entry, path).decode("utf-8")))
    else:
        tok = timed_load("tokenizers", vocab, lambda: tokenizers.Tokenizer.from_file(path))
    # add_special_tokens=False: no [CLS]/[SEP] (BERT) or <s> (Llama, Mistral), as tokc counts ordinary text.
    if THREADS > 1:
        # encode_batch fans out over RAYON_NUM_THREADS (bench-compare sets it to the thread count).
        return [("tokenizers", f"batch-{THREADS}",
                 lambda text: counted(e.ids for e in tok.encode_batch(lines_of(text), add_special_tokens=False)))]
    return [("tokenizers", "encode", lambda text: tok.encode(text, add_special_tokens=False).ids)]


def sentencepiece_reference(vocab, path, impl="sentencepiece"):
    import sentencepiece

    version_line("sentencepiece", "sentencepiece")
    sp = timed_load(impl, vocab, lambda: sentencepiece.SentencePieceProcessor(model_file=path))
    if THREADS > 1:
        return [(impl, f"batch-{THREADS}", lambda text: counted(sp.encode(lines_of(text), num_threads=THREADS)))]
    return [(impl, "encode", sp.encode)]  # add_bos/add_eos are off by default


def regex_ceiling(vocab, pattern):
    if THREADS > 1:
        raise RuntimeError("the regex ceiling is single-threaded only")
    import regex

    version_line("regex", "regex")
    compiled = timed_load("regex-pretokenizer", vocab, lambda: regex.compile(pattern))
    return [("regex-pretokenizer", "pieces", compiled.findall)]


def references_for(vocab):
    """(impl, builder) pairs for a vocabulary name or file path; the builders import lazily, so a library that
    is not installed only costs its own rows."""
    manifest = json.load(open(os.path.join(VOCABULARIES, "manifest.json"), encoding="utf-8"))
    entry = next((v for v in manifest["vocabularies"] if v["name"] == vocab), None)
    if entry is None:
        if vocab.endswith(".json"):
            return [("tokenizers", lambda: tokenizers_reference(vocab, vocab))]
        if vocab.endswith(".model"):
            return [("sentencepiece", lambda: sentencepiece_reference(vocab, vocab))]
        return []
    path = os.path.join(VOCABULARIES, entry["file"])
    refs = []
    if entry["format"] == "tiktoken" and entry.get("family") != "OpenAI":
        refs.append(("tiktoken", lambda: tiktoken_file_reference(vocab, entry, path)))
    elif entry["format"] == "tiktoken":
        refs += [("tiktoken", lambda: tiktoken_reference(vocab, entry)),
                 ("bpe-openai", lambda: bpe_openai_reference(vocab, entry))]
    elif entry["format"] == "tokenizer.json":
        refs.append(("tokenizers", lambda: tokenizers_reference(vocab, path, entry)))
    elif entry["format"] == "tekken":
        refs.append(("mistral-common", lambda: tekken_reference(vocab, entry, path)))
    elif entry["format"] == "gguf":
        refs.append(("llama.cpp", lambda: llamacpp_reference(vocab, entry, path)))
    elif entry["format"] == "sentencepiece":
        refs.append(("sentencepiece", lambda: sentencepiece_reference(vocab, path)))
    if vocab in SENTENCEPIECE_ORIGINALS:
        original = SENTENCEPIECE_ORIGINALS[vocab]
        refs.append(("sentencepiece", lambda: sentencepiece_reference(vocab, original)))
    # A pattern with line breaks is a sequence of regexes (deepseek-v3), not one findall. Kimi's own pattern
    # (reference_pattern) intersects classes with `&&`, which Python's regex reads only in its version 1.
    pattern = entry.get("reference_pattern") or entry.get("pattern", "")
    if "&&" in pattern:
        pattern = "(?V1)" + pattern
    if pattern and "\n" not in pattern:
        refs.append(("regex-pretokenizer", lambda: regex_ceiling(vocab, pattern)))
    return refs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="above 1: batch APIs over lines on N threads")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    global THREADS
    THREADS = args.threads

    texts = []
    for path in args.files:
        with open(path, "rb") as f:
            data = f.read()
        texts.append((path, len(data), data.decode("utf-8")))

    print("impl\tvocab\tfile\tbytes\ttokens\tmode\tmedian_MBps", flush=True)
    refs = references_for(args.vocab)
    if not refs:
        print(f"#error\t-\t{args.vocab}\tno reference tokenizer for this vocabulary", flush=True)
    for impl, build in refs:
        try:
            runners = build()
        except Exception as error:  # a missing library or a load failure costs only this reference's rows
            print(f"#error\t{impl}\t{args.vocab}\t{type(error).__name__}: {error}".replace("\n", " "), flush=True)
            continue
        # Files in the outer loop, modes inside: the modes of one file run back to back, as tokc-throughput's do.
        for path, size, text in texts:
            for name, mode, body in runners:
                try:
                    seconds, result = median_seconds(lambda: body(text), args.repeat)
                except Exception as error:
                    print(f"#error\t{name}\t{args.vocab}\t{path}: {type(error).__name__}: {error}", flush=True)
                    continue
                mbps = size / 1e6 / seconds
                print(f"{name}\t{args.vocab}\t{path}\t{size}\t{len(result)}\t{mode}\t{mbps:.3f}", flush=True)


if __name__ == "__main__":
    main()
