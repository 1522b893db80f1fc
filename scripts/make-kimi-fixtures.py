#!/usr/bin/env python3
"""Parity fixtures for the shipped kimi-k2 vocabulary, made the way Moonshot's tokenization_kimi.py encodes: tiktoken
on Kimi's tiktoken.model with Kimi's own split pattern (Rust regex, class intersection `&&` and all, not tokc's
PCRE2 spelling of it) and its 256 + 2 special tokens from id 163584. In the layout of the tiktoken fixtures
(Tests/Fixtures/o200k_harmony.jsonl): the same 112 public texts, then texts where Kimi's pattern differs from o200k's
(Han runs cut out of letter runs, CJK punctuation, Han-script marks and radicals, ideographs of Unicode 15.0-16.0)
and texts spelling its special tokens.

What tokenization_kimi.py does before tiktoken is replayed here, not skipped: it cuts the text into 400,000-character
chunks and cuts any run of more than 25,000 whitespace or non-whitespace characters (Python's str.isspace) into
pieces of at most 25,000, then encodes each piece on its own. No text here has such a run, so the cuts change no id;
tokc does not make them (see the manifest), which is why none is included.

Usage (offline once tiktoken 0.14.0 is installed, e.g. Benchmarks/.venv/bin/python):
    python3 scripts/make-kimi-fixtures.py > Tests/Fixtures/kimi-k2.jsonl
"""
import base64
import gzip
import hashlib
import json
import os

import tiktoken

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VOCABULARY = os.path.join(ROOT, "Vocabularies", "kimi-k2.tiktoken.gz")
SHA256 = "b6c497a7469b33ced9c38afb1ad6e47f03f5e5dc05f15930799210ec050c5103"
TEXTS = os.path.join(ROOT, "Tests", "Fixtures", "o200k_harmony.jsonl")

# TikTokenTokenizer.pat_str of tokenization_kimi.py (Kimi K2 to K3), as tiktoken's Rust regex reads it.
PATTERN = "|".join([
    r"[\p{Han}]+",
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+"
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*"
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    r"\p{N}{1,3}",
    r" ?[^\s\p{L}\p{N}]+[\r\n]*",
    r"\s*[\r\n]+",
    r"\s+(?!\S)",
    r"\s+",
])

# The names the K2.x tokenizer_config.json (added_tokens_decoder) gives; every other id from 163584 to 163841 is
# <|reserved_token_ID|>, as the tokenizer class names it.
NAMED = {
    163584: "[BOS]", 163585: "[EOS]", 163586: "<|im_end|>", 163587: "<|im_user|>", 163588: "<|im_assistant|>",
    163590: "<|start_header_id|>", 163591: "<|end_header_id|>", 163593: "[EOT]", 163594: "<|im_system|>",
    163595: "<|tool_calls_section_begin|>", 163596: "<|tool_calls_section_end|>", 163597: "<|tool_call_begin|>",
    163598: "<|tool_call_argument_begin|>", 163599: "<|tool_call_end|>", 163601: "<|im_middle|>",
    163602: "<|media_begin|>", 163603: "<|media_content|>", 163604: "<|media_end|>", 163605: "<|media_pad|>",
    163606: "<think>", 163607: "</think>", 163838: "[UNK]", 163839: "[PAD]",
}

MAX_CHUNK = 400_000
MAX_RUN = 25_000

EXTRA_TEXTS = [
    ("kimi-han-kana", "東京タワーは日本の電波塔です。高さは333メートル、1958年に完成しました。"),
    ("kimi-han-latin", "中文English混合ABC中文def，Kimi的K2模型和GPT-4o的o200k不同。"),
    ("kimi-han-contractions", "中's 文'LL it's 漢字'd Ｋｉｍｉ's"),
    ("kimi-cjk-punctuation", "「你好」、『世界』。【注意】〔括弧〕・中黒…‥〜"),
    ("kimi-han-marks", "々〆〇〻 人々 時々 ⺀⺁⼀⼁⿕ 中\u0301 字\u3099"),
    ("kimi-han-astral", "𠀀𠀁𪜀𫝀𫠝𬺰𮯠 𰀀𰀁 \U0002B739 \U0002EBF0\U0002EBF1 \U00031350\U00031351 \U000323B0 x\U00031350y"),
    ("kimi-vietnamese-marks", "\U00016FF0\U00016FF1 中\U00016FF0 a\U00016FF1b"),
    ("kimi-korean-hanja", "韓國語한국어 大韓民國대한민국 漢字한자"),
    ("kimi-halfwidth-fullwidth", "ｶﾀｶﾅｶﾞｷﾞ ＡＢＣａｂｃ１２３ 半角ｶﾅと全角カナ"),
    ("kimi-han-kana-long", "漢か" * 2500),
    ("kimi-whitespace", "中\u3000文  \r\n\r\n\t 日本\u00a0語 \n\n\n  終"),
    ("kimi-emoji-han", "👩\u200d👩\u200d👧中文👍🏽日本🇯🇵 e\u0301中"),
]

SPECIAL_TEXTS = [
    ("kimi-special-chat", "<|im_system|>system<|im_middle|>You are Kimi.<|im_end|><|im_user|>user<|im_middle|>你好<|im_end|>"
                          "<|im_assistant|>assistant<|im_middle|>"),
    ("kimi-special-thinking", "<think>先想一想</think>[EOS]<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0"
                              "<|tool_call_argument_begin|>{}<|tool_call_end|><|tool_calls_section_end|>"),
    ("kimi-special-reserved", "[BOS]<|reserved_token_163589|><|reserved_token_163841|><|media_pad|>[PAD][UNK]"),
    ("kimi-special-partial", "<|im_end|<|im_user|>[EOS<|reserved_token_163842|><think"),
]


def load_ranks():
    with gzip.open(VOCABULARY, "rb") as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest() != SHA256:
        raise SystemExit(f"make-kimi-fixtures: {VOCABULARY} does not hold Kimi's tiktoken.model (sha256 {SHA256})")
    ranks = {}
    for line in data.splitlines():
        token, rank = line.split()
        ranks[base64.b64decode(token)] = int(rank)
    return ranks


def pieces(text):
    """The pieces tokenization_kimi.py hands to tiktoken: 400,000-character chunks, each cut where a run of
    whitespace or of non-whitespace would pass 25,000 characters."""
    for start in range(0, len(text), MAX_CHUNK):
        chunk = text[start:start + MAX_CHUNK]
        if not chunk:
            continue
        run, in_space, cut = 0, chunk[0].isspace(), 0
        for index, char in enumerate(chunk):
            space = char.isspace()
            if space != in_space:
                run, in_space = 1, space
                continue
            run += 1
            if run > MAX_RUN:
                yield chunk[cut:index]
                cut, run = index, 1
        yield chunk[cut:]


def main():
    ranks = load_ranks()
    specials = {NAMED.get(i, f"<|reserved_token_{i}|>"): i for i in range(len(ranks), len(ranks) + 258)}
    encoding = tiktoken.Encoding("kimi-k2", pat_str=PATTERN, mergeable_ranks=ranks, special_tokens=specials)
    note = (f"tiktoken {tiktoken.__version__}, as Moonshot's tokenization_kimi.py (TikTokenTokenizer) encodes: Kimi's "
            "tiktoken.model, its pat_str (Rust regex) and 258 special tokens from 163584; the text cut into pieces as "
            "the class cuts it (none here is cut); ids = encode(piece, allowed_special=set(), disallowed_special=()) "
            "(special-token text encoded as ordinary text, the class's allow_special_tokens=False); ids_special_all "
            "= encode(piece, allowed_special='all') (the class's default); decoded = decode(ids)")
    records = [(r["id"], r["text"]) for r in map(json.loads, open(TEXTS, encoding="utf-8"))]
    for identifier, text in records + EXTRA_TEXTS + SPECIAL_TEXTS:
        ids, ids_special = [], []
        for piece in pieces(text):
            ids += encoding.encode(piece, allowed_special=set(), disallowed_special=())
            ids_special += encoding.encode(piece, allowed_special="all")
        print(json.dumps({
            "vocab": "kimi-k2", "id": identifier, "text": text, "ids": ids, "decoded": encoding.decode(ids),
            "ids_special_all": ids_special, "note": note,
        }, ensure_ascii=False))


if __name__ == "__main__":
    main()
