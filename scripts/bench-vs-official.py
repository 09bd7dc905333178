#!/usr/bin/env python3
"""Reprise's worker side by side with the official Rust SDK's, same shapes, same server, one run.

    . scripts/tools.sh                      # TEMPORAL_CLI: the pinned official dev server
    cargo build --release -p reprise-examples --bin worker-bench
    cargo build --release -p reprise-testing --bin reprise-server
    OFFICIAL_BENCH=/path/to/official-rust-bench scripts/bench-vs-official.py [--n 300] [--runs 3]

OFFICIAL_BENCH is the official SDK's harness (temporalio-sdk 1.1.1; subcommands
`throughput --n N --address A` and `throughput-noact ...`, one JSON line out). Each harness runs
under /usr/bin/time for its process's user+sys CPU and peak RSS; the two alternate, `runs` times
per shape, on the official dev server (SQLite file) and on `reprise-server --db`. Prints a table
of medians (min-max) and Reprise/official ratios. Servers listen on 127.0.0.1 only and are
stopped by PID.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on {port}")


def start_dev_server(work):
    cli = os.environ.get("TEMPORAL_CLI") or "temporal"
    port, ui = free_port(), free_port()
    proc = subprocess.Popen(
        [cli, "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--ui-port",
         str(ui), "--headless", "--db-filename", os.path.join(work, "dev.db"), "--log-level",
         "warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    time.sleep(2)  # namespace registration
    return proc, port


def start_reprise_server(work):
    binary = os.path.join(TARGET, "release", "reprise-server")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--address", f"127.0.0.1:{port}", "--db", os.path.join(work, "reprise.db")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc, port


def run_harness(binary, mode, n, port):
    """One run under /usr/bin/time: (parsed JSON line, cpu seconds, peak RSS MiB)."""
    with tempfile.NamedTemporaryFile("r") as timing:
        out = subprocess.run(
            ["/usr/bin/time", "-f", "%U %S %M", "-o", timing.name, binary, mode, "--n", str(n),
             "--address", f"127.0.0.1:{port}"],
            capture_output=True, text=True, check=True)
        user, system, max_kib = timing.read().split()[-3:]
    line = [l for l in out.stdout.splitlines() if l.startswith("{")][-1]
    return json.loads(line), float(user) + float(system), int(max_kib) / 1024


def summary(values):
    return statistics.median(values), min(values), max(values)


def fmt(values, digits=2):
    med, lo, hi = summary(values)
    return f"{med:.{digits}f} ({lo:.{digits}f}-{hi:.{digits}f})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--servers", default="dev,reprise")
    args = parser.parse_args()
    official = os.environ.get("OFFICIAL_BENCH")
    if not official:
        raise SystemExit("set OFFICIAL_BENCH to the official SDK harness binary")
    ours = os.path.join(TARGET, "release", "worker-bench")
    harnesses = {"official": official, "reprise": ours}
    rows = []
    for server in args.servers.split(","):
        work = tempfile.mkdtemp(prefix=f"bench-{server}-")
        proc, port = (start_dev_server if server == "dev" else start_reprise_server)(work)
        try:
            for mode in ["throughput", "throughput-noact"]:
                results = {name: {"wfs": [], "cpu_ms": [], "rss": []} for name in harnesses}
                for _ in range(args.runs):
                    for name, binary in harnesses.items():
                        line, cpu, rss = run_harness(binary, mode, args.n, port)
                        # CPU per timed workflow (the warm-up one included in the total).
                        results[name]["wfs"].append(line["wf_per_s"])
                        results[name]["cpu_ms"].append(1000 * cpu / (args.n + 1))
                        results[name]["rss"].append(rss)
                rows.append((server, mode, results))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"n={args.n}, runs={args.runs}; median (min-max); ratio = Reprise / official (medians)")
    print("| server | shape | metric | official SDK | Reprise | ratio |")
    print("|---|---|---|---|---|---|")
    for server, mode, results in rows:
        for metric, label in [("cpu_ms", "CPU per workflow, ms"), ("rss", "peak RSS, MiB"),
                              ("wfs", "workflows/s")]:
            o, r = results["official"][metric], results["reprise"][metric]
            ratio = statistics.median(r) / statistics.median(o)
            print(f"| {server} | {mode} | {label} | {fmt(o)} | {fmt(r)} | {ratio:.2f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
