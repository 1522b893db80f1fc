#!/usr/bin/env python3
"""tokc's ungreedy scheme against tokc's byte-level BPE and sentencepiece's Unigram, trained side by side on
Corpus/split/*.train.txt at the same vocabulary sizes, measured on each language's held-out split.

- tokc ungreedy: `tokc train --scheme ungreedy` (defaults: capcode, 32-byte tokens), and the same with
  --no-capcode, to show what the capitalisation markers contribute;
- tokc BPE: `tokc train --scheme bpe` (o200k pre-tokenizer pattern, no normalisation; tokenizer.json);
- sentencepiece 0.2.3 Unigram: split_by_whitespace=false (pieces may span words, as ungreedy tokens do),
  byte_fallback, character_coverage 0.9995, its default nmt_nfkc normalisation, 2 threads.

Held-out tokens: tokc counts each held-out file whole (`tokc count`, line breaks included: they are bytes to
encode); sentencepiece encodes each line without its line break (it has no token for one), which favours it by
up to one token per line (6,789 lines in all). Also the greedy longest-match encoding of the ungreedy
vocabulary, to separate what the look-ahead gains from what the vocabulary gains, and encoding speed (wall
time of `tokc count` on Corpus/ja.txt and en.txt, 3 MB each, load included, best of 3).

Usage: scripts/compare-ungreedy.py [SIZES...]   (default 8000 32000; needs `pip install sentencepiece` and
`swift build -c release`). Prints Markdown tables.
"""
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LANGS = ["ja", "zh", "de", "fr", "en"]
TRAIN = [os.path.join(ROOT, "Corpus", "split", f"{l}.train.txt") for l in LANGS]
HELD = {l: os.path.join(ROOT, "Corpus", "split", f"{l}.heldout.txt") for l in LANGS}
TOKC = os.path.join(ROOT, ".build", "release", "tokc")

SP_TRAIN = r'''
import sys, time, resource
import sentencepiece as spm
size, prefix, data = int(sys.argv[1]), sys.argv[2], sys.argv[3]
start = time.perf_counter()
spm.SentencePieceTrainer.train(input=data, model_prefix=prefix, model_type="unigram", vocab_size=size,
    character_coverage=0.9995, byte_fallback=True, split_by_whitespace=False, num_threads=2,
    input_sentence_size=0, shuffle_input_sentence=False, minloglevel=2)
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
'''


def tokc_train(scheme, size, out, *extra):
    report = subprocess.run([TOKC, "train", "--scheme", scheme, "--vocab-size", str(size), "--out", out, *extra, *TRAIN],
                            check=True, capture_output=True, text=True).stdout
    return float(report.split("time ")[1].split(" s")[0]), int(report.split("peak memory ")[1].split(" MiB")[0])


def tokc_count(vocab, path):
    return int(subprocess.run([TOKC, "count", "--vocab", vocab, path], check=True, capture_output=True, text=True).stdout.split()[0])


def greedy_count(vocab_path, path):
    """The ungreedy vocabulary encoded longest match first (no look-ahead), on the same capcode-marked bytes
    (rebuilt from tokc's ids: the tokens' bytes before the markers are applied) and the same line pieces."""
    import json
    import re
    vocab = json.load(open(vocab_path, encoding="utf-8"))
    table = [bytes([b]) for b in range(256)] + [t.encode("utf-8") for t in vocab["tokens"]]
    tokens = set(table[256:])
    longest = max(len(t) for t in tokens)
    ids = subprocess.run([TOKC, "encode", "--vocab", vocab_path, path], check=True, capture_output=True, text=True).stdout.split()
    marked = b"".join(table[int(i)] for i in ids)
    count = 0
    for piece in re.findall(rb"[^\n]*\n*", marked):
        i = 0
        while i < len(piece):
            length = next(n for n in range(min(longest, len(piece) - i), 0, -1) if n == 1 or piece[i:i + n] in tokens)
            i += length
            count += 1
    return count


def speed(vocab, path):
    best = None
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([TOKC, "count", "--vocab", vocab, path], check=True, capture_output=True)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return os.path.getsize(path) / best / 1e6


def main():
    import sentencepiece as spm
    sizes = [int(s) for s in sys.argv[1:]] or [8000, 32000]
    folder = tempfile.mkdtemp()
    data = os.path.join(folder, "train.txt")
    with open(data, "wb") as out:
        for path in TRAIN:
            out.write(open(path, "rb").read())
    for size in sizes:
        ungreedy, nocap, bpe = (os.path.join(folder, f"{n}-{size}.json") for n in ("ungreedy", "nocap", "bpe"))
        times = {
            "tokc ungreedy": tokc_train("ungreedy", size, ungreedy),
            "tokc ungreedy --no-capcode": tokc_train("ungreedy", size, nocap, "--no-capcode"),
            "tokc BPE": tokc_train("bpe", size, bpe),
        }
        prefix = os.path.join(folder, f"sp-{size}")
        result = subprocess.run([sys.executable, "-c", SP_TRAIN, str(size), prefix, data], check=True, capture_output=True, text=True)
        times["sentencepiece unigram"] = (float(result.stdout.split()[0]), int(result.stdout.split()[1]))
        sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
        print(f"\n### vocabulary {size}\n")
        print("| trainer | time s | peak MiB |\n|---|---:|---:|")
        for name, (seconds, rss) in times.items():
            print(f"| {name} | {seconds:.1f} | {rss} |")
        print("\n| language | BPE | ungreedy | ÷ BPE | no capcode | ÷ BPE | greedy match | ÷ BPE | sentencepiece unigram | ÷ BPE |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        totals = [0, 0, 0, 0, 0]
        for lang in LANGS:
            b, u, n = tokc_count(bpe, HELD[lang]), tokc_count(ungreedy, HELD[lang]), tokc_count(nocap, HELD[lang])
            g = greedy_count(ungreedy, HELD[lang])
            s = sum(len(sp.encode(line)) for line in open(HELD[lang], encoding="utf-8").read().split("\n") if line)
            for i, v in enumerate((b, u, n, g, s)):
                totals[i] += v
            print(f"| {lang} | {b} | {u} | {u / b:.3f} | {n} | {n / b:.3f} | {g} | {g / b:.3f} | {s} | {s / b:.3f} |")
        b, u, n, g, s = totals
        print(f"| **total** | {b} | {u} | **{u / b:.3f}** | {n} | {n / b:.3f} | {g} | {g / b:.3f} | {s} | {s / b:.3f} |")
        print("\n| encoding MB/s (tokc count, load included) | BPE | ungreedy |\n|---|---:|---:|")
        for lang in ("ja", "en"):
            path = os.path.join(ROOT, "Corpus", f"{lang}.txt")
            print(f"| {lang}.txt | {speed(bpe, path):.1f} | {speed(ungreedy, path):.1f} |")


if __name__ == "__main__":
    main()
