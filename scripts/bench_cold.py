"""scripts/bench-compare's cold protocol: tokc against the fastest other tokenizers ("peers") on text none of them has
seen, each encode in a fresh process on one CPU. Standard library only; the peers run inside their own virtualenv
(Benchmarks/.venv-peers) through Benchmarks/peer_throughput.py, tokc through tokc-throughput --cold.

Per vocabulary x language:
1. the texts: the target is the first 1 MB of Corpus/<lang>.txt (cut back to a line end), the warm-up the last
   ~100 KB of the same file (from a line start): other text, in the same language;
2. ids checked before any timing: the reference (tiktoken for the OpenAI .tiktoken vocabularies, HF tokenizers
   for the tokenizer.json ones) encodes the target once, then tokc and every peer do, and each one's ids are
   compared with the reference's in full. A peer that differs is reported as wrong (where, with the ids) and is
   not timed; one that cannot load the vocabulary, or gives no answer within the check's time limit, says so;
3. rounds (--rounds, default 3): in each, every exact tool runs once, one after another in an order that rotates
   from round to round: a fresh process pinned to one CPU (taskset), its thread pools set to one, loads the
   vocabulary, encodes the warm-up once, then times ONE encode of the target. tokc does the same in
   tokc-throughput --cold (Tokenizer.encode into a [UInt32]; and Tokenizer.count in a process of its own);
4. tokc ÷ fastest exact peer: within each round, tokc's encode MB/s over the best exact peer's in that round; the
   table gives the median of the rounds' ratios. The MB/s tables give each tool's median over the rounds.
"""

import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from array import array

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BENCH = os.path.join(ROOT, "Benchmarks")
PEERS_VENV = os.path.join(BENCH, ".venv-peers")
PEERS_PYTHON = os.path.join(PEERS_VENV, "bin", "python")
# The texts, the ids written by the checks and quicktok's imported vocabularies; kept between runs, not in git.
WORK = os.path.join(PEERS_VENV, "work")
PEER_SCRIPT = os.path.join(BENCH, "peer_throughput.py")
PEER_REQUIREMENTS = os.path.join(HERE, "peer-requirements.txt")

sys.path.insert(0, HERE)
from reference_venv import read_pins  # noqa: E402

COLD_VOCABS = ["o200k_base", "cl100k_base", "llama3", "qwen2.5", "bert-base-uncased"]
LANGS = ["ja", "zh", "de", "fr", "en"]
TARGET_BYTES = 1_000_000
WARM_BYTES = 100_000

# The reference per vocabulary: the library the fixtures and the differential hold tokc to. tiktoken for the
# OpenAI files; HF tokenizers for tokenizer.json (qwen2.5: the original tokenizer.json, with its NFC normaliser).
REFERENCE = {"o200k_base": "tiktoken", "cl100k_base": "tiktoken"}
DEFAULT_REFERENCE = "hf-tokenizers"
# Tools in the order the tables list them (the reference is one of them). tiktoken runs only where it is the
# reference: for the tokenizer.json vocabularies it has no loader; HF tokenizers has none for .tiktoken files (no
# tokenizer.json ships for o200k/cl100k; converted ones run at 0.05-0.17x tiktoken on one core, REPORT.md 3).
PEERS = ["fastokens", "toktok", "quicktok", "splintr", "kitoken", "nanotoken"]
LABELS = {
    "tokc": "tokc encode",
    "tokc-count": "tokc count",
    "tiktoken": "tiktoken",
    "hf-tokenizers": "HF tokenizers",
    "fastokens": "fastokens",
    "toktok": "toktok-rs",
    "quicktok": "quicktok-v1",
    "splintr": "splintr-rs",
    "kitoken": "kitoken",
    "nanotoken": "nanotoken",
}
DISTRIBUTIONS = {"tiktoken": "tiktoken", "hf-tokenizers": "tokenizers", "fastokens": "fastokens",
                 "toktok": "toktok-rs", "quicktok": "quicktok-v1", "splintr": "splintr-rs", "kitoken": "kitoken",
                 "nanotoken": "nanotoken"}
SINGLE_THREAD_ENV = {"FASTOKENS_BPE_THREADS": "1", "RAYON_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
                     "OMP_NUM_THREADS": "1"}
CHECK_SECONDS = 30  # a check process with no answer for a language by then: "too slow" there


def log(message):
    print(f"bench-compare: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------- setup


def ensure_peers_venv():
    """Makes or completes Benchmarks/.venv-peers from scripts/peer-requirements.txt, binary wheels only; pip runs
    only when a pin is missing. Returns (installed versions, problems)."""
    pins = read_pins(PEER_REQUIREMENTS)
    if not os.path.exists(PEERS_PYTHON):
        subprocess.run([sys.executable, "-m", "venv", PEERS_VENV], check=True, stdout=sys.stderr)
    probe = ("import json, importlib.metadata as m\n"
             "def v(n):\n    try: return m.version(n)\n    except m.PackageNotFoundError: return None\n"
             f"print(json.dumps({{n: v(n) for n in {sorted(pins)!r}}}))")

    def installed():
        out = subprocess.run([PEERS_PYTHON, "-c", probe], capture_output=True, text=True)
        return json.loads(out.stdout) if out.returncode == 0 else {n: None for n in pins}

    versions = installed()
    missing = [f"{n}=={v}" for n, v in pins.items() if versions.get(n) != v]
    problems = []
    if missing:
        for spec in missing:  # one at a time: a peer that cannot be had only loses its own cells
            command = [PEERS_PYTHON, "-m", "pip", "install", "--disable-pip-version-check", "-q",
                       "--only-binary", ":all:", spec]
            log("$ " + " ".join(command))
            if subprocess.run(command, stdout=sys.stderr).returncode != 0:
                problems.append(f"{spec} could not be installed from a binary wheel")
        versions = installed()
    return versions, problems


def cut_texts(langs):
    """Writes WORK/<lang>.target.txt (the first TARGET_BYTES of Corpus/<lang>.txt, cut back to a line end) and
    WORK/<lang>.warm.txt (the last ~WARM_BYTES, from a line start). Returns {lang: target bytes}."""
    os.makedirs(WORK, exist_ok=True)
    sizes = {}
    for lang in langs:
        with open(os.path.join(ROOT, "Corpus", f"{lang}.txt"), "rb") as f:
            data = f.read()
        if len(data) < TARGET_BYTES + WARM_BYTES:
            raise SystemExit(f"bench-compare: Corpus/{lang}.txt has {len(data)} bytes; the cold protocol needs "
                             f"{TARGET_BYTES + WARM_BYTES} so that the warm-up is other text")
        target = data[: data.rfind(b"\n", 0, TARGET_BYTES) + 1]
        warm = data[-WARM_BYTES:]
        warm = warm[warm.find(b"\n") + 1:]
        for kind, content in (("target", target), ("warm", warm)):
            with open(os.path.join(WORK, f"{lang}.{kind}.txt"), "wb") as f:
                f.write(content)
        sizes[lang] = len(target)
    return sizes


def pinned(command, cpu):
    return ["taskset", "-c", str(cpu)] + command if cpu >= 0 else command


def child_env():
    return dict(os.environ, **SINGLE_THREAD_ENV)


def ids_file(vocab, tool, lang):
    return os.path.join(WORK, f"{vocab}.{tool}.{lang}.u32")


def read_ids(path):
    ids = array("I")
    with open(path, "rb") as f:
        ids.frombytes(f.read())
    return ids


# ---------------------------------------------------------------------------------------------------- runs


def run_peer(command, tool, vocab, langs, cpu, timeout, repeat=None):
    """Runs peer_throughput.py; returns (records, error). On a timeout, the records printed so far."""
    line = [PEERS_PYTHON, PEER_SCRIPT, command, "--tool", tool, "--vocab", vocab, "--work", WORK] + \
        (["--repeat", str(repeat)] if repeat else []) + list(langs)
    try:
        out = subprocess.run(pinned(line, cpu), capture_output=True, text=True, env=child_env(), timeout=timeout)
    except subprocess.TimeoutExpired as e:
        text = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return [json.loads(x) for x in text.splitlines() if x.startswith("{")], "timeout"
    records = [json.loads(x) for x in out.stdout.splitlines() if x.startswith("{")]
    if out.returncode != 0:
        tail = out.stderr.strip().splitlines()[-1:] or [f"exit {out.returncode}"]
        return records, f"exited {out.returncode}: {tail[0][:300]}"
    return records, None


def run_tokc(tokc_bin, mode, vocab, lang, cpu, env, ids_out=None):
    """One tokc-throughput --cold process; returns dict(seconds, tokens, load_ms) or raises RuntimeError."""
    command = [tokc_bin, "--cold", mode, "--vocab", vocab, "--warm-up", os.path.join(WORK, f"{lang}.warm.txt")] + \
        (["--ids-out", ids_out] if ids_out else []) + [os.path.join(WORK, f"{lang}.target.txt")]
    out = subprocess.run(pinned(command, cpu), capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"tokc-throughput exited {out.returncode}: {out.stderr.strip()[-300:]}")
    record = {}
    for line in out.stdout.splitlines():
        fields = line.split("\t")
        if fields[0] == "#load_ms":
            record["load_ms"] = float(fields[3])
        elif fields[0] == "#cold":
            record.update(tokens=int(fields[5]), seconds=float(fields[7]), cpu_seconds=float(fields[8]))
    return record


def first_difference(got, want, vocab, tool, lang, reference, cpu):
    """Where two id sequences part, as text for the report: the ids, and the text there with both sides' tokens
    as the reference spells them (peer_throughput.py locate)."""
    n = min(len(got), len(want))
    i = next((k for k in range(n) if got[k] != want[k]), n)
    where = (f"{len(got):,} tokens vs the reference's {len(want):,}; first difference at token {i:,}: "
             f"{list(got[i:i + 4])} vs {list(want[i:i + 4])}")
    line = [PEERS_PYTHON, PEER_SCRIPT, "locate", "--tool", reference, "--vocab", vocab, "--work", WORK,
            "--other", tool, "--index", str(i), lang]
    out = subprocess.run(pinned(line, cpu), capture_output=True, text=True, env=child_env())
    try:
        found = json.loads(out.stdout.strip().splitlines()[-1])
        where += (f", at {json.dumps(found['text'], ensure_ascii=False)}: {found['other']} where the reference "
                  f"has {found['reference']}")
    except (IndexError, ValueError, KeyError):
        pass
    return where


class Cell:
    """One tool on one vocabulary and language: its status and its timings."""

    def __init__(self):
        self.status = None  # "exact", "wrong", "unsupported", "error", "slow"
        self.detail = ""
        self.seconds = []  # wall, one per round
        self.cpu = []  # the process's CPU time over the same call, one per round
        self.load_ms = []
        self.check_seconds = None


def check_vocab(vocab, langs, tools, tokc_bin, cpu, tokc_env):
    """The check phase of one vocabulary: {tool: {lang: Cell}} with a status each. The reference's ids become
    WORK/<vocab>.reference.<lang>.u32 (the cold children compare their ids with them too)."""
    cells = {tool: {lang: Cell() for lang in langs} for tool in tools}
    reference = REFERENCE.get(vocab, DEFAULT_REFERENCE)
    for tool in tools:
        if tool in ("tokc", "tokc-count"):
            continue
        log(f"check {vocab} {tool}")
        pending = list(langs)
        while pending:
            records, error = run_peer("check", tool, vocab, pending, cpu, CHECK_SECONDS)
            done = set()
            for record in records:
                if "unsupported" in record or ("error" in record and "lang" not in record):
                    for lang in pending:
                        cells[tool][lang].status = "unsupported" if "unsupported" in record else "error"
                        cells[tool][lang].detail = record.get("unsupported") or record.get("error")
                    done.update(pending)
                    break
                cell = cells[tool][record["lang"]]
                done.add(record["lang"])
                if "error" in record:
                    cell.status, cell.detail = "error", record["error"]
                else:
                    cell.status, cell.check_seconds = "checked", record["seconds"]
            remaining = [lang for lang in pending if lang not in done]
            if remaining:
                stuck = remaining[0]
                cells[tool][stuck].status = "slow" if error == "timeout" else "error"
                cells[tool][stuck].detail = (f"no result within {CHECK_SECONDS} s (load and one encode of 1 MB)"
                                             if error == "timeout" else error or "no output")
                remaining = remaining[1:]
            pending = remaining
    # The reference's ids are the truth for everyone else.
    for lang in langs:
        ref_cell = cells[reference][lang]
        if ref_cell.status != "checked":
            for tool in tools:
                if cells[tool][lang].status in (None, "checked"):
                    cells[tool][lang].status = "error"
                    cells[tool][lang].detail = f"no reference ids ({LABELS[reference]}: {ref_cell.detail})"
            continue
        shutil.copyfile(ids_file(vocab, reference, lang), ids_file(vocab, "reference", lang))
        ref_cell.status = "exact"
        want = read_ids(ids_file(vocab, "reference", lang))
        for tool in tools:
            cell = cells[tool][lang]
            if tool == "tokc":
                try:
                    run_tokc(tokc_bin, "encode", vocab, lang, cpu, tokc_env, ids_out=ids_file(vocab, "tokc", lang))
                except RuntimeError as e:
                    cell.status, cell.detail = "error", str(e)
                    continue
                cell.status = "checked"
            if tool == "tokc-count":
                try:
                    tokens = run_tokc(tokc_bin, "count", vocab, lang, cpu, tokc_env)["tokens"]
                except RuntimeError as e:
                    cell.status, cell.detail = "error", str(e)
                    continue
                cell.status, cell.detail = ("exact", "") if tokens == len(want) else \
                    ("wrong", f"counts {tokens:,} tokens, the reference {len(want):,}")
                continue
            if cell.status != "checked" or tool == reference:
                continue
            got = read_ids(ids_file(vocab, tool, lang))
            if got == want:
                cell.status = "exact"
            else:
                cell.status = "wrong"
                cell.detail = first_difference(got, want, vocab, tool, lang, reference, cpu)
    return cells


def cold_rounds(vocabs, langs, cells, rounds, tokc_bin, cpu, tokc_env):
    """Every exact tool once per round per vocabulary x language, each in a fresh process; the order of the tools
    rotates from round to round so that drift on a busy machine does not always hit the same one."""
    for round_index in range(rounds):
        log(f"cold round {round_index + 1} of {rounds}")
        for vocab in vocabs:
            for lang in langs:
                tools = [t for t in cells[vocab] if cells[vocab][t][lang].status == "exact"]
                shift = round_index % max(1, len(tools))
                for tool in tools[shift:] + tools[:shift]:
                    cell = cells[vocab][tool][lang]
                    if tool in ("tokc", "tokc-count"):
                        try:
                            record = run_tokc(tokc_bin, "encode" if tool == "tokc" else "count", vocab, lang, cpu,
                                              tokc_env)
                        except RuntimeError as e:
                            cell.detail = str(e)
                            continue
                        exact = True
                    else:
                        records, error = run_peer("cold", tool, vocab, [lang], cpu, timeout=300)
                        if error or not records or "seconds" not in records[-1]:
                            cell.detail = f"a cold run failed: {error or records}"
                            continue
                        record = records[-1]
                        exact = record.get("exact")
                    if not exact:
                        cell.status, cell.detail = "wrong", "ids differ from the reference in a timed run " \
                                                            "(they agreed in the check)"
                        cell.seconds, cell.cpu = [], []
                        continue
                    cell.seconds.append(record["seconds"])
                    cell.cpu.append(record["cpu_seconds"])
                    cell.load_ms.append(record["load_ms"])


# ---------------------------------------------------------------------------------------------------- report


def mbps(size, seconds):
    return size / 1e6 / seconds


def shell(command):
    try:
        return subprocess.run(command, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def revision():
    commit = shell(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]) or "unknown"
    if subprocess.run(["git", "-C", ROOT, "diff", "--quiet", "HEAD"]).returncode == 1:
        commit += " (tracked files modified)"
    return commit


def cell_text(cell, size):
    """A tool's MB/s cell: the median over the rounds, or why there is none."""
    if cell.status == "exact" and cell.seconds:
        return f"{statistics.median(mbps(size, s) for s in cell.seconds):.1f}"
    return {"wrong": "wrong ids", "unsupported": "cannot run", "slow": "too slow",
            "error": "failed"}.get(cell.status, "not timed")


def headline(vocab, lang, cells, rounds, clock="seconds"):
    """tokc ÷ the fastest exact peer: the median over the rounds of each round's own ratio, and who that was;
    on wall time (clock "seconds") or on the process's CPU time ("cpu")."""
    tokc = cells[vocab]["tokc"][lang]
    if tokc.status != "exact" or len(tokc.seconds) < rounds:
        return f"tokc {tokc.status or 'not run'}", None
    peers = {t: c for t, c in cells[vocab].items() if t not in ("tokc", "tokc-count") and c[lang].status == "exact"
             and len(c[lang].seconds) == rounds}
    if not peers:
        return "no exact peer", None
    ratios, fastest = [], []
    for r in range(rounds):
        best = min(peers, key=lambda t: getattr(peers[t][lang], clock)[r])
        fastest.append(best)
        ratios.append(getattr(peers[best][lang], clock)[r] / getattr(tokc, clock)[r])
    names = sorted(set(fastest), key=fastest.count, reverse=True)
    return f"{statistics.median(ratios):.2f}", "/".join(LABELS[n] for n in names)


def load_average():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def report(vocabs, langs, sizes, cells, rounds, cpu, versions, problems, started, load_at_start):
    out = [f"## tokc vs the fastest tokenizers, cold: a fresh process per encode, one CPU, "
           f"median of {rounds} rounds", ""]
    cpu_name = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu_name = next((x.split(":", 1)[1].strip() for x in f if x.startswith("model name")), cpu_name)
    except OSError:
        pass
    swift = shell(["swift", "--version"]).splitlines()
    out += [
        f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')}; "
        f"run took {(time.time() - started) / 60:.1f} min; load average (1, 5, 15 min) at the start {load_at_start}, "
        f"at the end {load_average()}",
        f"- machine: {os.cpu_count()} cores, {cpu_name}; every process pinned to CPU {cpu} (taskset)",
        f"- tokc: {revision()}; {swift[0] if swift else 'swift ?'}",
        "- peers (Benchmarks/.venv-peers, binary wheels): "
        + ", ".join(f"{DISTRIBUTIONS[t]} {versions.get(DISTRIBUTIONS[t]) or 'missing'}" for t in DISTRIBUTIONS)
        + f"; python {shell([PEERS_PYTHON, '-c', 'import platform; print(platform.python_version())'])}",
        "- texts: the first 1 MB of Corpus/<lang>.txt cut at a line end ("
        + ", ".join(f"{lang} {sizes[lang]:,} B" for lang in langs)
        + "); warm-up: the last ~100 KB of the same file. MB = 10^6 bytes of UTF-8 input",
        "",
        "### tokc ÷ fastest exact peer (encode, one thread, cold)",
        "",
        "Each round's own ratio, tokc's encode speed over the fastest exact peer's in that round; the median of the "
        "rounds. Above 1: tokc is faster. The peer named was the fastest (in most rounds).",
        "",
        "| vocab | " + " | ".join(langs) + " |",
        "|---|" + "---:|" * len(langs),
    ]
    def headline_rows(clock):
        rows = []
        for vocab in vocabs:
            row = []
            for lang in langs:
                ratio, who = headline(vocab, lang, cells, rounds, clock)
                row.append(f"{ratio}× ({who})" if who else ratio)
            rows.append(f"| {vocab} | " + " | ".join(row) + " |")
        return rows

    out += headline_rows("seconds")
    out += ["", "The same on CPU time (the process's CPU seconds over the same call, `CLOCK_PROCESS_CPUTIME_ID` / "
            "`time.process_time`): what the wall figure would be with the CPU to itself. On this shared machine "
            "other jobs take turns on the pinned CPU; a large gap between the two tables says the run was disturbed.",
            "", "| vocab | " + " | ".join(langs) + " |", "|---|" + "---:|" * len(langs)]
    out += headline_rows("cpu")

    out += ["", "### MB/s per tool (median of the rounds)", ""]
    for vocab in vocabs:
        reference = REFERENCE.get(vocab, DEFAULT_REFERENCE)
        out += [f"**{vocab}** (reference: {LABELS[reference]})", "",
                "| tool | " + " | ".join(langs) + " | load ms (median) |", "|---|" + "---:|" * (len(langs) + 1)]
        for tool, by_lang in cells[vocab].items():
            loads = [ms for lang in langs for ms in by_lang[lang].load_ms]
            load_ms = f"{statistics.median(loads):.0f}" if loads else ""
            out.append(f"| {LABELS[tool]} | " + " | ".join(cell_text(by_lang[lang], sizes[lang]) for lang in langs)
                       + f" | {load_ms} |")
        out.append("")

    out += ["### Exactness (ids of the whole 1 MB against the reference, before any timing)", ""]
    for vocab in vocabs:
        for tool, by_lang in cells[vocab].items():
            statuses = {lang: by_lang[lang].status for lang in langs}
            exact = [lang for lang in langs if statuses[lang] == "exact"]
            line = f"- {vocab}, {LABELS[tool]}: "
            if len(exact) == len(langs):
                out.append(line + "exact on all")
                continue
            parts = [f"exact on {', '.join(exact)}"] if exact else []
            details = {}
            for lang in langs:
                if statuses[lang] != "exact":
                    details.setdefault((statuses[lang], by_lang[lang].detail), []).append(lang)
            for (status, detail), where in details.items():
                parts.append(f"**{status or 'not run'}** on {', '.join(where)}" + (f" ({detail})" if detail else ""))
            out.append(line + "; ".join(parts))
    out += ["", "### Protocol", ""]
    out += [
        "- Each timed figure is one encode of the 1 MB target in a fresh process: `taskset -c CPU`, "
        "FASTOKENS_BPE_THREADS=1, RAYON_NUM_THREADS=1, TOKENIZERS_PARALLELISM=false; load the vocabulary, encode the "
        "warm-up (other text of the same language) once, then time one call. Caches that tools keep across calls "
        "(fastokens' pretoken cache, splintr's and nanotoken's caches, HF's word cache, tokc's per-thread merge memo) "
        "hold only the warm-up's pieces: a first encode of unseen text, which is what a user counting a new "
        "document gets.",
        "- tokc encode = `tokc-throughput --cold encode`: `Tokenizer.encode` of the file's bytes into a `[UInt32]` "
        "(read before the clock starts), timed with ContinuousClock around that call alone. tokc count = "
        "`Tokenizer.count` in the same way (no ids kept), in a process of its own. Load (the compiled table "
        "mapped from a private cache primed once) is timed separately and is the load column.",
        "- Peers: the library's own encode call on the Python str, timed with perf_counter around that call alone "
        "(the GC off), returning its ids (a Python list; nanotoken a numpy array). The list is checked against the "
        "reference after the clock stops. Their load column includes importing the module. Before the clock starts "
        "the str's UTF-8 form is made and cached by CPython, so that a binding reading it does not transcode the "
        "text inside the timed call (~1 ms per MB of English, ~5 ms of Japanese here), which tokc, given UTF-8, "
        "does not do either.",
        "- How each peer loads: tiktoken `Encoding(pattern from the manifest, load_tiktoken_bpe(file))`; HF "
        "`Tokenizer.from_file`; fastokens `Tokenizer.from_tiktoken(file, encoding=NAME)` for o200k/cl100k, "
        "`from_file(tokenizer.json)` otherwise; toktok-rs `_encoding(NAME).encode_ordinary` (bundled vocabularies "
        "only); quicktok-v1 `get_encoding(NAME)` bundled for o200k/cl100k, `import_tokenizer(tokenizer.json)` "
        "otherwise; splintr-rs `Tokenizer(file, its own *_PATTERN)` / `from_json(...).encode_raw`; kitoken "
        "`from_tiktoken_file` / `from_tokenizers_file`; nanotoken `Tokenizer(tokenizer.json)`. qwen2.5's peers and "
        "reference load the original tokenizer.json (../shared/reference/vocab-more); tokc its shipped "
        "Qwen .tiktoken with the same pattern and NFC.",
        "- References: tiktoken for o200k_base/cl100k_base, HF tokenizers for llama3, qwen2.5 and bert-base-uncased "
        "(called with add_special_tokens=False). They are timed like the peers and count as peers in the headline.",
        "- A round runs every exact tool once per vocabulary x language, back to back; the order rotates each round. "
        "On this shared 2-core machine one process can run 20-40 % slower than the next: compare within a run.",
    ]
    for problem in problems:
        out.append(f"- **problem**: {problem}")

    out += ["", "### Raw seconds per round (tool, vocab, lang, bytes, wall seconds of each round, CPU seconds of each)",
            "", "```"]
    for vocab in vocabs:
        for tool, by_lang in cells[vocab].items():
            for lang in langs:
                if by_lang[lang].seconds:
                    out.append(f"{tool}\t{vocab}\t{lang}\t{sizes[lang]}\t"
                               + ",".join(f"{s:.5f}" for s in by_lang[lang].seconds) + "\tcpu "
                               + ",".join(f"{s:.5f}" for s in by_lang[lang].cpu))
    out.append("```")
    return out


def run_cold(args, tokc_bin):
    """The whole cold protocol; returns the report's lines."""
    started, load_at_start = time.time(), load_average()
    versions, problems = ensure_peers_venv()
    vocabs = args.cold_vocabs
    langs = args.langs
    sizes = cut_texts(langs)
    cpu = args.cpu if args.cpu is not None else max(os.sched_getaffinity(0))
    if cpu >= 0 and shutil.which("taskset") is None:
        raise SystemExit("bench-compare: the cold protocol pins each process with taskset (util-linux), which is "
                         "not on PATH; install it or pass --cpu -1 to run unpinned")
    # tokc's compiled tables go to a private cache, primed by the checks' first load: every timed run maps it.
    cache = tempfile.mkdtemp(prefix="bench-compare-cold-cache-")
    tokc_env = dict(os.environ, TOKC_CACHE_DIR=cache, **SINGLE_THREAD_ENV)
    cells = {}
    try:
        for vocab in vocabs:
            reference = REFERENCE.get(vocab, DEFAULT_REFERENCE)
            tools = ["tokc", "tokc-count", reference] + PEERS
            cells[vocab] = check_vocab(vocab, langs, tools, tokc_bin, cpu, tokc_env)
        cold_rounds(vocabs, langs, cells, args.rounds, tokc_bin, cpu, tokc_env)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return report(vocabs, langs, sizes, cells, args.rounds, cpu, versions, problems, started, load_at_start)
