#!/usr/bin/env python3
"""tokc train --scheme wordpiece against Hugging Face tokenizers' WordPieceTrainer, side by side, on
Corpus/split/*.train.txt.

For each vocabulary size, three trainings on the same training files, each in its own process (on all five
languages with an alphabet limit of 1000; then on Japanese alone, with that limit and with none):
- tokc: BERT uncased pipeline (BertNormalizer, BertPreTokenizer), min frequency 2, the alphabet limit, the
  five BERT special tokens, `##`; written as tokenizer.json;
- tokc with ICU word breaking (`--pretokenizer icu-words`, BERT's CJK-character split off); written as vocab.txt;
- Hugging Face: the same pipeline and WordPieceTrainer settings.
Reports wall time (median of three, interleaved) and peak memory (max RSS of the training process), then for each language's held-out text:
tokens per word and the share of tokens that are [UNK]. Words are BERT's words (BertNormalizer + BertPreTokenizer
of Hugging Face), the same count for every column. Finally loads tokc's tokenizer.json in `tokenizers` and checks
that it gives tokc's ids on every held-out line.

Usage: scripts/compare-wordpiece-training.py [SIZES...]   (default 8000; needs `pip install tokenizers` and
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
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

HF_TRAIN = r'''
import sys, time, resource
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, decoders, trainers
size, out, limit, files = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4:]
start = time.perf_counter()
tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
tok.normalizer = normalizers.BertNormalizer(lowercase=True)
tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
tok.decoder = decoders.WordPiece()
limits = {"limit_alphabet": limit} if limit else {}
trainer = trainers.WordPieceTrainer(vocab_size=size, min_frequency=2, show_progress=False,
                                    special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
                                    continuing_subword_prefix="##", **limits)
tok.train(files, trainer)
tok.save(out)
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
'''


def held_out_lines(lang):
    return open(HELD[lang], encoding="utf-8").read().split("\n")[:-1]


def bert_words(lines):
    from tokenizers import normalizers, pre_tokenizers
    normalizer, pre = normalizers.BertNormalizer(lowercase=True), pre_tokenizers.BertPreTokenizer()
    return sum(len(pre.pre_tokenize_str(normalizer.normalize_str(l))) for l in lines)


def tokc_ids(vocab, lines, *extra):
    text = "".join(json.dumps({"text": l}, ensure_ascii=False) + "\n" for l in lines)
    out = subprocess.run([TOKC, "encode", "--vocab", vocab, *extra, "--jsonl", "-"], input=text.encode(), capture_output=True, check=True)
    return [json.loads(l)["ids"] for l in out.stdout.decode().split("\n") if l]


def tokc_train(size, out, files, *extra):
    report = subprocess.run([TOKC, "train", "--scheme", "wordpiece", "--vocab-size", str(size), "--out", out, *extra, *files],
                            check=True, capture_output=True, text=True).stdout
    # tokc reports its own time (reading, training, writing the file: what the Hugging Face script times, not
    # the held-out measurement that follows) and peak (getrusage of its process).
    return float(report.split("time ")[1].split(" s")[0]), int(report.split("peak memory ")[1].split(" MiB")[0])


def rates(id_lists, unknown, words):
    tokens = sum(len(ids) for ids in id_lists)
    unknowns = sum(ids.count(unknown) for ids in id_lists)
    return tokens / words, 100 * unknowns / max(1, tokens)


def compare(size, folder, languages, limit):
    """Trains the three on the training files of `languages`, prints the tables; returns differing lines."""
    from tokenizers import Tokenizer
    files = [TRAIN[LANGS.index(l)] for l in languages]
    tag = f"{size}-{'-'.join(languages)}-{limit}"
    tokc_json = os.path.join(folder, f"tokc-{tag}.json")
    tokc_icu = os.path.join(folder, f"tokc-icu-{tag}.txt")
    hf_json = os.path.join(folder, f"hf-{tag}.json")
    alphabet = ["--alphabet-limit", str(limit)]
    # Three rounds, interleaved so that a noisy minute hurts each about the same; the median time of each.
    runs = {"tokc": [], "hf": [], "icu": []}
    for _ in range(3):
        runs["tokc"].append(tokc_train(size, tokc_json, files, *alphabet))
        result = subprocess.run([sys.executable, "-c", HF_TRAIN, str(size), hf_json, str(limit), *files], check=True, capture_output=True, text=True)
        runs["hf"].append((float(result.stdout.split()[0]), int(result.stdout.split()[1])))
        runs["icu"].append(tokc_train(size, tokc_icu, files, *alphabet, "--pretokenizer", "icu-words"))
    (tokc_time, tokc_rss), (hf_time, hf_rss), (icu_time, icu_rss) = (sorted(runs[k])[1] for k in ("tokc", "hf", "icu"))
    print(f"\n### vocabulary {size}, trained on {', '.join(languages)}, alphabet limit {limit or 'none'}\n")
    print("| trainer | time s | peak MiB |")
    print("|---|---:|---:|")
    print(f"| tokc | {tokc_time:.2f} | {tokc_rss} |")
    print(f"| Hugging Face WordPieceTrainer | {hf_time:.2f} | {hf_rss} |")
    print(f"| tokc, ICU word breaking | {icu_time:.2f} | {icu_rss} |")

    hf_tok, tokc_tok = Tokenizer.from_file(hf_json), Tokenizer.from_file(tokc_json)
    hf_unknown = hf_tok.token_to_id("[UNK]")
    mismatches = 0
    print("\n| held-out | words | tokc tokens/word | HF tokens/word | tokc+ICU tokens/word | tokc [UNK] % | HF [UNK] % | tokc+ICU [UNK] % | lines, tokc ids = tokenizers ids |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for lang in languages:
        lines = held_out_lines(lang)
        words = bert_words(lines)
        ours = tokc_ids(tokc_json, lines)
        icu = tokc_ids(tokc_icu, lines, "--pretokenizer", "icu-words")
        theirs = [e.ids for e in hf_tok.encode_batch(lines, add_special_tokens=False)]
        same = 0
        for line, mine in zip(lines, ours):
            if tokc_tok.encode(line, add_special_tokens=False).ids == mine:
                same += 1
            else:
                mismatches += 1
                if mismatches <= 3:
                    print(f"differs ({lang}, {tag}): {line[:80]!r}", file=sys.stderr)
        t_rate, t_unk = rates(ours, SPECIALS.index("[UNK]"), words)
        h_rate, h_unk = rates(theirs, hf_unknown, words)
        i_rate, i_unk = rates(icu, SPECIALS.index("[UNK]"), words)
        print(f"| {lang} | {words} | {t_rate:.3f} | {h_rate:.3f} | {i_rate:.3f} | {t_unk:.3f} | {h_unk:.3f} | {i_unk:.3f} | {same} of {len(lines)} |")
    return mismatches


def main():
    sizes = [int(s) for s in sys.argv[1:]] or [8000]
    folder = tempfile.mkdtemp()
    mismatches = 0
    for size in sizes:
        # The five languages together, as BERT's tooling would train (alphabet limit 1000); then Japanese alone,
        # with BERT's split and with ICU words, with that limit and with every character kept.
        mismatches += compare(size, folder, LANGS, 1000)
        mismatches += compare(size, folder, ["ja"], 1000)
        mismatches += compare(size, folder, ["ja"], 0)
    print(f"\nheld-out lines where tokenizers' ids differ from tokc's: {mismatches}")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
