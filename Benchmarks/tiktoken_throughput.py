#!/usr/bin/env python3
"""Single-threaded tiktoken throughput over whole files: the counterpart of tokc-throughput.

Runs offline: the vocabulary files shipped in ../Vocabularies are copied into a temporary
TIKTOKEN_CACHE_DIR under the names tiktoken derives from their download URLs, and tiktoken
checks their sha256 as usual.

Output: a `#load_ms` line, then TSV rows impl, vocab, file, bytes, tokens, mode, median_MBps.
"""

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VOCABULARIES = ("o200k_base", "cl100k_base", "r50k_base", "p50k_base")  # o200k_harmony reads o200k_base's file
URL = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"


def offline_cache(directory):
    for name in VOCABULARIES:
        key = hashlib.sha1(URL.format(name).encode()).hexdigest()
        shutil.copyfile(os.path.join(REPO_ROOT, "Vocabularies", name + ".tiktoken"), os.path.join(directory, key))
    os.environ["TIKTOKEN_CACHE_DIR"] = directory


def median_seconds(body, repeats):
    """Median wall time of `repeats` timed calls after one untimed warm-up; returns (seconds, warm-up result).

    Every call's result must equal the warm-up's, so a repeat that does less work shows (RuntimeError).
    """
    expected = body()
    times = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        result = body()
        times.append((time.perf_counter_ns() - start) / 1e9)
        if result != expected:
            raise RuntimeError("results differ between repeats")
    return statistics.median(times), expected


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", default="o200k_base", choices=VOCABULARIES)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tiktoken-cache-") as cache:
        offline_cache(cache)
        import tiktoken

        start = time.perf_counter_ns()
        enc = tiktoken.get_encoding(args.vocab)
        load_ms = (time.perf_counter_ns() - start) / 1e6
    print(f"#load_ms\ttiktoken\t{args.vocab}\t{load_ms:.3f}")

    print("impl\tvocab\tfile\tbytes\ttokens\tmode\tmedian_MBps")
    for path in args.files:
        with open(path, "rb") as f:
            data = f.read()
        text = data.decode("utf-8")
        seconds, ids = median_seconds(lambda: enc.encode_ordinary(text), args.repeat)
        mbps = len(data) / 1e6 / seconds
        print(f"tiktoken\t{args.vocab}\t{path}\t{len(data)}\t{len(ids)}\tencode\t{mbps:.3f}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as error:
        sys.exit(f"tiktoken_throughput: {error}")
