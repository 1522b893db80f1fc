#!/usr/bin/env python3
"""The other tokenizers tokc is measured against ("peers"), for scripts/bench-compare's cold protocol. Runs inside
the peers' own virtualenv (Benchmarks/.venv-peers, binary wheels only; see bench-compare), never in the reference
venv CI uses, and is never imported by tokc or its tests.

    peer_throughput.py check --tool T --vocab V --work DIR LANG...
        load T for V, encode each DIR/LANG.target.txt once, write the ids to DIR/V.T.LANG.u32 (UInt32 little-endian)
        and print one JSON line per language: {"lang", "tokens", "seconds"} or {"lang", "error"}
    peer_throughput.py cold --tool T --vocab V --work DIR LANG
        a fresh process: load T (timed), encode DIR/LANG.warm.txt once (the warm-up, other text), then time ONE
        encode of DIR/LANG.target.txt; print {"load_ms", "seconds", "cpu_seconds", "tokens", "exact"}, exact comparing the ids
        with DIR/V.reference.LANG.u32 after the timing
    peer_throughput.py warm --tool T --vocab V --work DIR --repeat N LANG
        the same string over and over in one process (caches hot): one untimed encode, then the median of N
    peer_throughput.py locate --tool REF --vocab V --work DIR --other T --index I LANG
        where T's ids part from the reference's at token I: the text there and both sides' tokens, as REF
        (tiktoken or hf-tokenizers) spells them; prints {"text", "reference", "other"}

A tool that cannot run a vocabulary raises Unsupported with the reason; bench-compare prints the reason in the
cell. Each timed call is the tool's own encode API returning its ids (a list, or nanotoken's array); turning the
result into a list for the comparison happens after the clock stops. Threads: bench-compare pins each process to
one CPU (taskset) and sets FASTOKENS_BPE_THREADS=1, RAYON_NUM_THREADS=1 before the process starts.
"""

import argparse
import gc
import json
import os
import statistics
import sys
import time
from array import array

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VOCABULARIES = os.path.join(ROOT, "Vocabularies")
SHARED_VOCAB_MORE = os.path.join(ROOT, "..", "shared", "reference", "vocab-more")


class Unsupported(Exception):
    """The tool cannot run this vocabulary (no loader for its format, no bundled copy, ...)."""


def manifest_entry(vocab):
    with open(os.path.join(VOCABULARIES, "manifest.json"), encoding="utf-8") as f:
        for entry in json.load(f)["vocabularies"]:
            if entry["name"] == vocab:
                return entry
    raise Unsupported(f"{vocab} is not in Vocabularies/manifest.json")


def tiktoken_file(vocab):
    """The shipped .tiktoken file of an OpenAI vocabulary, or Unsupported."""
    if vocab not in ("o200k_base", "cl100k_base"):
        raise Unsupported(f"no .tiktoken file with a known encoding for {vocab}")
    return os.path.join(VOCABULARIES, vocab + ".tiktoken")


def tokenizer_json(vocab):
    """A plain tokenizer.json for the vocabulary: the shipped one, or for qwen2.5 (shipped as Qwen's .tiktoken
    with the tokenizer.json's pattern and NFC) the original tokenizer.json in ../shared/reference/vocab-more."""
    if vocab == "qwen2.5":
        path = os.path.join(SHARED_VOCAB_MORE, "qwen2.5.tokenizer.json")
        if not os.path.isfile(path):
            raise Unsupported(f"qwen2.5's tokenizer.json is not at {os.path.normpath(path)}")
        return path
    entry = manifest_entry(vocab)
    if entry.get("format") != "tokenizer.json" or entry["file"].endswith(".gz"):
        raise Unsupported(f"{vocab} ships no plain tokenizer.json")
    return os.path.join(VOCABULARIES, entry["file"])


# ---------------------------------------------------------------------------------------------------- loaders
# Each returns encode(text) -> ids. How each tool is pointed at a local file offline is worked out in
# ../shared/reference/peers/REPORT.md (section 2).


def load_tiktoken(vocab, work):
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    entry = manifest_entry(vocab)
    path = tiktoken_file(vocab)
    encoding = tiktoken.Encoding(vocab, pat_str=entry["pattern"], mergeable_ranks=load_tiktoken_bpe(path),
                                 special_tokens=entry.get("special_tokens", {}))
    return encoding.encode_ordinary


def load_hf_tokenizers(vocab, work):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(tokenizer_json(vocab))
    return lambda text: tokenizer.encode(text, add_special_tokens=False).ids


def load_fastokens(vocab, work):
    import fastokens

    if vocab in ("o200k_base", "cl100k_base"):
        # encoding= selects fastokens' own scanner for the pattern; the pattern string would take its generic
        # regex path (same ids, ~4x slower on cl100k en).
        tokenizer = fastokens.Tokenizer.from_tiktoken(tiktoken_file(vocab), encoding=vocab,
                                                      special_tokens=manifest_entry(vocab)["special_tokens"])
        return lambda text: tokenizer.encode_ordinary(text).ids
    tokenizer = fastokens.Tokenizer.from_file(tokenizer_json(vocab))
    return lambda text: tokenizer.encode(text, add_special_tokens=False).ids


def load_toktok(vocab, work):
    import toktok

    # Vocabularies are compiled into the module and no file can be loaded; the public API only counts, so the
    # ids come from the private encoding object.
    if vocab not in toktok._BUILTIN:
        raise Unsupported(f"bundled only ({', '.join(toktok._BUILTIN)}); cannot load a file")
    return toktok._encoding(vocab).encode_ordinary


def load_quicktok(vocab, work):
    import contextlib
    import io

    import quicktok

    if vocab in ("o200k_base", "cl100k_base"):
        return quicktok.get_encoding(vocab).encode  # bundled; byte-identical to an import of the same ranks
    # Other vocabularies: quicktok's importer (which checks itself against HF tokenizers) into a data folder kept
    # in the work folder across runs.
    data = os.path.join(work, "quicktok-data")
    name = vocab.replace(".", "_") + "_local"
    if not os.path.exists(os.path.join(data, name + ".vocab")):
        os.makedirs(data, exist_ok=True)
        with contextlib.redirect_stdout(io.StringIO()):
            quicktok.import_tokenizer(tokenizer_json(vocab), name, data_dir=data)
    return quicktok.get_encoding(name, data).encode


def load_splintr(vocab, work):
    import splintr

    if vocab in ("o200k_base", "cl100k_base"):
        # splintr rejects possessive quantifiers; its own pattern constants are the greedy equivalents.
        pattern = {"o200k_base": splintr.O200K_BASE_PATTERN, "cl100k_base": splintr.CL100K_BASE_PATTERN}[vocab]
        tokenizer = splintr.Tokenizer(tiktoken_file(vocab), pattern, manifest_entry(vocab)["special_tokens"])
        return tokenizer.encode_ordinary
    # encode_raw: the ids without the post-processor's template ([CLS] ... [SEP] for BERT), as HF's
    # add_special_tokens=False; encode_ordinary would keep the template.
    return splintr.from_json(tokenizer_json(vocab)).encode_raw


def load_kitoken(vocab, work):
    from kitoken import Kitoken

    if vocab in ("o200k_base", "cl100k_base"):
        return Kitoken.from_tiktoken_file(tiktoken_file(vocab)).encode
    return Kitoken.from_tokenizers_file(tokenizer_json(vocab)).encode


def load_nanotoken(vocab, work):
    import nanotoken

    if manifest_entry(vocab)["scheme"] != "wordpiece":
        raise Unsupported("WordPiece only")
    tokenizer = nanotoken.Tokenizer(tokenizer_json(vocab))
    return lambda text: tokenizer.encode(text, add_special_tokens=False)  # a numpy array


LOADERS = {
    "tiktoken": load_tiktoken,
    "hf-tokenizers": load_hf_tokenizers,
    "fastokens": load_fastokens,
    "toktok": load_toktok,
    "quicktok": load_quicktok,
    "splintr": load_splintr,
    "kitoken": load_kitoken,
    "nanotoken": load_nanotoken,
}


def as_list(result):
    if hasattr(result, "tolist"):
        return result.tolist()
    return list(result)


def read_text(work, lang, kind):
    with open(os.path.join(work, f"{lang}.{kind}.txt"), "rb") as f:
        return f.read().decode("utf-8")


def ids_path(work, vocab, tool, lang):
    return os.path.join(work, f"{vocab}.{tool}.{lang}.u32")


def write_ids(path, ids):
    with open(path, "wb") as f:
        array("I", ids).tofile(f)


def read_ids(path):
    ids = array("I")
    with open(path, "rb") as f:
        ids.frombytes(f.read())
    return ids


def prime_utf8(text):
    """Makes CPython build and keep the str's UTF-8 form before the clock starts. A Rust binding reading the str
    (PyO3 on the full API: PyUnicode_AsUTF8AndSize) would otherwise transcode the whole text inside the timed call,
    a cost tokc, handed UTF-8 bytes, does not pay (~1 ms for 1 MB of English, ~5 ms of Japanese, here). Any C
    function that parses its argument with the "s" format caches that form; inet_aton is one, and fails harmlessly.
    """
    import socket

    try:
        socket.inet_aton(text)
    except (OSError, ValueError):
        pass


def timed(encode, text):
    """(wall seconds, process CPU seconds, result) of one call."""
    gc.collect()
    gc.disable()
    cpu = time.process_time()
    start = time.perf_counter()
    result = encode(text)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    gc.enable()
    return seconds, cpu, result


def emit(record):
    print(json.dumps(record), flush=True)


def load(args):
    try:
        start = time.perf_counter()
        encode = LOADERS[args.tool](args.vocab, args.work)
        return encode, (time.perf_counter() - start) * 1000
    except Unsupported as e:
        emit({"unsupported": str(e)})
    except Exception as e:  # a load failure is a finding, reported in the cell
        emit({"error": f"load failed: {type(e).__name__}: {str(e)[:300]}"})
    sys.exit(0)


def byte_level_alphabet():
    """Byte-level BPE's spelling of bytes as characters, inverted: {character: byte}. Printable Latin-1 bytes stand
    for themselves; the other 68 bytes, in order, take the characters from U+0100 on."""
    printable = [b for b in range(256) if 0x21 <= b <= 0x7E or 0xA1 <= b <= 0xAC or 0xAE <= b <= 0xFF]
    others = [b for b in range(256) if b not in printable]
    alphabet = {chr(b): b for b in printable}
    alphabet.update({chr(0x100 + n): b for n, b in enumerate(others)})
    return alphabet


def locate(args):
    """The text where another tool's ids part from the reference's, and the tokens on both sides."""
    want = list(read_ids(ids_path(args.work, args.vocab, "reference", args.langs[0])))
    got = list(read_ids(ids_path(args.work, args.vocab, args.other, args.langs[0])))
    i = args.index
    target = read_text(args.work, args.langs[0], "target")
    if args.tool == "tiktoken":
        import tiktoken
        from tiktoken.load import load_tiktoken_bpe

        entry = manifest_entry(args.vocab)
        enc = tiktoken.Encoding(args.vocab, pat_str=entry["pattern"],
                                mergeable_ranks=load_tiktoken_bpe(tiktoken_file(args.vocab)), special_tokens={})
        start = len(enc.decode_bytes(want[:i]))
        text = target.encode("utf-8")[max(0, start - 24):start + 48].decode("utf-8", "replace")

        def spell(ids):
            return [enc.decode_single_token_bytes(t).decode("utf-8", "backslashreplace") for t in ids]
    else:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(tokenizer_json(args.vocab))
        start = tokenizer.encode(target, add_special_tokens=False).offsets[i][0]
        text = target[max(0, start - 12):start + 24]

        byte_of = byte_level_alphabet()

        def spell(ids):
            tokens = [tokenizer.id_to_token(t) or f"<{t}>" for t in ids]
            if manifest_entry(args.vocab)["scheme"] == "wordpiece" or not all(c in byte_of for t in tokens for c in t):
                return tokens
            return [bytes(byte_of[c] for c in t).decode("utf-8", "backslashreplace") for t in tokens]
    emit({"text": text, "reference": spell(want[i:i + 4]), "other": spell(got[i:i + 4])})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["check", "cold", "warm", "locate"])
    parser.add_argument("--tool", required=True, choices=sorted(LOADERS))
    parser.add_argument("--vocab", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--other", help="locate: the tool whose ids differ")
    parser.add_argument("--index", type=int, help="locate: the first token that differs")
    parser.add_argument("langs", nargs="+")
    args = parser.parse_args()
    if args.command == "locate":
        return locate(args)
    encode, load_ms = load(args)

    if args.command == "check":
        for lang in args.langs:
            text = read_text(args.work, lang, "target")
            try:
                seconds, _, result = timed(encode, text)
                ids = as_list(result)
            except Exception as e:
                emit({"lang": lang, "error": f"encode failed: {type(e).__name__}: {str(e)[:300]}"})
                continue
            write_ids(ids_path(args.work, args.vocab, args.tool, lang), ids)
            emit({"lang": lang, "tokens": len(ids), "seconds": seconds, "load_ms": load_ms})
        return

    lang = args.langs[0]
    target = read_text(args.work, lang, "target")
    prime_utf8(target)
    if args.command == "cold":
        encode(read_text(args.work, lang, "warm"))
        seconds, cpu, result = timed(encode, target)
        runs, cpus = [seconds], [cpu]
    else:
        result = encode(target)
        timings = [timed(encode, target) for _ in range(args.repeat)]
        runs, cpus = [t[0] for t in timings], [t[1] for t in timings]
    ids = as_list(result)
    reference = ids_path(args.work, args.vocab, "reference", lang)
    exact = array("I", ids) == read_ids(reference) if os.path.exists(reference) else None
    emit({"lang": lang, "load_ms": load_ms, "seconds": statistics.median(runs), "cpu_seconds": statistics.median(cpus),
          "tokens": len(ids), "exact": exact})


if __name__ == "__main__":
    main()
