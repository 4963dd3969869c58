"""Training speed: one epoch of ``lstmcast.train.fit`` against a minimal hand-written PyTorch loop.

Every arm trains on the same scaled series, the same train/validation origins
(``lstmcast.window.chronological_split``, ``lstmcast.scale.fit_scaler``) and the same batch size, with
Adam, MSE loss and one validation pass per epoch under ``no_grad``.

* **lstmcast** runs ``lstmcast.train.fit`` on ``lstmcast.models.build_model`` with lstmcast's default
  settings: the default ``ModelConfig`` (an LSTM + linear head, wrapped in RevIN window normalisation
  with a linear path beside it) and the default ``TrainConfig`` (gradient clipping at norm 1.0), with
  ``patience`` larger than ``epochs`` so it never stops early. It gathers each batch's windows from the
  one series tensor by index.
* **lstmcast, plain model** is the same loop with ``window_norm="none", linear=False``: exactly the
  minimal arm's network, so the difference to **minimal** is the training loop alone.
* **minimal** is ``nn.LSTM(1, 64, 2, batch_first=True)`` + ``nn.Linear(64, 24)`` on the last hidden
  state, trained over ``X [N, lookback, 1]`` and ``Y [N, horizon]`` materialised once (not timed);
  no clipping, no early-stopping bookkeeping.
* with ``--also-no-clip``, **lstmcast, grad_clip=0** (defaults otherwise) shows what clipping costs.
* with ``--recipes``, the default TRAINING RECIPES of two releases on the same data, each with its own
  batch size, so their epochs compare by throughput (training windows per second), not per step:
  **0.4.0 defaults** (step by step, 2 x 64 LSTM, batch 64, lr 3e-4, MSE) and **0.5 defaults**
  (``--segment auto``, which is 24 for this hourly series at lookback 96; 1 x 64 LSTM; a seed ensemble
  of 3; batch 256; MAE). Issue 13's target: 0.5's throughput at least 5x 0.4.0's.

The three loop arms use the network of lstmcast 0.4.0's defaults (``--segment 0 --ensemble 1``), whatever
the current defaults are, so that the loop comparison stays the same measurement across releases.

Arms alternate (lstmcast, plain, minimal, lstmcast, ...) after one untimed warm-up epoch each, so
drift in the machine's speed hits all alike. The table shows the median wall-clock and CPU seconds
per epoch and their ratios to **minimal**. The target is on wall time; CPU time is shown because it
is far less disturbed by other processes on a busy machine (with one torch thread, the process's CPU
time is the work the loop itself did). Minor page faults per epoch are shown because glibc's heap
trimming can cost a third of an epoch on CPU (see ``--malloc-top-pad`` and docs/benchmarks.md).

    python benchmarks/train_speed.py                      # 20,000 rows, 2 epochs x 3 repeats, 1 thread
    python benchmarks/train_speed.py --epochs 5 --repeats 5 --json benchmarks/out/train_speed.json
    python benchmarks/train_speed.py --device cuda        # on a GPU
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import dataclasses
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from lstmcast.config import ModelConfig, TrainConfig, WindowConfig, auto_segment
from lstmcast.models import build_model
from lstmcast.scale import fit_scaler
from lstmcast.train import EVAL_BATCH, EpochReport, TensorWindows, fit, resolve_device
from lstmcast.window import chronological_split

TARGET_RATIO = 1.15
Epoch = tuple[float, float, int]  # (wall seconds, process CPU seconds, minor page faults)
M_TOP_PAD = -2  # glibc mallopt parameter


def _minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def make_series(rows: int, seed: int = 0) -> np.ndarray:
    """A noisy multi-seasonal sine, ``[rows, 1]`` float32: daily and weekly cycles on hourly steps, a slow trend."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows, dtype=np.float64)
    values = (
        10.0
        + 3.0 * np.sin(2 * np.pi * t / 24)
        + 1.5 * np.sin(2 * np.pi * t / (24 * 7) + 0.3)
        + 0.8 * np.sin(2 * np.pi * t / (24 * 365.25))
        + 0.0001 * t
        + rng.normal(0.0, 0.5, rows)
    )
    return values.astype(np.float32)[:, None]


class Data:
    """The scaled series tensor and the train/validation origins, built exactly as ``Forecaster.fit`` does."""

    def __init__(self, rows: int, window: WindowConfig, device: torch.device, seed: int) -> None:
        values = make_series(rows, seed)
        split = chronological_split(len(values), window, "benchmark")
        scaler = fit_scaler(window.scaler, values[: split.train_end])
        self.values = torch.from_numpy(scaler.transform(values)).to(device)  # [n, 1]
        self.train_origins = split.origins("train", window.lookback, window.horizon)
        self.val_origins = split.origins("val", window.lookback, window.horizon)
        self.window = window


def run_lstmcast(data: Data, model_cfg: ModelConfig, train_cfg: TrainConfig, device: torch.device) -> list[Epoch]:
    """Wall seconds, CPU seconds and minor page faults per epoch of ``lstmcast.train.fit``.

    Wall time is fit's own per-epoch clock (``EpochReport.seconds``: train + validation pass); CPU
    time and page faults are the process's, between successive ``on_epoch`` calls.
    """
    torch.manual_seed(train_cfg.seed)
    model = build_model(model_cfg, 1, data.window.lookback, data.window.horizon).to(device)
    windows = TensorWindows(data.values, data.window.lookback, data.window.horizon)
    epochs: list[Epoch] = []
    cpu_mark, fault_mark = time.process_time(), _minor_faults()

    def on_epoch(report: EpochReport) -> None:
        nonlocal cpu_mark, fault_mark
        now, faults = time.process_time(), _minor_faults()
        epochs.append((report.seconds, now - cpu_mark, faults - fault_mark))
        cpu_mark, fault_mark = now, faults

    result = fit(model, windows, data.train_origins, data.val_origins, train_cfg, on_epoch)
    assert not result.stopped_early and len(epochs) == train_cfg.epochs, "lstmcast stopped early"
    return epochs


def _materialise(values: torch.Tensor, origins: np.ndarray, lookback: int, horizon: int) -> tuple[torch.Tensor, ...]:
    index = torch.as_tensor(origins, device=values.device)[:, None]
    x = values[index + torch.arange(-lookback, 0, device=values.device)].contiguous()  # [N, L, 1]
    y = values[index + torch.arange(horizon, device=values.device), 0].contiguous()  # [N, H]
    return x, y


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_minimal(data: Data, model_cfg: ModelConfig, train_cfg: TrainConfig, device: torch.device) -> list[Epoch]:
    """Wall seconds, CPU seconds and minor page faults per epoch of a plain loop (train + validation pass)."""
    lookback, horizon = data.window.lookback, data.window.horizon
    x_train, y_train = _materialise(data.values, data.train_origins, lookback, horizon)
    x_val, y_val = _materialise(data.values, data.val_origins, lookback, horizon)
    torch.manual_seed(train_cfg.seed)
    lstm = nn.LSTM(1, model_cfg.hidden, model_cfg.layers, batch_first=True).to(device)
    head = nn.Linear(model_cfg.hidden, horizon).to(device)
    optimizer = torch.optim.Adam([*lstm.parameters(), *head.parameters()], lr=train_cfg.lr)
    generator = torch.Generator().manual_seed(train_cfg.seed)
    epochs: list[Epoch] = []
    for _ in range(train_cfg.epochs):
        _sync(device)
        started, cpu_started, faults_started = time.perf_counter(), time.process_time(), _minor_faults()
        lstm.train()
        head.train()
        for batch in torch.randperm(len(x_train), generator=generator).to(device).split(train_cfg.batch_size):
            optimizer.zero_grad()
            states, _ = lstm(x_train[batch])
            loss = nn.functional.mse_loss(head(states[:, -1]), y_train[batch])
            loss.backward()
            optimizer.step()
        lstm.eval()
        head.eval()
        with torch.no_grad():
            forecast = torch.cat([head(lstm(x)[0][:, -1]) for x in x_val.split(EVAL_BATCH)])
            val_loss = float(nn.functional.mse_loss(forecast, y_val))  # a host sync, as in lstmcast
        assert np.isfinite(val_loss)
        epochs.append(
            (time.perf_counter() - started, time.process_time() - cpu_started, _minor_faults() - faults_started)
        )
    return epochs


def machine(device: torch.device) -> dict[str, Any]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def recipe_arms(window: WindowConfig, train_cfg: TrainConfig) -> list[tuple[str, Any, ModelConfig, TrainConfig]]:
    """The default networks and training settings of 0.4.0 and of 0.5 (see the module docstring)."""
    old_model = ModelConfig(hidden=64, layers=2, segment=0, ensemble=1)
    old_train = dataclasses.replace(train_cfg, batch_size=64, lr=3e-4, loss="mse")
    new_model = ModelConfig(segment=auto_segment(window.lookback, 24))  # as a Forecaster resolves it, hourly
    default = TrainConfig()
    new_train = dataclasses.replace(train_cfg, batch_size=default.batch_size, lr=default.lr, loss=default.loss)
    return [
        ("0.4.0 defaults", run_lstmcast, old_model, old_train),
        ("0.5 defaults", run_lstmcast, new_model, new_train),
    ]


def print_throughput(windows: int, wall: dict[str, float]) -> None:
    old, new = windows / wall["0.4.0 defaults"], windows / wall["0.5 defaults"]
    verdict = "met" if new >= 5 * old else "MISSED"
    print(
        f"\nthroughput (training windows per wall second, an epoch's validation pass included): "
        f"0.4.0 defaults {old:,.0f}, 0.5 defaults {new:,.0f}: **{new / old:.1f}x** (target >= 5x: {verdict})"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000, help="series length (default: 20000)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per timed run (default: 2)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of all arms, alternated (default: 3)")
    parser.add_argument("--lookback", type=int, default=96)
    parser.add_argument("--horizon", type=int, default=24)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--grad-clip",
        type=float,
        default=TrainConfig().grad_clip,
        help="lstmcast's gradient clipping (default: lstmcast's own default, 1.0; 0 turns it off)",
    )
    parser.add_argument(
        "--also-no-clip",
        action="store_true",
        help="add a third arm: lstmcast with grad_clip=0, to show what clipping costs",
    )
    parser.add_argument(
        "--recipes",
        action="store_true",
        help="add the default recipes of 0.4.0 and 0.5 as arms, compared by training windows per second",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch.set_num_threads for every arm (default: 1; see docs/benchmarks.md for why)",
    )
    parser.add_argument(
        "--malloc-top-pad",
        type=int,
        default=0,
        metavar="MB",
        help="glibc only: mallopt(M_TOP_PAD, MB) before timing, for every arm (default: 0, glibc's defaults)",
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the results as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:  # noqa: C901 (one straight run of arms, table, JSON)
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.malloc_top_pad:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        if not libc.mallopt(M_TOP_PAD, args.malloc_top_pad << 20):
            raise SystemExit("mallopt(M_TOP_PAD) failed (is this glibc?)")
    device = resolve_device(args.device)
    window = WindowConfig(lookback=args.lookback, horizon=args.horizon)
    # one network read step by step (0.4.0's defaults otherwise): the loop comparison's fixed subject
    model_cfg = ModelConfig(hidden=args.hidden, layers=args.layers, segment=0, ensemble=1)
    plain_cfg = dataclasses.replace(model_cfg, window_norm="none", linear=False)
    train_cfg = TrainConfig(
        epochs=args.epochs,
        patience=args.epochs + 1,  # never stops early
        batch_size=args.batch_size,
        grad_clip=args.grad_clip,
        loss="mse",  # as the minimal loop
        seed=args.seed,
        device=str(device),
    )
    load_before = os.getloadavg()
    data = Data(args.rows, window, device, args.seed)
    print(
        f"{args.rows} rows, {len(data.train_origins)} train / {len(data.val_origins)} val windows, "
        f"lookback {args.lookback}, horizon {args.horizon}, hidden {args.hidden} x {args.layers} layers, "
        f"lstmcast model: window_norm {model_cfg.window_norm}, linear {model_cfg.linear}, grad_clip {args.grad_clip}, "
        f"batch {args.batch_size}, {args.epochs} epochs x {args.repeats} repeats, device {device}, "
        f"{torch.get_num_threads()} torch threads, malloc top pad {args.malloc_top_pad} MB",
        file=sys.stderr,
    )
    arms: list[tuple[str, Any, ModelConfig, TrainConfig]] = [
        ("lstmcast", run_lstmcast, model_cfg, train_cfg),
        ("lstmcast, plain model", run_lstmcast, plain_cfg, train_cfg),
        ("minimal", run_minimal, plain_cfg, train_cfg),
    ]
    if args.also_no_clip:
        arms.append(("lstmcast, grad_clip=0", run_lstmcast, model_cfg, dataclasses.replace(train_cfg, grad_clip=0.0)))
    if args.recipes:
        arms += recipe_arms(window, train_cfg)
    warm_up = Data(window.lookback + window.horizon + 2_000, window, device, args.seed)
    for _, runner, model, cfg in arms:  # untimed: first-call costs (kernel selection, allocator growth)
        runner(warm_up, model, dataclasses.replace(cfg, epochs=1, patience=2), device)
    runs: dict[str, list[list[Epoch]]] = {name: [] for name, *_ in arms}
    for repeat in range(1, args.repeats + 1):
        for name, runner, model, cfg in arms:
            epochs = runner(data, model, cfg, device)
            runs[name].append(epochs)
            per_epoch = ", ".join(f"{wall:.2f} ({cpu:.2f} CPU, {faults} faults)" for wall, cpu, faults in epochs)
            print(f"  repeat {repeat} {name}: {per_epoch} s/epoch", file=sys.stderr, flush=True)
    load_after = os.getloadavg()
    wall = {name: statistics.median(e[0] for run in per_run for e in run) for name, per_run in runs.items()}
    cpu = {name: statistics.median(e[1] for run in per_run for e in run) for name, per_run in runs.items()}
    faults = {name: statistics.median(e[2] for run in per_run for e in run) for name, per_run in runs.items()}
    ratio, cpu_ratio = wall["lstmcast"] / wall["minimal"], cpu["lstmcast"] / cpu["minimal"]
    paired = [
        sum(e[0] for e in a) / sum(e[0] for e in b) for a, b in zip(runs["lstmcast"], runs["minimal"], strict=True)
    ]
    met = ratio <= TARGET_RATIO
    print("| loop | wall s/epoch | vs minimal | CPU s/epoch | vs minimal | page faults/epoch | runs x epochs |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in runs:
        print(
            f"| {name} | {wall[name]:.3f} | {wall[name] / wall['minimal']:.3f} | {cpu[name]:.3f} | "
            f"{cpu[name] / cpu['minimal']:.3f} | {faults[name]:,.0f} | {args.repeats} x {args.epochs} |"
        )
    print("(medians over all timed epochs)")
    verdict = "met" if met else "MISSED"
    print(
        f"\nratio lstmcast / minimal: **{ratio:.3f}** wall (target <= {TARGET_RATIO}: {verdict}), {cpu_ratio:.3f} CPU"
    )
    print(f"per-repeat wall ratios (total time of each pair): {', '.join(f'{r:.3f}' for r in paired)}")
    if args.recipes:
        print_throughput(len(data.train_origins), wall)
    print(f"load average before / after: {load_before[0]:.2f} / {load_after[0]:.2f} on {os.cpu_count()} CPUs")
    if args.json is not None:
        result = {
            "benchmark": "train_speed",
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "lstmcast_model": model_cfg.to_dict(),
            "train_windows": len(data.train_origins),
            "val_windows": len(data.val_origins),
            "machine": machine(device),
            "loadavg_before": load_before,
            "loadavg_after": load_after,
            "epochs_wall_cpu_faults": runs,
            "median_wall_seconds_per_epoch": wall,
            "median_cpu_seconds_per_epoch": cpu,
            "median_minor_faults_per_epoch": faults,
            "ratio": ratio,
            "cpu_ratio": cpu_ratio,
            "paired_ratios": paired,
            "target_ratio": TARGET_RATIO,
            "target_met": met,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
