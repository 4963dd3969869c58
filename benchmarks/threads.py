"""Training wall time by thread count, on an idle machine and beside CPU-bound processes.

Runs `lstmcast train` on sample_data/load.csv (the README quickstart's job) for a fixed number of
epochs, in a fresh process per run, with --threads 1 and 2, with and without glibc's heap padding,
first with nothing else running and then beside BUSY processes that spin on the CPU (the "shared
machine" of cron). Every arm runs REPEATS times, interleaved, and the median wall time is reported
with its ratio to the one-thread idle run of the same table.

    python benchmarks/threads.py                     # 3 repeats, 5 epochs, 2 busy processes
    python benchmarks/threads.py --json benchmarks/out/threads.json
    python benchmarks/threads.py --epochs 0 --arms 1 2 --json benchmarks/out/threads_default.json
                                                     # the whole default training, to early stop, heap pad on

With --epochs 0 each run is the default training as the README quickstart runs it (early stopping
decides the epochs; the same every run, since training is deterministic on CPU), process start and
imports included.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "sample_data" / "load.csv"
GLIBC_DEFAULT_TOP_PAD = str(128 * 1024)  # MALLOC_TOP_PAD_ at glibc's own default: lstmcast then leaves it alone


def train_seconds(threads: int, epochs: int, heap_pad: bool, workdir: Path) -> float:
    env = {k: v for k, v in os.environ.items() if k not in {"OMP_NUM_THREADS", "MKL_NUM_THREADS", "LSTMCAST_THREADS"}}
    if not heap_pad:
        env["MALLOC_TOP_PAD_"] = GLIBC_DEFAULT_TOP_PAD
    command = [sys.executable, "-m", "lstmcast", "train", str(DATA), "--target", "load", "--features", "temperature"]
    if epochs:
        command += ["--epochs", str(epochs), "--patience", str(epochs)]
    command += ["--threads", str(threads), "-q"]
    command += ["--device", "cpu", "-o", str(workdir / "model")]
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def spinners(count: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def measure(arms: list[tuple[int, bool]], repeats: int, epochs: int, busy: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {f"{t} thread{'s' * (t > 1)}, heap pad {'on' if p else 'off'}": [] for t, p in arms}
    others = spinners(busy)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(repeats):
                for (threads, pad), name in zip(arms, times, strict=True):
                    times[name].append(train_seconds(threads, epochs, pad, Path(tmp)))
    finally:
        for process in others:
            process.kill()
            process.wait()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5, help="epochs per run; 0: the default training to early stop")
    parser.add_argument(
        "--arms", type=int, nargs="+", choices=(1, 2), default=None, help="thread counts, heap pad on only"
    )
    parser.add_argument("--busy", type=int, default=2, help="CPU-bound processes beside the training (default 2)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    arms = [(t, True) for t in args.arms] if args.arms else [(1, True), (2, True), (1, False), (2, False)]
    report = {"cores": os.cpu_count(), "epochs": args.epochs, "repeats": args.repeats, "runs": {}}
    for label, busy in (("idle", 0), (f"beside {args.busy} busy processes", args.busy)):
        load = os.getloadavg()[0]
        times = measure(arms, args.repeats, args.epochs, busy)
        medians = {name: statistics.median(values) for name, values in times.items()}
        report["runs"][label] = {"load_before": load, "seconds": times, "median": medians}
        base = report["runs"]["idle"]["median"]["1 thread, heap pad on"]
        epochs = f"{args.epochs} epochs" if args.epochs else "the default training to early stop"
        print(f"\n{label} (load average {load:.2f} before): median of {args.repeats}, {epochs}")
        print(f"{'arm':<32} {'seconds':>8} {'vs 1 thread idle':>17}")
        for name, median in medians.items():
            print(f"{name:<32} {median:8.2f} {median / base:16.2f}x")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
