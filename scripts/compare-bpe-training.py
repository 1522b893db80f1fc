#!/usr/bin/env python3
"""tokc train against Hugging Face tokenizers' BpeTrainer, side by side, on Corpus/split/*.train.txt.

For each vocabulary size: both trainers get the same five training files, the same pre-tokenizer (the o200k
Split regex, then ByteLevel without its own regex) and min_frequency 2. Reports each one's wall time, peak
memory (max RSS of its own process) and held-out bytes/token; then loads tokc's tokenizer.json in
`tokenizers` and checks that it gives tokc's ids on every held-out line of every language.

Usage: scripts/compare-bpe-training.py [SIZES...]   (default 8000 32000; needs `pip install tokenizers`)
Prints a Markdown table; exits 1 if any held-out line differs.
"""
import json
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
O200K = ("[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
         "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
         "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")

HF_TRAIN = r'''
import sys, time, resource
from tokenizers import Tokenizer, Regex, models, pre_tokenizers, decoders, trainers
size, out, pattern, files = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
start = time.perf_counter()
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.Sequence([
    pre_tokenizers.Split(Regex(pattern), behavior="isolated"),
    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(vocab_size=size, min_frequency=2, show_progress=False,
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
tok.train(files, trainer)
tok.save(out)
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
'''


def held_out_bytes_per_token(tokenizer):
    total_bytes = total_tokens = 0
    for path in HELD.values():
        lines = open(path, encoding="utf-8").read().split("\n")[:-1]
        total_bytes += sum(len(l.encode()) + 1 for l in lines)
        total_tokens += sum(len(e.ids) for e in tokenizer.encode_batch(lines, add_special_tokens=False))
        total_tokens += len(lines)  # the newline each line ends with: one token each in both vocabularies
    return total_bytes / total_tokens


def tokc_ids(path, lines):
    text = "".join(json.dumps({"text": l}, ensure_ascii=False) + "\n" for l in lines)
    out = subprocess.run([TOKC, "encode", "--vocab", path, "--jsonl", "-"], input=text.encode(), capture_output=True, check=True)
    return [json.loads(l)["ids"] for l in out.stdout.decode().split("\n") if l]


def main():
    from tokenizers import Tokenizer
    sizes = [int(s) for s in sys.argv[1:]] or [8000, 32000]
    folder = tempfile.mkdtemp()
    rows = []
    mismatches = 0
    for size in sizes:
        tokc_out = os.path.join(folder, f"tokc-{size}.json")
        start = time.perf_counter()
        report = subprocess.run([TOKC, "train", "--vocab-size", str(size), "--out", tokc_out, *TRAIN], check=True, capture_output=True, text=True).stdout
        tokc_time = time.perf_counter() - start
        # tokc reports its own peak (getrusage of its process); RUSAGE_CHILDREN here would mix in other children.
        tokc_rss = int(report.split("peak memory ")[1].split(" MiB")[0])
        hf_out = os.path.join(folder, f"hf-{size}.json")
        result = subprocess.run([sys.executable, "-c", HF_TRAIN, str(size), hf_out, O200K, *TRAIN], check=True, capture_output=True, text=True)
        hf_time, hf_rss = result.stdout.split()
        tokc_tok, hf_tok = Tokenizer.from_file(tokc_out), Tokenizer.from_file(hf_out)
        checked = 0
        before = mismatches
        for lang, path in HELD.items():
            lines = open(path, encoding="utf-8").read().split("\n")[:-1]
            ours = tokc_ids(tokc_out, lines)
            for line, mine in zip(lines, ours):
                checked += 1
                if tokc_tok.encode(line, add_special_tokens=False).ids != mine:
                    mismatches += 1
                    if mismatches <= 3:
                        print(f"differs ({lang}, {size}): {line[:80]!r}", file=sys.stderr)
        rows.append((size, tokc_time, tokc_rss, float(hf_time), int(hf_rss),
                     held_out_bytes_per_token(tokc_tok), held_out_bytes_per_token(hf_tok), checked, checked - (mismatches - before)))
    print("| vocab | tokc train s | tokc peak MiB | HF train s | HF peak MiB | held-out bytes/token tokc | HF | ratio | held-out lines, tokc ids = tokenizers ids |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, tt, tr, ht, hr, tb, hb, checked, same in rows:
        print(f"| {size} | {tt:.2f} | {tr} | {ht:.2f} | {hr} | {tb:.3f} | {hb:.3f} | {tb / hb:.4f} | {same} of {checked} |")
    print(f"\nheld-out lines where tokenizers' ids differ from tokc's: {mismatches}")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
