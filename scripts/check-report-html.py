#!/usr/bin/env python3
"""Renders a `tokc compare` HTML report in headless Chromium and checks it.

    scripts/check-report-html.py REPORT.html [--screenshot OUT.png] [--height PIXELS]

Checks, each printed as a line:
  1. the page renders: Chromium's DOM after load has the inline SVG charts, the sortable tables, and the
     attribute the report's own script sets once it has run (so the script ran, not only the markup);
  2. the page made no network request: Chromium's net log (--log-net-log) of the load lists every URL request,
     each with its initiator; the page's own carry its origin, Chromium's background ones "not an origin";
  3. the net-log check can fail: the same page with its Content-Security-Policy removed and an external image
     added is loaded the same way, and its request must show up in that log.
Exit status 0 when all hold, 1 otherwise, 2 when Chromium is missing (apt-get install chromium).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run_chromium(binary, url, workdir, extra):
    """Runs headless Chromium on url with a net log; returns (stdout, the page's requests, the browser's own)."""
    netlog = os.path.join(workdir, "netlog-%d.json" % len(os.listdir(workdir)))
    arguments = [
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
        "--disable-extensions", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-default-apps", "--no-default-browser-check", "--metrics-recording-only",
        "--user-data-dir=" + os.path.join(workdir, "profile"),
        # Nothing may leave the machine even if a request is made: every host fails to resolve.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--log-net-log=" + netlog, "--net-log-capture-mode=Everything",
    ] + extra + [url]
    result = subprocess.run(arguments, capture_output=True, timeout=120)
    with open(netlog, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    # Chromium may end the log without closing it; the events array is what matters.
    try:
        log = json.loads(text)
    except json.JSONDecodeError:
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    # Requests the page made carry its origin as initiator (a file: page's is "null"); Chromium's own
    # background requests (component updates, network time) carry "not an origin".
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    page, browser = [], []
    for event in log.get("events", []):
        params = event.get("params") or {}
        if event.get("type") != start_job or not isinstance(params.get("url"), str):
            continue
        (browser if params.get("initiator") == "not an origin" else page).append(params["url"])
    return result.stdout.decode("utf-8", "replace"), page, browser


def main():
    arguments = sys.argv[1:]
    if not arguments or arguments[0].startswith("-"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    report = os.path.abspath(arguments[0])
    screenshot = None
    height = 2400
    if "--screenshot" in arguments:
        screenshot = os.path.abspath(arguments[arguments.index("--screenshot") + 1])
    if "--height" in arguments:
        height = int(arguments[arguments.index("--height") + 1])
    binary = chromium_binary()
    if binary is None:
        print("chromium not found (apt-get install chromium)", file=sys.stderr)
        return 2

    failures = []
    with tempfile.TemporaryDirectory(prefix="tokc-report-check-") as workdir:
        url = "file://" + report
        dom, requests, own = run_chromium(binary, url, workdir, ["--dump-dom", "--virtual-time-budget=5000"])
        charts = len(re.findall(r'<svg class="chart"', dom))
        tables = len(re.findall(r'<table class="sortable"', dom))
        ran = 'data-sortable="ready"' in dom
        ok = charts > 0 and tables > 0 and ran
        print("renders: %d SVG charts, %d sortable tables, script ran: %s%s" % (charts, tables, "yes" if ran else "no", "" if ok else "  FAIL"))
        if not ok:
            failures.append("render")

        print("network: the page made %d requests%s (Chromium's own background requests, not the page's: %d)" % (
            len(requests), "" if not requests else "  FAIL: " + ", ".join(requests[:5]), len(own)))
        if requests:
            failures.append("network")

        # The control: without the policy and with an external image, the log must show the request.
        with open(report, encoding="utf-8") as handle:
            page = handle.read()
        control = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page, count=1)
        control = control.replace("</body>", '<img src="http://tokc-check.invalid/probe.png" alt=""></body>', 1)
        control_path = os.path.join(workdir, "control.html")
        with open(control_path, "w", encoding="utf-8") as handle:
            handle.write(control)
        _, control_requests, _ = run_chromium(binary, "file://" + control_path, workdir, ["--dump-dom", "--virtual-time-budget=5000"])
        caught = any("tokc-check.invalid" in u for u in control_requests)
        print("control: the same page without its policy, with an external image: request %s%s" % ("seen in the net log" if caught else "NOT seen", "" if caught else "  FAIL"))
        if not caught:
            failures.append("control")

        if screenshot:
            subprocess.run([
                binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--user-data-dir=" + os.path.join(workdir, "profile-shot"), "--host-resolver-rules=MAP * ~NOTFOUND",
                "--window-size=1280,%d" % height, "--screenshot=" + screenshot, url,
            ], capture_output=True, timeout=120)
            exists = os.path.exists(screenshot) and os.path.getsize(screenshot) > 0
            print("screenshot: %s%s" % (screenshot, "" if exists else "  FAIL: not written"))
            if not exists:
                failures.append("screenshot")

    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
