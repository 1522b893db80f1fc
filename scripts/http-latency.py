#!/usr/bin/env python3
"""Latency of `encode` with offsets over HTTP: what the playground asks on every keystroke.

    scripts/http-latency.py --tokc PATH/tokc [--rounds 300] [--bytes 10240] [--vocab o200k_base,llama3,qwen2.5,gemma-4]
                            [--arrays] [--lang ja]

Starts `tokc serve --http`, then for each round sends one `POST /v1/encode` with `"offsets": true` per vocabulary
at once (one keep-alive connection each, as a browser would), on a 10 KB text (the Japanese sample of
Corpus/split/ja.heldout.txt, one character changed per round so nothing is cached), and records each request's
time and the round's (the slowest of its requests). Prints p50, p99 and max of both. Standard library only.
Bodies are sent as a browser's JSON.stringify writes them: UTF-8, not \\u escapes.
With --arrays, the spans are asked as `"offset_arrays": true` (the playground's form) instead of `"offsets": true`;
--lang takes the text from another language's held-out file.
"""
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def option(arguments, name, default):
    return arguments[arguments.index(name) + 1] if name in arguments else default


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def main():
    arguments = sys.argv[1:]
    tokc = option(arguments, "--tokc", None)
    if not tokc:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    rounds = int(option(arguments, "--rounds", "300"))
    size = int(option(arguments, "--bytes", "10240"))
    vocabs = option(arguments, "--vocab", "o200k_base,llama3,qwen2.5,gemma-4").split(",")
    form = "offset_arrays" if "--arrays" in arguments else "offsets"
    language = option(arguments, "--lang", "ja")
    with open(os.path.join(ROOT, "Corpus", "split", f"{language}.heldout.txt"), encoding="utf-8") as handle:
        source = handle.read(size)
    while len(source.encode()) > size:
        source = source[:-1]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    daemon = subprocess.Popen([tokc, "serve", "--http", f"127.0.0.1:{port}", "--preload", *vocabs], stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("the daemon did not start")
                time.sleep(0.1)
        connections = [http.client.HTTPConnection("127.0.0.1", port) for _ in vocabs]
        headers = {"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{port}"}

        def ask(index, text, times):
            body = json.dumps({"texts": [text], "vocab": vocabs[index], form: True}, ensure_ascii=False).encode()
            started = time.perf_counter()
            connections[index].request("POST", "/v1/encode", body=body, headers=headers)
            response = connections[index].getresponse()
            answer = json.loads(response.read())
            times[index] = time.perf_counter() - started
            spans = answer.get(form, [None])[0]
            if response.status != 200 or len(spans if form == "offsets" else spans["start"]) != len(answer["ids"][0]):
                raise SystemExit(f"{vocabs[index]}: {response.status} {str(answer)[:200]}")

        requests, round_times = [], []
        for number in range(rounds + 5):
            text = source[:-1] + "あいうえお"[number % 5]
            times = [0.0] * len(vocabs)
            started = time.perf_counter()
            threads = [threading.Thread(target=ask, args=(i, text, times)) for i in range(len(vocabs))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if number >= 5:  # the first rounds warm the connections and caches
                round_times.append(time.perf_counter() - started)
                requests.extend(times)
        ms = lambda s: f"{1000 * s:.2f} ms"
        print(f"encode with {form}, {len(text.encode())} bytes ({language}), {len(vocabs)} vocabularies ({', '.join(vocabs)}) at once, "
              f"{rounds} rounds over HTTP keep-alive:")
        print(f"  per request: p50 {ms(percentile(requests, 0.5))}, p99 {ms(percentile(requests, 0.99))}, max {ms(max(requests))}")
        print(f"  per round (all {len(vocabs)} answered): p50 {ms(percentile(round_times, 0.5))}, p99 {ms(percentile(round_times, 0.99))}, max {ms(max(round_times))}")
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
