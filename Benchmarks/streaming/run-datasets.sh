#!/usr/bin/env bash
# Issue #29's throughput checks, in one run so the ratios compare like with like (same machine, same load):
#  1. --jsonl against plain text: a JSON Lines file whose records' "text" are the corpus lines, against the plain
#     text of the same field texts (the lines, one a line); median of RUNS alternating runs each.
#  2. three vocabularies in one read (--vocab a,b,c) against three runs, one per vocabulary, on the same file.
#  3. the same on the text gzipped (gzip -6), where one read also inflates once.
# Usage: Benchmarks/streaming/run-datasets.sh TOKC [WORKDIR] [RUNS]   (results-datasets.txt beside it)
set -euo pipefail
tokc=$1
work=${2:-/tmp/tokc-datasets}
runs=${3:-3}
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$work"
# ~72 MB of text: the corpus five times over; the field text is the same lines.
python3 - "$root/Corpus" "$work" <<'PY'
import json, sys
corpus, work = sys.argv[1], sys.argv[2]
lines = []
for language in ["en", "de", "fr", "ja", "zh"]:
    with open(f"{corpus}/{language}.txt", encoding="utf-8") as f:
        lines += [line for line in f.read().split("\n") if line]
lines *= 5
with open(f"{work}/fields.txt", "w", encoding="utf-8") as f:
    f.write("\n".join(lines) + "\n")
with open(f"{work}/records.jsonl", "w", encoding="utf-8") as f:
    for number, line in enumerate(lines):
        f.write(json.dumps({"id": number, "text": line, "source": "corpus"}, ensure_ascii=False) + "\n")
PY
# Each run's wall seconds and CPU seconds (user + system): on a machine others load, CPU time is the steadier
# measure of the work done; both medians are printed.
seconds() { /usr/bin/time -f "%e %U %S" -o "$work/t" "$@" > /dev/null; awk '{print $1, $2 + $3}' "$work/t"; }
median() { awk -v c="$1" '{print $c}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk "BEGIN {printf \"%.2f\", $1 / $2}"; }
echo "median of $runs alternating runs, wall and CPU (user + system) seconds; $(nproc) cores; fields.txt $(stat -c %s "$work/fields.txt") bytes, records.jsonl $(stat -c %s "$work/records.jsonl") bytes ($(wc -l < "$work/records.jsonl") records)"
"$tokc" count "$work/fields.txt" >/dev/null  # warm the page cache
for vocab in o200k_base llama3; do
    : > "$work/plain"; : > "$work/jsonl"
    for _ in $(seq "$runs"); do
        seconds "$tokc" count --vocab "$vocab" "$work/fields.txt" >> "$work/plain"
        seconds "$tokc" count --vocab "$vocab" --jsonl "$work/records.jsonl" >> "$work/jsonl"
    done
    for c in 1 2; do
        plain=$(median $c < "$work/plain"); jsonl=$(median $c < "$work/jsonl")
        echo "$vocab ($([ $c = 1 ] && echo wall || echo CPU)): plain text $plain s, --jsonl $jsonl s: --jsonl at $(awk "BEGIN {printf \"%.0f\", 100 * $plain / $jsonl}")% of plain-text speed"
    done
done
vocabs=(o200k_base llama3 cl100k_base)
: > "$work/one"; : > "$work/three"
for _ in $(seq "$runs"); do
    seconds "$tokc" count --vocab "$(IFS=,; echo "${vocabs[*]}")" "$work/fields.txt" >> "$work/one"
    for vocab in "${vocabs[@]}"; do seconds "$tokc" count --vocab "$vocab" "$work/fields.txt"; done | awk '{w += $1; c += $2} END {print w, c}' >> "$work/three"
done
for c in 1 2; do
    one=$(median $c < "$work/one"); three=$(median $c < "$work/three")
    echo "${vocabs[*]} ($([ $c = 1 ] && echo wall || echo CPU)): one read $one s, three runs $three s (three runs take $(ratio $three $one)x the one read)"
done
: > "$work/one"; : > "$work/three"

for _ in $(seq "$runs"); do
    seconds "$tokc" count --vocab "$(IFS=,; echo "${vocabs[*]}")" --jsonl "$work/records.jsonl" >> "$work/one"
    for vocab in "${vocabs[@]}"; do seconds "$tokc" count --vocab "$vocab" --jsonl "$work/records.jsonl"; done | awk '{w += $1; c += $2} END {print w, c}' >> "$work/three"
done
for c in 1 2; do
    one=$(median $c < "$work/one"); three=$(median $c < "$work/three")
    echo "${vocabs[*]} --jsonl ($([ $c = 1 ] && echo wall || echo CPU)): one read $one s, three runs $three s (three runs take $(ratio $three $one)x the one read)"
done
gzip -6 -c "$work/fields.txt" > "$work/fields.txt.gz"
: > "$work/one"; : > "$work/three"
for _ in $(seq "$runs"); do
    seconds "$tokc" count --vocab "$(IFS=,; echo "${vocabs[*]}")" "$work/fields.txt.gz" >> "$work/one"
    for vocab in "${vocabs[@]}"; do seconds "$tokc" count --vocab "$vocab" "$work/fields.txt.gz"; done | awk '{w += $1; c += $2} END {print w, c}' >> "$work/three"
done
for c in 1 2; do
    one=$(median $c < "$work/one"); three=$(median $c < "$work/three")
    echo "${vocabs[*]} gzip ($([ $c = 1 ] && echo wall || echo CPU)): one read $one s, three runs $three s (three runs take $(ratio $three $one)x the one read)"
done
