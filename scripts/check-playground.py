#!/usr/bin/env python3
"""Drives the playground `tokc serve --http` serves in a real browser (headless Chromium through chromedriver
and Selenium) and checks what it shows against the tokc CLI.

    scripts/check-playground.py --tokc PATH/tokc [--screenshot OUT.png]

Checks, each printed as a line:
  1. columns: the page opens with the vocabularies its URL names; Japanese, then English, then a word at the
     start, typed into it give in every column the count `tokc count --vocab V` gives for the same text, and
     every column shows the text whole (its view's text is the text box's); a vocabulary added shows its count,
     one removed goes away;
  2. hover: hovering token k of a column shows the id `tokc encode` gives at k (a few tokens per column, in
     Japanese and in ASCII);
  3. url: the state is in the URL: a fresh tab opened on it shows the same vocabularies, text and counts;
  4. network: every request the page made (Chromium's performance log: Network.requestWillBeSent) went to
     the daemon, and there were such requests (the log works).
With --screenshot, a PNG of the page. Timing is scripts/playground-latency.py's.
Exit status 0 when all hold, 1 otherwise, 2 when Chromium, chromedriver or Selenium is missing.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:
    print("selenium not importable (pip install selenium; .ci/run puts it in Benchmarks/.venv)", file=sys.stderr)
    sys.exit(2)

JAPANESE = "東京タワーは港区にある電波塔です。夜はライトアップされます。"
ENGLISH = " The tower's antenna was added in 1961, and it's 333 m tall!"
START = "Tokyo:\n"


def option(arguments, name, default=None):
    return arguments[arguments.index(name) + 1] if name in arguments else default


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Check:
    def __init__(self, tokc):
        self.tokc = tokc
        self.failures = []
        self.workdir = tempfile.mkdtemp(prefix="tokc-playground-")

    def fail(self, message):
        self.failures.append(message)
        print("FAIL: " + message)

    def cli(self, command, vocab, text):
        path = os.path.join(self.workdir, "text.txt")
        with open(path, "wb") as handle:
            handle.write(text.encode("utf-8"))
        extra = ["--json"] if command == "count" else []
        out = subprocess.run([self.tokc, command, "--vocab", vocab, *extra, path], capture_output=True, check=True).stdout
        if command == "count":
            return json.loads(out)["total"]
        return [int(x) for x in out.split()]


def wait_rendered(driver, timeout=60):
    """Until every update the page started has drawn every column."""
    WebDriverWait(driver, timeout).until(lambda d: d.execute_script(
        "const b = document.body.dataset; return b.pending && b.pending === b.rendered;"))


def columns(driver):
    return driver.execute_script(
        "return [...document.querySelectorAll('.column')].map(c => [c.dataset.vocab, c.querySelector('.count').textContent]);")


def check_counts(driver, check, label):
    text = driver.execute_script("return document.getElementById('text').value;")
    shown = columns(driver)
    wrong = []
    for vocab, count in shown:
        expected = check.cli("count", vocab, text)
        if count.replace(",", "") != str(expected):
            wrong.append(f"{vocab} shows {count}, tokc count says {expected}")
    views = driver.execute_script(
        "return [...document.querySelectorAll('.column')].map(c => [c.dataset.vocab, c.querySelector('.view').textContent]);")
    wrong += [f"{vocab}'s view shows {len(view)} characters that are not the text's {len(text)}" for vocab, view in views if view != text]
    if wrong:
        check.fail(f"{label}: " + "; ".join(wrong))
    return shown


def main():
    arguments = sys.argv[1:]
    tokc = option(arguments, "--tokc")
    screenshot = option(arguments, "--screenshot")
    if not tokc:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    chromium = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    chromedriver = shutil.which("chromedriver")
    if not chromium or not chromedriver:
        print("chromium and chromedriver are needed (apt-get install chromium chromium-driver)", file=sys.stderr)
        return 2
    check = Check(os.path.abspath(tokc))
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    daemon = subprocess.Popen([check.tokc, "serve", "--http", f"127.0.0.1:{port}", "--preload", "o200k_base", "llama3"],
                              stderr=subprocess.PIPE)
    driver = None
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or daemon.poll() is not None:
                    print("the daemon did not start: " + daemon.stderr.read().decode(errors="replace"), file=sys.stderr)
                    return 1
                time.sleep(0.1)

        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--disable-extensions", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--disable-default-apps", "--window-size=1400,1000",
                     # Nothing may leave the machine even if a request is made: every host name fails to resolve.
                     "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
            options.add_argument(flag)
        options.add_argument("--user-data-dir=" + os.path.join(check.workdir, "profile"))
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        driver = webdriver.Chrome(service=Service(chromedriver), options=options)
        driver.set_script_timeout(60)

        # 1. Columns: two from the URL, Japanese then English typed, one added, one removed.
        driver.get(origin + "/#v=o200k_base,llama3")
        WebDriverWait(driver, 60).until(lambda d: d.execute_script("return document.body.dataset.ready === '1';"))
        area = driver.find_element(By.ID, "text")
        area.send_keys(JAPANESE)
        wait_rendered(driver)
        first = check_counts(driver, check, "Japanese")
        area.send_keys(ENGLISH)
        wait_rendered(driver)
        check_counts(driver, check, "Japanese and English")
        area.send_keys(Keys.CONTROL, Keys.HOME)
        area.send_keys(START)
        wait_rendered(driver)
        check_counts(driver, check, "a word typed at the start")
        for name in ("bert-base-uncased", "gemma-4"):
            Select(driver.find_element(By.ID, "vocab-choice")).select_by_value(name)
            driver.find_element(By.ID, "add-vocab").click()
            wait_rendered(driver)
        driver.find_element(By.CSS_SELECTOR, ".column[data-vocab='llama3'] .remove").click()
        wait_rendered(driver)
        shown = check_counts(driver, check, "after adding and removing")
        names = [vocab for vocab, _ in shown]
        if names != ["o200k_base", "bert-base-uncased", "gemma-4"]:
            check.fail(f"columns after adding bert-base-uncased and gemma-4 and removing llama3: {names}")
        print(f"columns: {len(first)} then {len(shown)} columns, counts equal to tokc count's: "
              + ("yes" if not check.failures else "no") + " (" + ", ".join(f"{v} {c}" for v, c in shown) + ")")

        # 2. Hover: the tooltip's id is tokc encode's id at that position.
        text = driver.execute_script("return document.getElementById('text').value;")
        hovered = 0
        hover_failures = len(check.failures)
        for vocab in names:
            ids = check.cli("encode", vocab, text)
            spans = driver.find_elements(By.CSS_SELECTOR, f".column[data-vocab='{vocab}'] .view span[data-k]")
            if not spans:
                check.fail(f"hover: {vocab} shows no tokens")
                continue
            for span in (spans[0], spans[len(spans) // 3], spans[-1]):
                ActionChains(driver).move_to_element(span).perform()
                # A token's index: its block's first token's (data-base) plus its own in the block (data-k).
                index = driver.execute_script("return Number(arguments[0].parentElement.dataset.base) + Number(arguments[0].dataset.k);", span)
                WebDriverWait(driver, 10).until(lambda d: not d.find_element(By.ID, "tip").get_attribute("hidden"))
                shown_id = driver.find_element(By.ID, "tip").get_attribute("data-id")
                if shown_id != str(ids[index]):
                    check.fail(f"hover: {vocab} token {index} shows id {shown_id}, tokc encode has {ids[index]}")
                hovered += 1
        print(f"hover: {hovered} tokens hovered, ids equal to tokc encode's: " + ("yes" if len(check.failures) == hover_failures else "no"))

        # 3. URL: a new tab on the same URL shows the same thing.
        url = driver.current_url
        url_failures = len(check.failures)
        driver.switch_to.new_window("tab")
        driver.get(url)
        WebDriverWait(driver, 60).until(lambda d: d.execute_script("return document.body.dataset.ready === '1';"))
        wait_rendered(driver)
        again = columns(driver)
        if again != shown or driver.execute_script("return document.getElementById('text').value;") != text:
            check.fail(f"url: a new tab on {url[:80]}… shows {again}, not {shown}")
        print("url: the same columns, text and counts from the URL: " + ("yes" if len(check.failures) == url_failures else "no"))

        if screenshot:
            driver.get(origin + "/#v=o200k_base,llama3,qwen2.5,gemma-4&m=gpt-4o,claude-sonnet-4-5&s=" + option(arguments, "--screenshot-sample", "ja"))
            driver.refresh()
            WebDriverWait(driver, 60).until(lambda d: d.execute_script("return document.body.dataset.ready === '1';"))
            wait_rendered(driver)
            time.sleep(0.5)  # the costs arrive after the columns
            token = driver.find_element(By.CSS_SELECTOR, ".column[data-vocab='o200k_base'] .view span[data-k='7']")
            ActionChains(driver).move_to_element(token).perform()
            time.sleep(0.2)
            driver.save_screenshot(screenshot)

        # 4. Network: every request went to the daemon.
        requests = []
        for handle in driver.window_handles:
            driver.switch_to.window(handle)
            for entry in driver.get_log("performance"):
                message = json.loads(entry["message"])["message"]
                if message.get("method") == "Network.requestWillBeSent":
                    requests.append(message["params"]["request"]["url"])
        # The browser's own pages (a new tab's chrome://new-tab-page…) are not the page's requests and go nowhere.
        # data: URLs (Chromium's own blank images) are read from the URL itself and go nowhere either.
        requests = [u for u in requests if not u.startswith(("chrome://", "chrome-untrusted://", "devtools://", "data:"))]
        elsewhere = [u for u in requests if not u.startswith(origin + "/")]
        api = [u for u in requests if u.startswith(origin + "/v1/")]
        if elsewhere or not api:
            check.fail(f"network: {len(elsewhere)} requests elsewhere ({elsewhere[:3]}), {len(api)} to the API")
        print(f"network: {len(requests)} requests, {len(api)} of them to {origin}/v1/, {len(elsewhere)} anywhere else")
    finally:
        if driver is not None:
            driver.quit()
        daemon.terminate()
        daemon.wait(timeout=30)
        shutil.rmtree(check.workdir, ignore_errors=True)
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
