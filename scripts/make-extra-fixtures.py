#!/usr/bin/env python3
"""Extra parity fixtures for tokc's BPE vocabularies, made with the reference tiktoken.

The public fixtures (Tests/Fixtures/<vocab>.jsonl, copied from shared/reference/fixtures) cover 112 texts.
This script adds what they cannot hold: seeded random Unicode texts (every White_Space character, U+180E,
long-s and Kelvin sign against the case-insensitive contractions, marks, emoji sequences, CR/LF runs),
texts of a megabyte on one line (stored as a recipe plus the count and the sha256 of the ids), and ill-formed
UTF-8, whose expected ids follow tokc's documented rule: each well-formed stretch is encoded with
`encode_ordinary`, each maximal run of ill-formed bytes with `_encode_single_piece`.

Usage (offline; the vocabularies come from Vocabularies/):
    pip install tiktoken==0.14.0
    python3 scripts/make-extra-fixtures.py
Writes Tests/Fixtures/extra-o200k_base.jsonl and Tests/Fixtures/extra-cl100k_base.jsonl.
"""
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
URL = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"
VOCABS = ["o200k_base", "cl100k_base"]

cache = tempfile.mkdtemp(prefix="tokc-tiktoken-")
for name in VOCABS:
    shutil.copy(os.path.join(ROOT, "Vocabularies", name + ".tiktoken"),
                os.path.join(cache, hashlib.sha1(URL.format(name).encode()).hexdigest()))
os.environ["TIKTOKEN_CACHE_DIR"] = cache
import tiktoken  # noqa: E402  (after TIKTOKEN_CACHE_DIR is set)

WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0123456789",
    WHITE_SPACE + "\u180e\u200b",
    "'’\"!?.,;:-_/\\()[]{}<>@#$%^&*+=|~`",
    "ſKﬁéèêëüößÆæØœ",
    "e\u0301a\u0308o\u0303\u0323\u20dd",
    "日本語東京タワーはの電波塔です。中文你好世界한국어안녕",
    "ｶﾀｶﾅﾞﾟＡＢＣ１２３",
    "🍕🎉😀👍🏽👨\u200d👩\u200d👧🇯🇵\ufe0f",
    "مرحبانمستेสวัสดีПриветΑλφα",
    "\r\n",
    "<|endoftext|><|endofprompt|><|fim_prefix|>",
]


def random_text(rng):
    parts = []
    for _ in range(rng.randint(1, 40)):
        pool = rng.choice(POOLS)
        parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 6))))
        if rng.random() < 0.3:
            parts.append("'" + rng.choice(["s", "S", "ſ", "t", "re", "RE", "ve", "m", "ll", "LL", "d", "D"]))
    return "".join(parts)


def digest(ids):
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()


def encode_bytes(enc, data):
    """tokc's rule for arbitrary bytes (see the module docstring)."""
    text = data.decode("utf-8", "surrogateescape")
    ids, run, escaped = [], [], None
    def flush():
        if not run:
            return
        if escaped:
            ids.extend(enc._encode_single_piece(bytes(ord(c) - 0xDC00 for c in run)))
        else:
            ids.extend(enc.encode_ordinary("".join(run)))
        run.clear()
    for ch in text:
        is_escaped = 0xDC80 <= ord(ch) <= 0xDCFF
        if is_escaped != escaped:
            flush()
            escaped = is_escaped
        run.append(ch)
    flush()
    return ids


RECIPES = [
    ("one-line-1mb-letters", "supercalifragilistic", 52_429),
    ("one-line-1mb-prose", "The quick brown fox jumps over the lazy dog; 東京タワーは日本の電波塔です。 ", 12_000),
    ("one-line-1mb-spaces", " ", 1_000_000),
    ("one-line-100k-spaces", " ", 100_000),
    ("one-line-1mb-digits", "1234567890", 100_000),
    ("one-line-1mb-punctuation", "!?*", 333_334),
    ("one-line-kanji-run", "漢字", 50_000),
]

ILL_FORMED = [
    ("lone-ff", b"\xff"),
    ("ff-fe-between-words", b"abc\xff\xfe def"),
    ("truncated-3-byte", b"x\xe6\x9d  \xe6\x9d\x80y"),
    ("lone-continuations", b"\x80\x81\x82 hello \xbf"),
    ("overlong-slash", b"a\xc0\xaf b"),
    ("surrogate-encoded", b"\xed\xa0\x80 text \xed\xbf\xbf"),
    ("above-10ffff", b"\xf4\x90\x80\x80 and \xf5\x80"),
    ("truncated-at-end", b"end \xf0\x9f\x98"),
    ("invalid-in-whitespace", b"a  \xff  b\r\n\xfe\r\n"),
    ("latin1-text", "Grüße aus Köln, çà et là".encode("latin-1")),
    ("shift-jis-text", "東京タワーは日本の電波塔です".encode("shift_jis")),
    ("random-bytes", bytes(random.Random(7).randrange(256) for _ in range(4000))),
]


def main():
    for name in VOCABS:
        enc = tiktoken.get_encoding(name)
        rng = random.Random(20261123)
        out_path = os.path.join(ROOT, "Tests", "Fixtures", f"extra-{name}.jsonl")
        with open(out_path, "w", encoding="utf-8") as out:
            def write(record):
                out.write(json.dumps(record, ensure_ascii=True) + "\n")
            for index in range(400):
                text = random_text(rng)
                write({"id": f"random-{index}", "text": text, "ids": enc.encode_ordinary(text),
                       "ids_special_all": enc.encode(text, allowed_special="all")})
            for ident, unit, times in RECIPES:
                record = {"id": ident, "repeat": unit, "times": times}
                try:
                    ids = enc.encode_ordinary(unit * times)
                except BaseException as error:  # pyo3's PanicException derives from BaseException
                    if unit.strip():
                        raise
                    # tiktoken 0.14's regex engine overflows its stack on o200k's `\s+(?!\S)` over a megabyte
                    # of spaces. The pattern provably makes the whole text one piece (all white space, no
                    # CR/LF, ending at the end), so the reference ids are tiktoken's BPE of that one piece.
                    ids = enc._encode_single_piece((unit * times).encode())
                    record["note"] = (f"tiktoken encode_ordinary fails here ({type(error).__name__}: regex stack "
                                      "overflow); ids = _encode_single_piece of the text, which the pattern "
                                      "matches as one piece")
                record.update({"count": len(ids), "ids_sha256": digest(ids)})
                write(record)
            for ident, data in ILL_FORMED:
                write({"id": "ill-formed-" + ident, "bytes_hex": data.hex(), "ids": encode_bytes(enc, data)})
        print(f"wrote {out_path}", file=sys.stderr)


if __name__ == "__main__":
    main()
