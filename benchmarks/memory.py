"""Memory: peak resident memory (RSS) of ``lstmcast train`` on a long series, as a subprocess.

A seeded synthetic hourly series (time column + one ``load`` column, a noisy multi-seasonal sine)
of ``--rows`` rows is written to a temporary directory as CSV and/or Parquet, then

    lstmcast train big.csv --target load -o TMP/model --epochs 1 --lookback 96 --horizon 24
        --hidden 64 --layers 2 --batch-size 64 --device cpu --quiet

runs as a child process. Its peak RSS comes from ``os.wait4`` (the kernel's ``ru_maxrss`` for that
child alone); ``/proc/PID/status`` is also sampled every ``--sample-every`` seconds, so the report
says *when* the peak happened (reading, training or scoring). Training covers the whole default
pipeline: read, validate, split, scale, one epoch over ~70% of the windows, a validation pass,
scoring the test 20% against the baselines, and saving the model directory.

``--threads N`` sets ``OMP_NUM_THREADS`` for the child (torch's intra-op threads); by default the
child uses torch's own default. The target is a peak under 1.5 GB.

    python benchmarks/memory.py                                # 1,000,000 rows, CSV
    python benchmarks/memory.py --rows 200000 --format both --json benchmarks/out/memory_200k.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TARGET_BYTES = 1.5e9


def make_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """Hourly timestamps and a noisy daily + weekly + yearly sine with a slow trend."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows, dtype=np.float64)
    load = (
        50.0
        + 10.0 * np.sin(2 * np.pi * t / 24)
        + 5.0 * np.sin(2 * np.pi * t / (24 * 7) + 0.3)
        + 3.0 * np.sin(2 * np.pi * t / (24 * 365.25))
        + 0.00001 * t
        + rng.normal(0.0, 1.5, rows)
    )
    time_index = pd.date_range("1990-01-01", periods=rows, freq="h")
    return pd.DataFrame({"time": time_index, "load": np.round(load, 3)})


def write_data(frame: pd.DataFrame, directory: Path, fmt: str) -> Path:
    if fmt == "csv":
        path = directory / "big.csv"
        frame.to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")
    else:
        path = directory / "big.parquet"
        frame.to_parquet(path, index=False)
    return path


def lstmcast_command() -> list[str]:
    script = Path(sys.executable).with_name("lstmcast")
    if script.is_file():
        return [str(script)]
    found = shutil.which("lstmcast")
    return [found] if found else [sys.executable, "-m", "lstmcast"]


def _rss_bytes(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def run_measured(command: list[str], env: dict[str, str], sample_every: float) -> dict[str, Any]:
    """Run ``command``; its wall time, exit status, peak RSS (wait4) and an RSS timeline."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    timeline: list[tuple[float, int]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(sample_every):
            rss = _rss_bytes(process.pid)
            if rss is not None:
                timeline.append((round(time.perf_counter() - started, 2), rss))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stderr = process.stderr.read() if process.stderr else b""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait for it again
    peak = usage.ru_maxrss * 1024  # kilobytes on Linux
    peak_at = max(timeline, key=lambda item: item[1])[0] if timeline else None
    return {
        "command": command,
        "exit_code": process.returncode,
        "stderr": stderr.decode(errors="replace")[-2000:],
        "seconds": seconds,
        "peak_rss_bytes": peak,
        "sampled_peak_at_seconds": peak_at,
        "rss_timeline": timeline,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="series length (default: 1000000)")
    parser.add_argument("--format", choices=["csv", "parquet", "both"], default="csv", help="input file format")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for the child (default: unset)")
    parser.add_argument("--device", default="cpu", help="lstmcast --device (default: cpu)")
    parser.add_argument("--sample-every", type=float, default=1.0, metavar="S", help="RSS sampling period")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR", help="work in DIR and keep the files")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the results as JSON")
    return parser.parse_args(argv)


def train_command(data: Path, model_dir: Path, args: argparse.Namespace) -> list[str]:
    flags = {
        "--target": "load",
        "-o": str(model_dir),
        "--epochs": str(args.epochs),
        "--lookback": "96",
        "--horizon": "24",
        "--hidden": "64",
        "--layers": "2",
        "--batch-size": "64",
        "--device": args.device,
    }
    return [*lstmcast_command(), "train", str(data), *(x for pair in flags.items() for x in pair), "--quiet"]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    formats = ["csv", "parquet"] if args.format == "both" else [args.format]
    env = dict(os.environ, NO_COLOR="1", TERM="dumb")
    if args.threads is not None:
        env["OMP_NUM_THREADS"] = str(args.threads)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="lstmcast-memory-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    try:
        frame = make_frame(args.rows)
        for fmt in formats:
            data = write_data(frame, workdir, fmt)
            command = train_command(data, workdir / f"model-{fmt}", args)
            print(f"running: {' '.join(command)}", file=sys.stderr, flush=True)
            result = run_measured(command, env, args.sample_every)
            result.update({"format": fmt, "rows": args.rows, "file_bytes": data.stat().st_size})
            result["loadavg_after"] = os.getloadavg()
            results.append(result)
            if result["exit_code"] != 0:
                print(f"lstmcast exited {result['exit_code']}:\n{result['stderr']}", file=sys.stderr)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)

    print("| rows | format | file MB | wall s | peak RSS MB | peak sampled at s | target < 1.5 GB |")
    print("|---:|---|---:|---:|---:|---:|---|")
    met = True
    for r in results:
        ok = r["exit_code"] == 0 and r["peak_rss_bytes"] < TARGET_BYTES
        met = met and ok
        verdict = "met" if ok else (f"FAILED (exit {r['exit_code']})" if r["exit_code"] else "MISSED")
        print(
            f"| {r['rows']:,} | {r['format']} | {r['file_bytes'] / 1e6:.1f} | {r['seconds']:.1f} | "
            f"{r['peak_rss_bytes'] / 1e6:.0f} | {r['sampled_peak_at_seconds']} | {verdict} |"
        )
    if args.json is not None:
        out = {
            "benchmark": "memory",
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "python": platform.python_version(),
            "nproc": os.cpu_count(),
            "results": results,
            "target_bytes": TARGET_BYTES,
            "target_met": met,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0 if all(r["exit_code"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
