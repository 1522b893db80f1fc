#!/usr/bin/env bash
# Builds `tokc` and tokc-load in release, starts `tokc serve` on a fresh socket in a temporary folder, runs
# tokc-load against it (1, 8 and 64 connections; small and batch workloads, and small paced at 5000 requests/s
# in all) for each corpus file, stops the
# daemon, and prints a Markdown report on stdout (build output and progress go to stderr).
#
#   Benchmarks/run-load.sh [--connections LIST] [--requests N] [--max-seconds S] [--rate R] [FILE...]
#
# Without files it uses ja.txt and en.txt from ../shared/corpus/out (relative to the repo root).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
vocab=o200k_base
load_args=()
rate=5000
while [ $# -gt 0 ]; do
    case "$1" in
        --connections|--requests|--max-seconds) load_args+=("$1" "$2"); shift 2 ;;
        --rate) rate="$2"; shift 2 ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) break ;;
    esac
done

if [ $# -gt 0 ]; then
    files=("$@")
else
    corpus="$root/../shared/corpus/out"
    if [ ! -d "$corpus" ]; then
        echo "run-load: skipped: no corpus at $corpus; pass files as arguments" >&2
        exit 0
    fi
    corpus="$(cd "$corpus" && pwd)"
    files=("$corpus/ja.txt")
    [ -f "$corpus/en.txt" ] && files+=("$corpus/en.txt")
fi

# The root's own scratch path would contend for the build lock with whoever builds in .build; this one is
# only the daemon's (ignored by git like every .build*/).
(cd "$root" && swift build -c release --product tokc --scratch-path "$root/.build-load") >&2
tokc="$(cd "$root" && swift build -c release --product tokc --scratch-path "$root/.build-load" --show-bin-path)/tokc"
build=(swift build -c release --package-path "$here" --scratch-path "$here/.build" --product tokc-load)
"${build[@]}" >&2
load="$("${build[@]}" --show-bin-path)/tokc-load"

work="$(mktemp -d)"
socket="$work/tokc.sock"
daemon=""
stop_daemon() {
    if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then
        kill -TERM "$daemon" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$daemon" 2>/dev/null; then
            echo "run-load: the daemon did not stop within 5 s of SIGTERM; killing it" >&2
            kill -KILL "$daemon" 2>/dev/null || true
        fi
        wait "$daemon" 2>/dev/null || true
    fi
    daemon=""
}
trap 'stop_daemon; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

"$tokc" serve --socket "$socket" --preload "$vocab" 2> "$work/serve.log" &
daemon=$!
for _ in $(seq 300); do
    "$load" --socket "$socket" --check && break
    if ! kill -0 "$daemon" 2>/dev/null; then
        echo "run-load: the daemon exited before answering; its log:" >&2
        cat "$work/serve.log" >&2
        exit 1
    fi
    sleep 0.1
done
"$load" --socket "$socket" --check || { echo "run-load: the daemon does not answer on $socket after 30 s" >&2; exit 1; }

cpu="$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
rev="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
[ -n "$(git -C "$root" status --porcelain -- Sources Package.swift 2>/dev/null)" ] && rev="$rev + uncommitted changes"
echo "## Daemon load: tokc serve ($vocab)"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "- machine: $(nproc) cores, ${cpu:-unknown CPU}; client and daemon share them"
echo "- $(swift --version 2>/dev/null | head -1); tokc at $rev"
echo "- daemon: \`tokc serve --socket $socket --preload $vocab\` (default threads: one per core)"
echo "- client: \`tokc-load ${load_args[*]:-(default options)}\`, one blocking thread per connection, one request in flight per connection"
echo

# The 1-minute load average and the compilers running beside us: on a shared 2-core machine another build
# halves what both the client and the daemon get, and the table cannot show that by itself.
machine_load() {
    local compilers
    compilers="$(pgrep -c -x swift-frontend 2>/dev/null || true)"
    echo "loadavg $(cut -d' ' -f1 /proc/loadavg), ${compilers:-0} swift-frontend running"
}

status=0
for file in "${files[@]}"; do
    if ! kill -0 "$daemon" 2>/dev/null; then
        echo "run-load: the daemon is gone before $file; its log:" >&2
        tail -50 "$work/serve.log" >&2
        status=1
        break
    fi
    before="$(machine_load)"
    "$load" --socket "$socket" --corpus "$file" --vocab "$vocab" --rate "$rate" "${load_args[@]}" || status=$?
    echo
    echo "Machine load before / after this corpus: $before / $(machine_load)"
    echo
done

if kill -0 "$daemon" 2>/dev/null; then
    echo "Daemon peak RSS: $(awk '/^VmHWM/ { printf "%.0f MB", $2 / 1024 }' "/proc/$daemon/status")"
else
    echo "**The daemon is no longer running.** Last lines of its log:"
    echo
    echo '```'
    tail -20 "$work/serve.log"
    echo '```'
    status=1
fi
stop_daemon
warnings="$(grep -v -E ' (info|debug|trace) ' "$work/serve.log" || true)"
if [ -n "$warnings" ]; then
    echo
    echo "Daemon log lines above info level:"
    echo
    echo '```'
    echo "$warnings" | tail -20
    echo '```'
fi
exit "$status"
