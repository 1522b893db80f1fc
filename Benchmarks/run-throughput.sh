#!/usr/bin/env bash
# Builds tokc-throughput in release and runs it and tiktoken_throughput.py on the same files in one run,
# then prints a Markdown report on stdout (build output goes to stderr).
#
#   Benchmarks/run-throughput.sh [--vocab NAME] [--repeat N] [FILE...]
#
# Without files it uses ja.txt and en.txt from ../shared/corpus/out (relative to the repo root).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
vocab=o200k_base
repeat=5
while [ $# -gt 0 ]; do
    case "$1" in
        --vocab) vocab="$2"; shift 2 ;;
        --repeat) repeat="$2"; shift 2 ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        *) break ;;
    esac
done

if [ $# -gt 0 ]; then
    files=("$@")
else
    corpus="$root/../shared/corpus/out"
    if [ ! -d "$corpus" ]; then
        echo "run-throughput: skipped: no corpus at $corpus; pass files as arguments" >&2
        exit 0
    fi
    corpus="$(cd "$corpus" && pwd)"
    files=("$corpus/ja.txt" "$corpus/en.txt")
fi

build=(swift build -c release --package-path "$here" --scratch-path "$here/.build")
"${build[@]}" >&2
bin="$("${build[@]}" --show-bin-path)/tokc-throughput"

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
"$bin" --vocab "$vocab" --repeat "$repeat" "${files[@]}" > "$results/tokc.tsv"
python3 "$here/tiktoken_throughput.py" --vocab "$vocab" --repeat "$repeat" "${files[@]}" > "$results/tiktoken.tsv"

cpu="$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
echo "## Throughput: tokc vs tiktoken ($vocab, single thread, median of $repeat)"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "- machine: $(nproc) cores, ${cpu:-unknown CPU}"
echo "- tiktoken $(python3 -c 'import tiktoken; print(tiktoken.__version__)'), $(swift --version 2>/dev/null | head -1)"
echo

# Rows are keyed by file path; both tools print the paths they were given, so they match.
awk -F'\t' '
    /^#load_ms/ { load[$2] = $4; next }
    $1 == "impl" { next }
    {
        if (!($3 in seen)) { seen[$3] = 1; order[++n] = $3 }
        bytes[$3] = $4
        mbps[$1, $3, $6] = $7
        tokens[$1, $3] = $5
    }
    END {
        print "| file | bytes | tokc MB/s (encode) | tokc MB/s (count) | tiktoken MB/s (encode) | tokc/tiktoken (encode) | tokens (tokc / tiktoken) |"
        print "|---|---:|---:|---:|---:|---:|---|"
        for (i = 1; i <= n; i++) {
            f = order[i]
            name = f; sub(/.*\//, "", name)
            te = mbps["tokc", f, "encode"]; tc = mbps["tokc", f, "count"]; tt = mbps["tiktoken", f, "encode"]
            ratio = (tt > 0) ? sprintf("%.2fx", te / tt) : "n/a"
            a = tokens["tokc", f]; b = tokens["tiktoken", f]
            agree = (a == b) ? "agree (" a ")" : "**DIFFER** (" a " / " b ")"
            printf "| %s | %d | %.2f | %.2f | %.2f | %s | %s |\n", name, bytes[f], te, tc, tt, ratio, agree
        }
        printf "\nVocabulary load: tokc %.1f ms, tiktoken %.1f ms\n", load["tokc"], load["tiktoken"]
    }
' "$results/tokc.tsv" "$results/tiktoken.tsv"

echo
echo "Raw TSV:"
echo
echo '```'
cat "$results/tokc.tsv" "$results/tiktoken.tsv" | grep -v '^impl' || true
echo '```'
