"""Training speed of every model variant against torch's fused LSTM, on the same tensors.

Each arm is one epoch of ``lstmcast.train.fit`` (the real training loop: batches gathered by index,
Adam, clipping, one validation pass) on ``lstmcast.models.build_model`` with lstmcast's defaults
(RevIN window normalisation and the linear path), differing only in the recurrent part:

* **lstm**: ``nn.LSTM`` (the reference, ratio 1.00)
* **gru**: ``nn.GRU``
* **peephole**: lstmcast's peephole LSTM (``lstmcast/models/peephole.py``)
* **lstm-bidirectional** / **peephole-bidirectional**
* **lstm-attention**: attention over the encoder states
* **lstm-conv5**: the depthwise-separable convolutional front-end, kernel 5
* **peephole-all**: bidirectional + attention + conv 5
* **lstm-segment12** / **peephole-segment12**: segment recurrence (``--segment 12``): the cell runs
  8 steps over the 96-step window instead of 96

The arms alternate (every variant once per repeat, after an untimed warm-up epoch each) so drift in
the machine's speed hits all alike; the table shows median wall and CPU seconds per epoch and the
ratio to **lstm**. The issue's target: peephole at most 3x lstm (lookback 96, hidden 64, 2 layers,
batch 64, one input column).

    python benchmarks/model_speed.py                     # 5,000 rows, 1 epoch x 3 repeats, 1 thread
    python benchmarks/model_speed.py --threads 2 --json benchmarks/out/model_speed_2t.json
    python benchmarks/model_speed.py --device cuda       # on a GPU
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
from pathlib import Path

import torch
from train_speed import Data, Epoch, machine, run_lstmcast  # benchmarks/ is on sys.path when run as a script

from lstmcast.config import ModelConfig, TrainConfig, WindowConfig
from lstmcast.train import resolve_device

TARGET_PEEPHOLE_RATIO = 3.0
VARIANTS: dict[str, dict[str, object]] = {
    "lstm": {},
    "gru": {"model": "gru"},
    "peephole": {"model": "peephole"},
    "lstm-bidirectional": {"bidirectional": True},
    "peephole-bidirectional": {"model": "peephole", "bidirectional": True},
    "lstm-attention": {"attention": True},
    "lstm-conv5": {"conv_kernel": 5},
    "peephole-all": {"model": "peephole", "bidirectional": True, "attention": True, "conv_kernel": 5},
    "lstm-segment12": {"segment": 12},
    "peephole-segment12": {"model": "peephole", "segment": 12},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000, help="series length (default: 5000)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per timed run (default: 1)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of all variants, alternated (default: 3)")
    parser.add_argument("--lookback", type=int, default=96)
    parser.add_argument("--horizon", type=int, default=24)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default: 1)")
    parser.add_argument("--only", default=None, metavar="A,B", help="comma-separated variant names to run")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the results as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    window = WindowConfig(lookback=args.lookback, horizon=args.horizon)
    base = ModelConfig(hidden=args.hidden, layers=args.layers)
    names = [n.strip() for n in args.only.split(",")] if args.only else list(VARIANTS)
    unknown = [name for name in names if name not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variant(s): {', '.join(unknown)}; choose from: {', '.join(VARIANTS)}")
    if "lstm" not in names:
        names.insert(0, "lstm")  # the reference every ratio is taken against
    configs = {name: dataclasses.replace(base, **VARIANTS[name]) for name in names}  # type: ignore[arg-type]
    train_cfg = TrainConfig(
        epochs=args.epochs, patience=args.epochs + 1, batch_size=args.batch_size, seed=args.seed, device=str(device)
    )
    data = Data(args.rows, window, device, args.seed)
    load_before = os.getloadavg()
    print(
        f"{args.rows} rows, {len(data.train_origins)} train / {len(data.val_origins)} val windows, lookback "
        f"{args.lookback}, horizon {args.horizon}, hidden {args.hidden} x {args.layers} layers, batch "
        f"{args.batch_size}, {args.epochs} epoch(s) x {args.repeats} repeats, device {device}, "
        f"{torch.get_num_threads()} torch threads",
        file=sys.stderr,
    )
    warm_up = Data(window.lookback + window.horizon + 1_000, window, device, args.seed)
    for config in configs.values():  # untimed: first-call costs
        run_lstmcast(warm_up, config, dataclasses.replace(train_cfg, epochs=1, patience=2), device)
    runs: dict[str, list[Epoch]] = {name: [] for name in configs}
    for repeat in range(1, args.repeats + 1):
        for name, config in configs.items():
            epochs = run_lstmcast(data, config, train_cfg, device)
            runs[name].extend(epochs)
            print(f"  repeat {repeat} {name}: {', '.join(f'{e[0]:.2f}' for e in epochs)} s/epoch", file=sys.stderr)
    load_after = os.getloadavg()
    wall = {name: statistics.median(e[0] for e in epochs) for name, epochs in runs.items()}
    cpu = {name: statistics.median(e[1] for e in epochs) for name, epochs in runs.items()}
    print("| variant | wall s/epoch | vs lstm | CPU s/epoch | vs lstm |")
    print("|---|---:|---:|---:|---:|")
    for name in runs:
        print(
            f"| {name} | {wall[name]:.2f} | {wall[name] / wall['lstm']:.2f} | {cpu[name]:.2f} | "
            f"{cpu[name] / cpu['lstm']:.2f} |"
        )
    loads = f"{load_before[0]:.2f} -> {load_after[0]:.2f}"
    print(f"(medians of {args.repeats} x {args.epochs} epochs; load average {loads} on {os.cpu_count()} CPUs)")
    if "peephole" in wall:
        ratio = wall["peephole"] / wall["lstm"]
        verdict = "met" if ratio <= TARGET_PEEPHOLE_RATIO else "MISSED"
        print(f"\npeephole / lstm: **{ratio:.2f}** wall (target <= {TARGET_PEEPHOLE_RATIO:g}: {verdict})")
    if args.json is not None:
        result = {
            "benchmark": "model_speed",
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "variants": {name: config.to_dict() for name, config in configs.items()},
            "machine": machine(device),
            "loadavg_before": load_before,
            "loadavg_after": load_after,
            "epochs_wall_cpu_faults": runs,
            "median_wall_seconds_per_epoch": wall,
            "median_cpu_seconds_per_epoch": cpu,
            "ratio_to_lstm": {name: wall[name] / wall["lstm"] for name in wall},
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
