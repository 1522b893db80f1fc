"""The private virtualenv of reference tokenizers, Benchmarks/.venv, shared by scripts/bench-compare and
scripts/differential: pinned tiktoken, bpe-openai, tokenizers and sentencepiece. Standard library only."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "Benchmarks", ".venv")
VENV_PYTHON = os.path.join(VENV, "bin", "python")

# Pinned so that a figure means the same library from one run to the next; these versions are the ones the
# project's fixtures and manifest were made with. `regex` comes with tiktoken.
PINS = {"tiktoken": "0.14.0", "bpe-openai": "0.1.4", "tokenizers": "0.23.3", "sentencepiece": "0.2.3"}


def venv_versions():
    """Installed versions of the pinned distributions in the venv, {name: version or None}."""
    probe = (
        "import json, importlib.metadata as m\n"
        "def v(n):\n"
        "    try: return m.version(n)\n"
        "    except m.PackageNotFoundError: return None\n"
        f"print(json.dumps({{n: v(n) for n in {sorted(PINS)!r}}}))"
    )
    out = subprocess.run([VENV_PYTHON, "-c", probe], capture_output=True, text=True)
    if out.returncode != 0:
        return {name: None for name in PINS}
    return json.loads(out.stdout)


def ensure_venv(run, log):
    """Creates or reuses the venv; returns a list of problems (empty when every pin is there).

    `run(command, check=False)` runs a command with its output out of the caller's report; `log(message)` says
    what happens. pip runs only when a pin is missing, so later runs work offline. If installing fails (no
    network), the venv is recreated with --system-site-packages so that libraries installed system-wide at the
    pinned versions count, and then each missing pin is tried on its own: a library that still cannot be had
    only loses what needs it.
    """
    if not os.path.exists(VENV_PYTHON):
        run([sys.executable, "-m", "venv", VENV], check=True)
    missing = [n for n, v in venv_versions().items() if v != PINS[n]]
    if not missing:
        return []
    specs = [f"{n}=={PINS[n]}" for n in missing]
    if run([VENV_PYTHON, "-m", "pip", "install", "--disable-pip-version-check", "-q", *specs]).returncode == 0:
        return []
    log("pip install failed; retrying with --system-site-packages, one package at a time")
    run([sys.executable, "-m", "venv", "--clear", "--system-site-packages", VENV], check=True)
    problems = []
    for name in PINS:
        installed = venv_versions().get(name)
        if installed == PINS[name]:
            continue
        spec = f"{name}=={PINS[name]}"
        if run([VENV_PYTHON, "-m", "pip", "install", "--disable-pip-version-check", "-q", spec]).returncode != 0:
            problems.append(f"{spec} could not be installed (have {installed or 'none'})")
    return problems
