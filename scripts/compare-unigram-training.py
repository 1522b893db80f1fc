#!/usr/bin/env python3
"""tokc train --scheme unigram against sentencepiece's Unigram trainer, side by side, on Corpus/split/*.train.txt.

For each vocabulary size, both train on the same five files (in one input for sentencepiece, as tokc reads them)
with nmt_nfkc, character coverage 0.9995, byte fallback, 2 threads, each in its own process: wall time as each
reports it (tokc: reading + training + writing; sentencepiece: its train call) and peak memory (max RSS of the
process). Then, per language, the held-out tokens of each model (in sentencepiece), and a check that
sentencepiece, loading tokc's .model, gives tokc's ids on every held-out line.

Usage: scripts/compare-unigram-training.py [SIZES...]   (default 8000; needs `pip install sentencepiece` and
`swift build -c release`). Prints Markdown tables; exits 1 if any held-out line differs.
"""
import json
import os
import subprocess
import sys
import tempfile

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
    character_coverage=0.9995, normalization_rule_name="nmt_nfkc", byte_fallback=True, num_threads=2,
    input_sentence_size=0, shuffle_input_sentence=False, minloglevel=2)
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
'''


def main():
    import sentencepiece as spm
    sizes = [int(s) for s in sys.argv[1:]] or [8000]
    folder = tempfile.mkdtemp()
    data = os.path.join(folder, "train.txt")
    with open(data, "wb") as out:
        for path in TRAIN:
            out.write(open(path, "rb").read())
    mismatches = 0
    for size in sizes:
        ours_path = os.path.join(folder, f"tokc-{size}.model")
        report = subprocess.run([TOKC, "train", "--scheme", "unigram", "--vocab-size", str(size), "--out", ours_path, *TRAIN],
                                check=True, capture_output=True, text=True).stdout
        tokc_time = float(report.split("time ")[1].split(" s")[0])
        tokc_rss = int(report.split("peak memory ")[1].split(" MiB")[0])
        prefix = os.path.join(folder, f"sp-{size}")
        result = subprocess.run([sys.executable, "-c", SP_TRAIN, str(size), prefix, data], check=True, capture_output=True, text=True)
        sp_time, sp_rss = float(result.stdout.split()[0]), int(result.stdout.split()[1])
        ours, theirs = spm.SentencePieceProcessor(model_file=ours_path), spm.SentencePieceProcessor(model_file=prefix + ".model")
        print(f"\n### vocabulary {size}\n")
        print("| trainer | time s | peak MiB |")
        print("|---|---:|---:|")
        print(f"| tokc | {tokc_time:.2f} | {tokc_rss} |")
        print(f"| sentencepiece | {sp_time:.2f} | {sp_rss} |")
        print("\n| held-out | bytes | tokc tokens | sentencepiece tokens | tokc / sentencepiece | lines, sentencepiece on tokc's model = tokc |")
        print("|---|---:|---:|---:|---:|---:|")
        for lang in LANGS:
            lines = open(HELD[lang], encoding="utf-8").read().split("\n")[:-1]
            text = "".join(json.dumps({"text": l}, ensure_ascii=False) + "\n" for l in lines)
            out = subprocess.run([TOKC, "encode", "--vocab", ours_path, "--jsonl", "-"], input=text.encode(), capture_output=True, check=True)
            tokc_ids = [json.loads(l)["ids"] for l in out.stdout.decode().split("\n") if l]
            same = sum(1 for line, mine in zip(lines, tokc_ids) if ours.encode(line) == mine)
            mismatches += len(lines) - same
            a, b = sum(len(i) for i in tokc_ids), sum(len(i) for i in theirs.encode(lines))
            size_bytes = sum(len(l.encode()) for l in lines)
            print(f"| {lang} | {size_bytes} | {a} | {b} | {a / b:.4f} | {same} of {len(lines)} |")
    print(f"\nheld-out lines where sentencepiece's ids on tokc's model differ from tokc's: {mismatches}")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
