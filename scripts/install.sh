#!/bin/sh
# Builds tokc in release mode and installs it with its vocabularies:
#   PREFIX/bin/tokc
#   PREFIX/share/tokc/Vocabularies/   (the installed tokc finds them from its own path)
#   PREFIX/share/tokc/Corpus/         (held-out split and parallel sentences, for tokc compare)
# Usage: scripts/install.sh [PREFIX]    (default /usr/local)
set -e
PREFIX="${1:-/usr/local}"
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product tokc
BIN="$(swift build -c release --show-bin-path)"
install -d "$PREFIX/bin" "$PREFIX/share/tokc/Vocabularies" "$PREFIX/share/tokc/Corpus/split"
install -m 755 "$BIN/tokc" "$PREFIX/bin/tokc"
install -m 644 Vocabularies/* "$PREFIX/share/tokc/Vocabularies/"
install -m 644 Corpus/README.md Corpus/parallel.tsv "$PREFIX/share/tokc/Corpus/"
install -m 644 Corpus/split/* "$PREFIX/share/tokc/Corpus/split/"
echo "installed $PREFIX/bin/tokc, $PREFIX/share/tokc/Vocabularies and $PREFIX/share/tokc/Corpus" >&2
