"""lstmcast's default training on the development or the report series (issue 13): does the network
earn its keep?

For every series of one role in benchmarks/series.py, lstmcast is fitted through the Python API with its
DEFAULT settings apart from the registry's lookback, horizon and season (and any `--set`), the default
70/10/20 split, one torch thread, target only (exogenous columns are dropped), and scored on the test part
(``forecaster.metrics_``). Series longer than 20,000 rows keep their last 20,000. Besides the model: ridge,
seasonal naive and naive from ``metrics_["baselines"]``, and the untrained start (the ridge fitted in
window-normalised coordinates that the linear path starts from), scored on the same test origins
(segment_study.start_test_mse). "net/start" is the trained model's test MSE over its start's: below 1 the
network improved on the linear model it starts from.

Roles: defaults are CHOSEN with `--role dev` only. `--role report` is for the published figures, run once
with the defaults as released; a report run must never feed back into a default (docs/benchmarks.md says
which run is which). `--role holdout` (series.py, rule 3): unseen series, run ONCE to report a later change
of the defaults; the commit that publishes it moves them to HOLDOUT_USED.

    python benchmarks/recipe_study.py --role dev                        # out/recipe_dev.json
    python benchmarks/recipe_study.py --role dev --set ensemble=1 --tag single
    python benchmarks/recipe_study.py --role report                     # out/recipe_report.json
    python benchmarks/recipe_study.py --role dev --series taylor --seeds 0 1 2

Each (series, seed) runs in one of two worker processes (one thread each), so timings are noisy on a
2-core machine; record the load average beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

MAX_ROWS = 20_000


def load(name: str, role: str):
    from series import by_role

    spec = next(s for s in by_role(role) if s.name == name)
    frame = spec.load()
    rows = len(frame)
    frame = frame[[c for c in ("time", "y") if c in frame]]  # target only
    if len(frame) > MAX_ROWS:
        frame = frame.iloc[-MAX_ROWS:].reset_index(drop=True)
    return spec, frame, rows


def parse_set(items: list[str]) -> dict:
    from lstmcast.tune import parse_grid

    out = {}
    for name, values in parse_grid(items).items():
        if not isinstance(values, list) or len(values) != 1:
            raise SystemExit(f"--set {name}: give one value")
        out[name] = values[0]
    return out


def run_one(name: str, role: str, seed: int, overrides: dict) -> dict:
    import torch
    from role_runner import quiet_fit
    from segment_study import start_test_mse

    from lstmcast import Forecaster
    from lstmcast.train import use_threads

    use_threads(1)
    spec, frame, rows = load(name, role)
    time_col = "time" if "time" in frame else None
    L, H, m = spec.lookback, spec.horizon, spec.season
    kwargs = dict(target="y", time_col=time_col, lookback=L, horizon=H, season=m, seed=seed, **overrides)
    fc = Forecaster(**kwargs)
    seconds = quiet_fit(fc, frame)
    met, base = fc.metrics_, fc.metrics_["baselines"]
    # The start in the coordinates the model chose (window_norm auto may leave "last").
    start = start_test_mse(frame, time_col, L, H, m, window_norm=fc.window_norm_)
    return dict(
        series=name,
        seed=seed,
        group=spec.group,
        rows=rows,
        rows_used=len(frame),
        lookback=L,
        horizon=H,
        season=m,
        segment=fc.segment_,
        window_norm=fc.window_norm_,
        threads=torch.get_num_threads(),
        train_s=seconds,
        epochs_run=len(fc.history_),
        best_epoch=fc.best_epoch_,
        mse=met["mse"],
        mae=met["mae"],
        start=start,
        ridge=base["ridge"]["mse"],
        seasonal_naive=base["seasonal_naive"]["mse"],
        naive=base["naive"]["mse"],
        n_origins=met["n_origins"],
        val_history=[h["val_loss"] for h in fc.history_],  # what another patience would have stopped at
    )


def table(rows: list[dict]) -> str:
    head = (
        "| series | frequency | rows used | segment | seed | epochs run | best | train s | model MSE | start MSE | "
        "ridge MSE | net/start | model/ridge | model/snaive |"
    )
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for r in rows:
        best = r["best_epoch"] if isinstance(r["best_epoch"], int) else ",".join(map(str, r["best_epoch"]))
        lines.append(
            f"| {r['series']} | {r['group']} | {r['rows_used']} | {r['segment']} | {r['seed']} | {r['epochs_run']} | "
            f"{best} | {r['train_s']:.1f} | {r['mse']:.4g} | {r['start']:.4g} | {r['ridge']:.4g} | "
            f"{r['mse'] / r['start']:.4f} | {r['mse'] / r['ridge']:.4f} | {r['mse'] / r['seasonal_naive']:.4f} |"
        )
    return "\n".join(lines)


def summarise(rows: list[dict]) -> dict:
    """Per series the mean ratio over seeds, then the median and counts over series. A model that kept
    its start (best epoch 0) scores a ratio of 1 up to float32 rounding, so "beat" and "worse" need 0.1%."""
    names = sorted({r["series"] for r in rows})
    start = [np.mean([r["mse"] / r["start"] for r in rows if r["series"] == n]) for n in names]
    ridge = [np.mean([r["mse"] / r["ridge"] for r in rows if r["series"] == n]) for n in names]
    return dict(
        series=len(names),
        median_net_over_start=float(np.median(start)),
        beat_start=int(sum(v < 0.999 for v in start)),
        beat_start_by_3pct=int(sum(v <= 0.97 for v in start)),
        worse_than_start=int(sum(v > 1.001 for v in start)),
        median_model_over_ridge=float(np.median(ridge)),
        beat_ridge=int(sum(v < 0.999 for v in ridge)),
        worst_model_over_ridge=float(max(ridge)),
        train_s_total=float(sum(r["train_s"] for r in rows)),
    )


def main() -> None:
    from series import by_role

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", choices=("dev", "report", "holdout"), required=True)
    parser.add_argument("--series", action="append", help="a series of that role; repeat for several (default all)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a Forecaster setting")
    parser.add_argument("--tag", default="", help="suffix of the output file name")
    args = parser.parse_args()
    overrides = parse_set(args.set)
    names = [s.name for s in by_role(args.role) if not args.series or s.name in args.series]
    jobs = [(n, args.role, seed, overrides) for n in names for seed in args.seeds]
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        results = list(pool.map(run_one, *zip(*jobs, strict=True)))
    took = time.perf_counter() - t0
    summary = summarise(results)
    print(table(results))
    print(
        f"\n{args.role}: median net/start {summary['median_net_over_start']:.4f}; beat start on "
        f"{summary['beat_start']}/{summary['series']} ({summary['beat_start_by_3pct']} by >= 3%, worse on "
        f"{summary['worse_than_start']}); median model/ridge {summary['median_model_over_ridge']:.4f}, beat ridge "
        f"on {summary['beat_ridge']}/{summary['series']}, worst {summary['worst_model_over_ridge']:.4f}; "
        f"training {summary['train_s_total']:.0f} s in all; took {took:.0f} s; load average before "
        f"{load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}"
    )
    out = HERE / "out" / f"recipe_{args.role}{'_' + args.tag if args.tag else ''}.json"
    out.parent.mkdir(exist_ok=True)
    record = dict(took_s=took, args=vars(args), overrides=overrides, load=[load_before, os.getloadavg()])
    out.write_text(json.dumps(dict(record, summary=summary, results=results), indent=1, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
