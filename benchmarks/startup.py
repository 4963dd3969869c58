"""Startup: wall time of ``lstmcast --help``, ``lstmcast info MODEL_DIR`` and ``lstmcast predict`` as real
subprocesses, beside ``python -c "import torch"`` in the same run.

A tiny model is trained into a temporary directory first, through the CLI:

    lstmcast train sample_data/load.csv --target load -o TMP/model --epochs 1 --hidden 4 --layers 1
        --lookback 24 --horizon 6 --device cpu --quiet

Then each command is run once untimed (to warm the file cache) and ``--runs`` times timed; the
median is compared with the target (0.5 s). ``python -c pass`` is timed the same way, for the floor
set by the interpreter itself.

Then ``lstmcast predict`` is timed on three models trained for one epoch on sample_data/load.csv
(the defaults: a seed ensemble of 3 segment LSTMs; a 2-layer bidirectional LSTM with attention reading
all 96 steps; a peephole LSTM with the conv front-end and revin), each on the sample CSV (8,760 rows)
and on a 1,000,000-row CSV continuing it, and ``python -c "import torch"`` the same way. Targets
(issue #14): predict at most 0.15x of ``import torch`` and under 0.3 s on two idle cores.

Finally ``python -X importtime`` lists what ``import lstmcast.cli``, ``lstmcast --help``,
``lstmcast info`` and ``lstmcast predict`` import: none of the first three should load torch or
pandas (or other heavy packages); predict needs numpy, pandas and safetensors, and never torch,
scikit-learn or scipy.

    python benchmarks/startup.py
    python benchmarks/startup.py --runs 20 --json benchmarks/out/startup.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "load.csv"
TARGET_SECONDS = 0.5
PREDICT_SECONDS = 0.3
PREDICT_TORCH_RATIO = 0.15
NEVER_IN_PREDICT = ("torch", "sklearn", "scipy")
PREDICT_MODELS = {
    "defaults": [],
    "bi-LSTM 2x64 + attention, 96 steps": ["--segment", "0", "--layers", "2", "--bidirectional", "--attention"],
    "peephole + conv + revin": ["--model", "peephole", "--conv-kernel", "3", "--window-norm", "revin"],
}
BIG_ROWS = 1_000_000
# Packages that must not be imported just to print help or describe a model.
HEAVY = ("torch", "pandas", "numpy", "sklearn", "scipy", "pyarrow", "safetensors")


def lstmcast_command() -> list[str]:
    """The ``lstmcast`` console script of this interpreter's environment (else ``python -m lstmcast``)."""
    script = Path(sys.executable).with_name("lstmcast")
    if script.is_file():
        return [str(script)]
    found = shutil.which("lstmcast")
    return [found] if found else [sys.executable, "-m", "lstmcast"]


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "120"})
    env.pop("LSTMCAST_DEBUG", None)
    return env


def time_command(command: list[str], runs: int) -> list[float]:
    """Wall seconds of ``runs`` runs after one untimed warm-up; each must exit 0."""
    env = environment()
    subprocess.run(command, check=True, capture_output=True, env=env)
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        seconds.append(time.perf_counter() - started)
    return seconds


def imported_modules(command: list[str]) -> dict[str, float]:
    """Top-level packages imported by ``command`` (a Python command line) and their import time in ms.

    Each package's time is the sum of the *self* times of its modules, so nothing is counted twice.
    """
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *command],
        check=True,
        capture_output=True,
        text=True,
        env=environment(),
    )
    packages: dict[str, float] = {}
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        own, _, name = (part.strip() for part in line.split(":", 1)[1].split("|"))
        if not own.isdigit():
            continue  # the header line
        top = name.split(".")[0]
        packages[top] = packages.get(top, 0.0) + int(own) / 1000
    return packages


def train_tiny_model(lstmcast: list[str], model_dir: Path) -> None:
    command = [
        *lstmcast,
        "train",
        str(SAMPLE),
        "--target",
        "load",
        "-o",
        str(model_dir),
        "--epochs",
        "1",
        "--hidden",
        "4",
        "--layers",
        "1",
        "--lookback",
        "24",
        "--horizon",
        "6",
        "--device",
        "cpu",
        "--quiet",
    ]
    subprocess.run(command, check=True, capture_output=True, env=environment())


def train_model(lstmcast: list[str], model_dir: Path, flags: list[str]) -> None:
    command = [*lstmcast, "train", str(SAMPLE), "--target", "load", "-o", str(model_dir), "--epochs", "1", *flags]
    subprocess.run([*command, "--quiet"], check=True, capture_output=True, env=environment())


def write_big_csv(path: Path, rows: int) -> None:
    """The sample series repeated to ``rows`` rows on a continuing hourly index, in one write."""
    import pandas as pd

    sample = pd.read_csv(SAMPLE)
    repeats = -(-rows // len(sample))
    big = pd.concat([sample] * repeats, ignore_index=True).head(rows)
    big["time"] = pd.date_range(sample["time"].iloc[0], periods=rows, freq="h").strftime("%Y-%m-%d %H:%M:%S")
    big.to_csv(path, index=False)


def predict_section(lstmcast: list[str], tmp: Path, runs: int) -> dict[str, Any]:
    """Times of predict per model and input, and of ``import torch``, in one run."""
    big = tmp / "big.csv"
    write_big_csv(big, BIG_ROWS)
    commands = {'python -c "import torch"': [sys.executable, "-c", "import torch"]}
    for name, flags in PREDICT_MODELS.items():
        model = tmp / name.replace(" ", "_").replace("+", "").replace(",", "")
        train_model(lstmcast, model, flags)
        for data, label in ((SAMPLE, "sample CSV"), (big, f"{BIG_ROWS:,}-row CSV")):
            output = ["-o", str(tmp / "f.csv")]
            commands[f"predict, {name}, {label}"] = [*lstmcast, "predict", str(model), str(data), *output]
    timings = {name: time_command(command, runs) for name, command in commands.items()}
    imports = imported_modules(["-m", "lstmcast", *commands["predict, defaults, sample CSV"][len(lstmcast) :]])
    return {"seconds": timings, "predict_imports_ms": imports}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="timed runs per command (default: 10)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the results as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    lstmcast = lstmcast_command()
    results: dict[str, Any] = {"benchmark": "startup", "runs": args.runs, "lstmcast": lstmcast}
    with tempfile.TemporaryDirectory(prefix="lstmcast-startup-") as tmp:
        model_dir = Path(tmp) / "model"
        train_tiny_model(lstmcast, model_dir)
        results["loadavg_before"] = os.getloadavg()
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "lstmcast --help": [*lstmcast, "--help"],
            "lstmcast info MODEL_DIR": [*lstmcast, "info", str(model_dir)],
        }
        timings = {name: time_command(command, args.runs) for name, command in commands.items()}
        predict = predict_section(lstmcast, Path(tmp), args.runs)
        results["loadavg_after"] = os.getloadavg()
        imports = {
            "import lstmcast.cli": imported_modules(["-c", "import lstmcast.cli"]),
            "lstmcast --help": imported_modules(["-m", "lstmcast", "--help"]),
            "lstmcast info MODEL_DIR": imported_modules(["-m", "lstmcast", "info", str(model_dir)]),
        }

    print("| command | median s | min s | max s | target |")
    print("|---|---:|---:|---:|---|")
    met = True
    for name, seconds in timings.items():
        median = statistics.median(seconds)
        verdict = "-"
        if name.startswith("lstmcast"):
            ok = median < TARGET_SECONDS
            met = met and ok
            verdict = f"< {TARGET_SECONDS} s: {'met' if ok else 'MISSED'}"
        print(f"| `{name}` | {median:.3f} | {min(seconds):.3f} | {max(seconds):.3f} | {verdict} |")
    print()
    print("| imports of | heavy packages loaded | total import ms | slowest packages (ms) |")
    print("|---|---|---:|---|")
    heavy_loaded = {}
    for name, packages in imports.items():
        heavy = sorted(p for p in packages if p in HEAVY)
        heavy_loaded[name] = heavy
        slowest = sorted(packages.items(), key=lambda item: -item[1])[:5]
        slow_text = ", ".join(f"{p} {ms:.0f}" for p, ms in slowest)
        total = sum(packages.values())
        print(f"| `{name}` | {', '.join(heavy) or 'none'} | {total:.0f} | {slow_text} |")
    no_heavy = not any(heavy_loaded.values())
    predict_met = print_predict(predict)
    print(f"\nstartup target (< {TARGET_SECONDS} s each): {'met' if met else 'MISSED'}; ", end="")
    print(f"no heavy imports ({', '.join(HEAVY)}): {'yes' if no_heavy else 'NO'}")
    print(f"load average before / after: {results['loadavg_before'][0]:.2f} / {results['loadavg_after'][0]:.2f}")
    if args.json is not None:
        results.update(
            {
                "python": platform.python_version(),
                "seconds": timings,
                "median_seconds": {name: statistics.median(s) for name, s in timings.items()},
                "imports_ms": imports,
                "heavy_loaded": heavy_loaded,
                "target_seconds": TARGET_SECONDS,
                "target_met": met,
                "no_heavy_imports": no_heavy,
                "predict": predict,
                "predict_targets": {"seconds": PREDICT_SECONDS, "torch_ratio": PREDICT_TORCH_RATIO},
                "predict_targets_met": predict_met,
            }
        )
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def print_predict(predict: dict[str, Any]) -> bool:
    """The predict table (median, ratio to ``import torch``) and its imports; whether every target was met."""
    timings = predict["seconds"]
    torch_median = statistics.median(timings['python -c "import torch"'])
    print()
    print("| command | median s | min s | max s | / import torch | target |")
    print("|---|---:|---:|---:|---:|---|")
    met = True
    for name, seconds in timings.items():
        median = statistics.median(seconds)
        ratio = median / torch_median
        verdict = "-"
        if name.startswith("predict"):
            ok = median < PREDICT_SECONDS and ratio <= PREDICT_TORCH_RATIO
            met = met and ok
            verdict = f"< {PREDICT_SECONDS} s and <= {PREDICT_TORCH_RATIO}x: {'met' if ok else 'MISSED'}"
        print(f"| `{name}` | {median:.3f} | {min(seconds):.3f} | {max(seconds):.3f} | {ratio:.2f} | {verdict} |")
    packages = predict["predict_imports_ms"]
    never = sorted(p for p in packages if p in NEVER_IN_PREDICT)
    slowest = ", ".join(f"{p} {ms:.0f}" for p, ms in sorted(packages.items(), key=lambda item: -item[1])[:6])
    print(f"\npredict imports {sum(packages.values()):.0f} ms in all; slowest: {slowest}")
    print(f"torch, scikit-learn or scipy imported by predict: {', '.join(never) or 'none'}")
    return met and not never


if __name__ == "__main__":
    sys.exit(main())
