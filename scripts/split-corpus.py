#!/usr/bin/env python3
"""Splits each language of Corpus/ into train and held-out parts, deterministically.

A line (a paragraph; lines are unique within a language file) is held out when the FNV-1a 64-bit hash of
its UTF-8 bytes, without the newline, is 0 modulo 10; every other line is for training. The rule depends
only on the line itself, not on its position, so a rebuilt corpus that gains or loses lines keeps every
other line on the same side. Both parts keep the order of the original file.

Usage: scripts/split-corpus.py [CORPUS_DIR]   (default: Corpus next to this script's folder)
Writes CORPUS_DIR/split/<lang>.train.txt and CORPUS_DIR/split/<lang>.heldout.txt.
"""
import os
import sys

LANGUAGES = ["ja", "zh", "de", "fr", "en"]
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3


def fnv1a64(data: bytes) -> int:
    h = FNV_OFFSET
    for byte in data:
        h = ((h ^ byte) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(here), "Corpus")
    os.makedirs(os.path.join(corpus, "split"), exist_ok=True)
    for language in LANGUAGES:
        with open(os.path.join(corpus, f"{language}.txt"), "rb") as source:
            lines = source.read().split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        train, heldout = [], []
        for line in lines:
            (heldout if fnv1a64(line) % 10 == 0 else train).append(line)
        for part, chosen in (("train", train), ("heldout", heldout)):
            with open(os.path.join(corpus, "split", f"{language}.{part}.txt"), "wb") as out:
                out.write(b"".join(line + b"\n" for line in chosen))
        size = sum(len(l) + 1 for l in heldout)
        print(f"{language}: {len(train)} train lines, {len(heldout)} held-out lines ({size} bytes)")


if __name__ == "__main__":
    main()
