#!/usr/bin/env python3
"""Keystroke-to-redraw latency of the playground (issue #30: "a keystroke updates every column within 50 ms for a
10 KB text"), in headless Chromium driven by Selenium, as a user typing at the end of a 10 KB text would see it.

    scripts/playground-latency.py --tokc PATH/tokc [--keys 100] [--bytes 10240] [--langs ja,en]
                                  [--vocab o200k_base,llama3,qwen2.5,gemma-4] [--where end,start] [--phases]
                                  [--one-line]

Starts `tokc serve --http` with the vocabularies preloaded, opens the page on them, and for each language puts the
first 10 KB of `Corpus/split/<lang>.heldout.txt` in the text box. Then, `--keys` times: a character is typed
(in turn one of the language's and ASCII letters) at the end of the text, or (`--where` start) after its first
line (with --one-line, whose text has its line feeds made spaces: one 10 KB paragraph, after its first 100
characters), the box's `input` event dispatched, and the page's clock
runs until every column has drawn this text (the page's `data-rendered` mark catches up with `data-pending`) and
the frame showing it is painted (a `requestAnimationFrame` callback, then a task it posts: that runs after the
paint). Prints p50, p99 and max per language, and the load average. Each keystroke waits for the one before to be
drawn.

With --phases, also where the time goes, from wrappers put around `fetch` and `Response.json` and a mutation
observer on the mark: input event to the first request sent, to the last answer's headers (daemon + network), to the last JSON parsed, to the
columns built (the mark), to the paint. Timing only: it checks nothing (scripts/check-playground.py does).
Needs chromium, chromedriver and Selenium (Benchmarks/.venv, as .ci/run installs it).
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Put into the page once: timestamps of each keystroke's steps, kept in window.__latency.
INSTRUMENT = """
if (!window.__latency) {
  const state = window.__latency = { asked: 0, headers: 0, parsed: 0, built: 0 };
  const fetch0 = window.fetch;
  window.fetch = async function (...args) {
    if (!state.asked) state.asked = performance.now();
    const response = await fetch0.apply(this, args);
    state.headers = performance.now();
    return response;
  };
  const json0 = Response.prototype.json;
  Response.prototype.json = async function () {
    const value = await json0.call(this);
    state.parsed = performance.now();
    return value;
  };
  new MutationObserver(() => { state.built = performance.now(); })
    .observe(document.body, { attributes: true, attributeFilter: ['data-rendered'] });
}
"""

# One keystroke at a time; resolves with [[total, asked, headers, parsed, built] per keystroke (ms after the event)].
TYPE = """
const [keys, letters, where, done] = [arguments[0], arguments[1], arguments[2], arguments[arguments.length - 1]];
const area = document.getElementById('text');
const state = window.__latency;
const body = document.body.dataset;
const painted = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
const drawn = () => new Promise((resolve) => {
  const poll = () => body.pending === body.rendered ? resolve() : setTimeout(poll, 0);
  poll();
});
(async () => {
  const times = [];
  for (let k = 0; k < keys; k++) {
    const line = area.value.indexOf('\\n');
    const at = where === 'end' ? area.value.length : (line >= 0 ? line + 1 : 100) + k;
    area.value = area.value.slice(0, at) + letters[k % letters.length] + area.value.slice(at);
    area.setSelectionRange(at + 1, at + 1);
    state.asked = state.headers = state.parsed = state.built = 0;
    const start = performance.now();
    area.dispatchEvent(new Event('input', { bubbles: true }));
    await drawn();
    await painted();
    const end = performance.now();
    const since = (t) => t ? t - start : 0;
    times.push([end - start, since(state.asked), since(state.headers), since(state.parsed), since(state.built)]);
  }
  done([times, new TextEncoder().encode(area.value).length]);
})();
"""


def option(arguments, name, default=None):
    return arguments[arguments.index(name) + 1] if name in arguments else default


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def text_of(language, size, one_line=False):
    with open(os.path.join(ROOT, "Corpus", "split", f"{language}.heldout.txt"), encoding="utf-8") as handle:
        text = handle.read(size)
    if one_line:
        text = text.replace("\n", " ")
    while len(text.encode()) > size:
        text = text[:-1]
    return text


def main():
    arguments = sys.argv[1:]
    tokc = option(arguments, "--tokc")
    if not tokc:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    keys = int(option(arguments, "--keys", "100"))
    size = int(option(arguments, "--bytes", "10240"))
    languages = option(arguments, "--langs", "ja,en").split(",")
    places = option(arguments, "--where", "end,start").split(",")
    vocabs = option(arguments, "--vocab", "o200k_base,llama3,qwen2.5,gemma-4").split(",")
    chromium = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    chromedriver = shutil.which("chromedriver")
    if not chromium or not chromedriver:
        print("chromium and chromedriver are needed (apt-get install chromium chromium-driver)", file=sys.stderr)
        return 2
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    origin = f"http://127.0.0.1:{port}"
    workdir = tempfile.mkdtemp(prefix="tokc-playground-latency-")
    daemon = subprocess.Popen([os.path.abspath(tokc), "serve", "--http", f"127.0.0.1:{port}", "--preload", *vocabs],
                              stderr=subprocess.DEVNULL)
    driver = None
    try:
        deadline = time.time() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or daemon.poll() is not None:
                    raise SystemExit("the daemon did not start")
                time.sleep(0.1)
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--disable-extensions", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--disable-default-apps", "--window-size=1400,1000",
                     "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                     "--user-data-dir=" + os.path.join(workdir, "profile")):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(chromedriver), options=options)
        driver.set_script_timeout(600)
        driver.get(origin + "/#v=" + ",".join(vocabs))
        WebDriverWait(driver, 60).until(lambda d: d.execute_script("return document.body.dataset.ready === '1';"))
        driver.execute_script(INSTRUMENT)
        print(f"playground keystroke to every column drawn and painted, {len(vocabs)} vocabularies ({', '.join(vocabs)}), "
              f"{keys} keystrokes, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}:")
        for language, where in [(language, where) for language in languages for where in places]:
            text = text_of(language, size, "--one-line" in arguments)
            driver.execute_script("const a = document.getElementById('text'); a.value = arguments[0];"
                                  "a.dispatchEvent(new Event('input', { bubbles: true }));", text)
            WebDriverWait(driver, 60).until(lambda d: d.execute_script(
                "const b = document.body.dataset; return b.pending && b.pending === b.rendered;"))
            letters = ("語あ" if language in ("ja", "zh") else "é") + "ax"
            # Five keystrokes first to warm the page's code and the connections; not counted.
            driver.execute_async_script(TYPE, 5, letters, where)
            times, final = driver.execute_async_script(TYPE, keys, letters, where)
            totals = [t[0] for t in times]
            ms = lambda v: f"{v:.1f} ms"
            print(f"  {language}, {final} bytes, typing at the {where}: p50 {ms(percentile(totals, 0.5))}, "
                  f"p99 {ms(percentile(totals, 0.99))}, max {ms(max(totals))}")
            if "--phases" in arguments:
                names = ["first request sent", "answers' headers", "JSON parsed", "columns built", "painted"]
                columns = [[t[i] for t in times] for i in range(1, 5)] + [totals]
                print("    p50 after the keystroke: " + ", ".join(
                    f"{name} {ms(percentile(values, 0.5))}" for name, values in zip(names, columns)))
        print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if driver is not None:
            driver.quit()
        daemon.terminate()
        daemon.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
