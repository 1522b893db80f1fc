#!/bin/sh
# Builds tokc in release mode and installs it with its vocabularies:
#   PREFIX/bin/tokc
#   PREFIX/share/tokc/Vocabularies/   (the installed tokc finds them from its own path)
# Usage: scripts/install.sh [PREFIX]    (default /usr/local)
set -e
PREFIX="${1:-/usr/local}"
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product tokc
BIN="$(swift build -c release --show-bin-path)"
install -d "$PREFIX/bin" "$PREFIX/share/tokc/Vocabularies"
install -m 755 "$BIN/tokc" "$PREFIX/bin/tokc"
install -m 644 Vocabularies/manifest.json Vocabularies/models.json Vocabularies/*.tiktoken Vocabularies/*.tokenizer.json "$PREFIX/share/tokc/Vocabularies/"
echo "installed $PREFIX/bin/tokc and $PREFIX/share/tokc/Vocabularies" >&2
