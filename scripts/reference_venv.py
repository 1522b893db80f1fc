"""The private virtualenv of reference tokenizers, Benchmarks/.venv, shared by .ci/run, the tests,
scripts/bench-compare and scripts/differential: the versions pinned in scripts/reference-requirements.txt.
Standard library only.

    python3 scripts/reference_venv.py     makes or completes the venv and prints its python's path; exit 1,
                                          naming each pin that could not be had, when any is missing

llama.cpp's binding (the reference for GGUF files) needs glibc 2.38; on an older one `ensure_llamacpp` runs
../shared/reference/llamacpp-shim/setup.sh once, and its subprocesses get `llamacpp_environment()`.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "Benchmarks", ".venv")
VENV_PYTHON = os.path.join(VENV, "bin", "python")

REQUIREMENTS = os.path.join(ROOT, "scripts", "reference-requirements.txt")


def read_pins(path=REQUIREMENTS):
    """{name: version} from the requirements file: one `name==version` a line, `#` comments."""
    pins = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, sep, version = line.partition("==")
            if not sep or not name.strip() or not version.strip():
                raise ValueError(f"{path}:{number}: expected `name==version`, found {line!r}")
            pins[name.strip()] = version.strip()
    return pins


# Pinned so that a figure, or a parity test, means the same library from one run to the next.
PINS = read_pins()


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


def main():
    def run(command, check=False):
        return subprocess.run(command, check=check, stdout=subprocess.DEVNULL, stderr=sys.stderr)

    def log(message):
        print(f"reference_venv: {message}", file=sys.stderr)

    problems = ensure_venv(run, log)
    for problem in problems:
        log(problem)
    if problems:
        return 1
    print(VENV_PYTHON)
    return 0


if __name__ == "__main__":
    sys.exit(main())


SHIM = os.path.join(ROOT, "..", "shared", "reference", "llamacpp-shim", "setup.sh")
SHIM_LIBRARY = os.path.join(VENV, "libisoc23.so")


def llamacpp_environment():
    """The environment a process that loads llama.cpp's binding runs in: the shim preloaded where it was built."""
    env = dict(os.environ)
    if os.path.exists(SHIM_LIBRARY):
        env["LD_PRELOAD"] = SHIM_LIBRARY
    return env


def llamacpp_loads():
    probe = "from llama_cpp_py_sync._cffi_bindings import get_lib; get_lib()"
    return subprocess.run([VENV_PYTHON, "-c", probe], capture_output=True, env=llamacpp_environment()).returncode == 0


def ensure_llamacpp(run, log):
    """None when llama.cpp's binding loads in the venv (patching it with the shim first if it must), else why not."""
    if llamacpp_loads():
        return None
    if not os.path.exists(SHIM):
        return f"llama.cpp's binding does not load here (glibc < 2.38?) and the shim {SHIM} is absent"
    log("llama.cpp's binding does not load as installed; patching it with " + SHIM)
    run(["sh", SHIM, VENV])
    return None if llamacpp_loads() else "llama.cpp's binding does not load even after the shim"
