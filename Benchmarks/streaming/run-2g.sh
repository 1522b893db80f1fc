#!/usr/bin/env bash
# Issue #29's bounded-memory check: a ~2 GB text made from the corpus (Corpus/{en,de,fr,ja,zh}.txt repeated),
# counted by `tokc count` from the file, from a pipe, and gzipped, with peak RSS from /usr/bin/time -v; then the
# whole text counted at once on one thread by REFERENCE, a tokc from before streaming (126a737 or earlier: it
# reads the input whole, and with `--threads 1` never cuts it; for a vocabulary that streams only since e5b3150,
# such as mistral-v3 or deepseek-v3, any tokc before it, e.g. aadc1f2), for the exact total.
# Usage: Benchmarks/streaming/run-2g.sh TOKC REFERENCE [WORKDIR] [VOCAB]   (needs ~2.2 GB free in WORKDIR, ~6 GB of RAM
# for the whole-text reference). Too slow for CI (minutes); its results are in results-2g.txt beside it.
set -euo pipefail
tokc=$1
reference=$2
work=${3:-/tmp/tokc-2g}
vocab=${4:-o200k_base}
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$work"
big=$work/2g.txt
if [ ! -f "$big" ]; then
    cat "$root"/Corpus/{en,de,fr,ja,zh}.txt > "$work/unit.txt"
    python3 - "$work/unit.txt" "$big" <<'PY'
import sys
unit = open(sys.argv[1], "rb").read()
with open(sys.argv[2], "wb") as out:
    for _ in range((2 << 30) // len(unit) + 1):
        out.write(unit)
PY
fi
echo "input: $(stat -c %s "$big") bytes; $(nproc) cores; vocab $vocab"
measure() {  # label, command...
    local label=$1; shift
    /usr/bin/time -v -o "$work/time.txt" "$@" > "$work/out.txt"
    printf '%-28s %s tokens  peak RSS %s KB  %s s\n' "$label" "$(awk '{print $1; exit}' "$work/out.txt")" \
        "$(awk -F': ' '/Maximum resident/ {print $2}' "$work/time.txt")" \
        "$(awk -F': ' '/Elapsed/ {print $2}' "$work/time.txt")"
}
measure "vocabulary only (empty)" "$tokc" count --vocab "$vocab" /dev/null
measure "streamed, file" "$tokc" count --vocab "$vocab" "$big"
measure "streamed, pipe" bash -c "cat '$big' | '$tokc' count --vocab '$vocab' -"
measure "streamed, gzip pipe" bash -c "gzip -1 -c '$big' | '$tokc' count --vocab '$vocab' -"
measure "whole text, --threads 1" "$reference" count --vocab "$vocab" --threads 1 "$big"
