#!/usr/bin/env python3
"""Many large requests at once against one `tokc serve`, on its socket and over HTTP: every answer must be
right, and the daemon's resident memory must stay under its --max-memory bound (issue #30).

    scripts/memory-load.py --tokc PATH/tokc [--clients 64] [--megabytes 60] [--max-memory 512m] [--face socket|http|both]

Each client sends one `count` request of about MEGABYTES MB (" hello" repeated a number of times of its own,
streamed from a small block, so the clients hold almost nothing) and checks that the count is that number.
The daemon's VmRSS is sampled every 10 ms; its VmHWM (the kernel's peak) is read at the end. Prints one line
per face and exits 1 if any answer is wrong or the peak passes the bound. Standard library only.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

UNIT = b" hello"  # one o200k_base token each time, as the check below confirms


def option(arguments, name, default):
    return arguments[arguments.index(name) + 1] if name in arguments else default


def parse_bytes(text):
    shifts = {"k": 10, "m": 20, "g": 30}
    return int(text[:-1]) << shifts[text[-1].lower()] if text[-1].lower() in shifts else int(text)


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def stream_request(sock, face, port, repeats):
    """Sends one count request of UNIT * repeats without ever building it whole."""
    head = b'{"op":"count","texts":["'
    tail = b'"]}'
    if face == "http":
        length = len(head) + len(UNIT) * repeats + len(tail)
        sock.sendall(b"POST /v1/count HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (port, length))
    sock.sendall(head)
    block_repeats = (1 << 20) // len(UNIT)
    block = UNIT * block_repeats
    left = repeats
    while left >= block_repeats:
        sock.sendall(block)
        left -= block_repeats
    sock.sendall(UNIT * left + tail + (b"\n" if face == "socket" else b""))


def read_answer(sock, face):
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        if face == "socket" and data.endswith(b"\n"):
            break
    if face == "http":
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), json.loads(body)
    return 200, json.loads(data)


def run_face(face, tokc_args, clients, megabytes, bound):
    folder = tempfile.mkdtemp(prefix="tokc-mem-")
    socket_path = os.path.join(folder, "tokc.sock")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    daemon = subprocess.Popen(tokc_args + ["serve", "--socket", socket_path, "--http", f"127.0.0.1:{port}",
                                           "--max-memory", str(bound), "--preload", "o200k_base"],
                              stderr=subprocess.DEVNULL)

    def connect():
        if face == "socket":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(socket_path)
        else:
            sock = socket.create_connection(("127.0.0.1", port))
        return sock

    deadline = time.time() + 60
    while True:
        try:
            connect().close()
            break
        except OSError:
            if time.time() > deadline:
                raise SystemExit("the daemon did not start")
            time.sleep(0.1)
    # One small request first, so the baseline includes a warm vocabulary.
    sock = connect()
    stream_request(sock, face, port, 1000)
    status, answer = read_answer(sock, face)
    sock.close()
    if answer.get("total") != 1000:
        raise SystemExit(f"' hello' x 1000 is {answer} tokens, not 1000: the check's assumption fails")
    baseline = status_kib(daemon.pid, "VmRSS") * 1024

    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            try:
                peak[0] = max(peak[0], status_kib(daemon.pid, "VmRSS") * 1024)
            except OSError:
                return
            time.sleep(0.01)

    results = [None] * clients
    repeats = [(megabytes * 1_000_000) // len(UNIT) - 97 * index for index in range(clients)]

    def client(index):
        try:
            sock = connect()
            stream_request(sock, face, port, repeats[index])
            results[index] = read_answer(sock, face)
            sock.close()
        except Exception as error:  # noqa: BLE001 - reported below as a wrong answer
            results[index] = (0, {"error": str(error)})

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.time()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.time() - started
    stop.set()
    sampler.join()
    stats_sock = connect()
    if face == "socket":
        stats_sock.sendall(b'{"op":"stats"}\n')
    else:
        stats_sock.sendall(b"POST /v1/stats HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 2\r\nConnection: close\r\n\r\n{}" % port)
    _, stats = read_answer(stats_sock, face)
    stats_sock.close()
    hwm = status_kib(daemon.pid, "VmHWM") * 1024
    daemon.terminate()
    daemon.wait(timeout=60)

    wrong = [(i, r) for i, r in enumerate(results) if r is None or r[0] != 200 or r[1].get("total") != repeats[i]]
    over = max(peak[0], hwm) > bound
    mib = lambda b: f"{b / (1 << 20):.0f} MiB"
    print(f"{face}: {clients} x {megabytes} MB at once in {elapsed:.1f} s: {clients - len(wrong)}/{clients} answers right; "
          f"daemon RSS idle {mib(baseline)}, peak sampled {mib(peak[0])}, VmHWM {mib(hwm)}, bound {mib(bound)}; "
          f"stats: memory_peak_bytes {mib(stats.get('memory_peak_bytes', 0))}, reads_paused {stats.get('reads_paused')}")
    for index, result in wrong[:5]:
        print(f"  client {index}: expected {repeats[index]}, got {result}")
    return not wrong and not over


def main():
    arguments = sys.argv[1:]
    tokc = option(arguments, "--tokc", None)
    if not tokc:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    clients = int(option(arguments, "--clients", "64"))
    megabytes = int(option(arguments, "--megabytes", "60"))
    bound = parse_bytes(option(arguments, "--max-memory", "512m"))
    face = option(arguments, "--face", "both")
    faces = ["socket", "http"] if face == "both" else [face]
    ok = all([run_face(f, [os.path.abspath(tokc)], clients, megabytes, bound) for f in faces])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
