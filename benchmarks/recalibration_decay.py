"""Time-weighted nightly recalibration (issue 16), a probe on the DEVELOPMENT series: recent errors
weigh more than old ones when the bands are refreshed.

``recalibration.py`` found that recalibrating on every origin since validation ("all") adapts slowly
to drift, while short windows (2 to 5 seasons) are noisy. The weighted split-conformal quantile of
Barber et al. (2023, "Conformal prediction beyond exchangeability") sits between them: every
calibration origin keeps a weight ``0.5 ** (age / half_life)``, ``age`` being how many rows before
the block's last usable origin it lies, and each band's offsets are the weighted quantiles of the
errors with the new point's weight 1 put at plus (minus) infinity. With every weight 1 this is
exactly lstmcast's split conformal (``lstmcast.intervals.fit_intervals``); the script checks that on
every series (``unit_weight_check``). The arms use the library's weighted quantiles
(``fit_intervals(..., weights=decay_weights(ages, half_life))``, what ``lstmcast calibrate
--half-life`` runs), checked against this script's own reading of the definition on every block
(``weighted_check``), and "all" against ``recalibration.py``'s "all" arm (``calibrate`` itself)
where that run's JSON is here (``all_check``; a model retrained since, as traffic_volume was with
``--epochs 200``, differs).

Set-up as ``recalibration.py``: each series fitted with its defaults (the registry's lookback,
horizon, season; ``levels="80,95"``, or ``"80"`` where validation is too short), seed 0, one thread;
the test origins cut into blocks of one season, at most 60 kept; before each block, the calibration
origins are every origin from the first validation origin to the last whose horizon ends before the
block (no leakage, as there). The network does not change, so every arm scores the same forecasts.
Arms: ``trained``, ``all`` (every weight 1), and half-lives of 10, 30 and 100 blocks' worth of origins.

    python benchmarks/recalibration_decay.py --role dev        # out/recalibration_decay_dev.json
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from recalibration import block_length, blocks_of, fit_with_levels  # noqa: E402
from role_runner import run_roles  # noqa: E402

LEVELS = (80.0, 95.0)
HALF_LIVES = (10, 30, 100)  # in blocks (seasons) of origins
ARMS = ("trained", "all", *(f"hl{h}" for h in HALF_LIVES))


def weighted_offsets(errors: np.ndarray, weights: np.ndarray, levels: tuple[float, ...]) -> np.ndarray:
    """``[2, levels, H]`` lower and upper offsets: per step, the weighted quantiles of ``errors [N, H]``
    (spread units) with the new point's weight 1 at minus and plus infinity; equal to
    ``fit_intervals``' ranks when every weight is 1."""
    order = np.argsort(errors, axis=0, kind="stable")  # [N, H]
    ranked = np.take_along_axis(errors, order, axis=0)
    cumulative = np.cumsum(weights[order], axis=0) / (weights.sum() + 1.0)  # [N, H]
    out = np.empty((2, len(levels), errors.shape[1]))
    for j, level in enumerate(levels):
        alpha = 1 - level / 100
        # upper: the first error whose weight below and at it reaches 1 - alpha/2
        up = np.argmax(cumulative >= 1 - alpha / 2 - 1e-9, axis=0)
        reached = cumulative[-1] >= 1 - alpha / 2 - 1e-9
        up = np.where(reached, up, len(errors) - 1)  # the infinite point: the largest error, as the library caps
        # lower: the last error whose weight at and below it stays within alpha/2 (at least the first)
        low = np.maximum((cumulative <= alpha / 2 + 1e-9).sum(axis=0) - 1, 0)
        steps = np.arange(errors.shape[1])
        out[0, j], out[1, j] = ranked[low, steps], ranked[up, steps]
    return out


def run_one(name: str, role: str, seed: int, cap: int) -> dict:  # noqa: C901 (one straight run: fit, arms, checks)
    from intervals import model_rows
    from recipe_study import load

    from lstmcast.intervals import decay_weights, fit_intervals, interval_scores, window_spread
    from lstmcast.train import use_threads

    use_threads(1)
    spec, frame, rows = load(name, role)
    L, H = spec.lookback, spec.horizon
    fc, fit_s = fit_with_levels(frame, spec, seed)
    have = tuple(lv for lv in LEVELS if lv in fc.state_.intervals.levels)
    seen = model_rows(fc, frame)
    series, val, test = seen.series, seen.val, seen.test
    target, scaled, scale = seen.target, seen.scaled, seen.scale
    steps, lags = np.arange(H), np.arange(L)
    norm = fc.window_norm_
    pool = np.arange(val[0], test[-1] + 1)  # every origin from validation on, as calibrate's "all" takes them
    forecast = fc.forecast_origins(series, pool)
    spread = window_spread(scaled[pool[:, None] - L + lags], norm) * scale  # original units
    actual = target[pool[:, None] + steps]
    errors = (actual - forecast) / spread  # [N, H] spread units, as the model's offsets are
    at = {int(o): i for i, o in enumerate(pool)}

    # With every weight 1 the weighted quantiles are the library's split conformal: checked.
    own = fit_intervals(errors[: len(val)], np.ones((len(val), 1)), have, norm, name)
    mine = weighted_offsets(errors[: len(val)], np.ones(len(val)), have)
    unit_weight_check = float(max(np.abs(mine[0] - own.lower).max(), np.abs(mine[1] - own.upper).max()))

    K = block_length(spec)
    blocks, total = blocks_of(test, K, cap)
    weighted_check = 0.0
    low = {a: {lv: [] for lv in have} for a in ARMS}
    high = {a: {lv: [] for lv in have} for a in ARMS}
    kept = []
    for block in blocks:
        o = int(block[0])
        idx = np.array([at[int(b)] for b in block])
        kept.append(idx)
        usable = pool <= o - H  # whose whole horizon ends before the block
        age = (o - H - pool[usable]).astype(np.float64)
        e = errors[usable]
        for arm in ARMS:
            if arm == "trained":
                offsets = np.stack([fc.state_.intervals.lower, fc.state_.intervals.upper])
            else:
                half = math.inf if arm == "all" else float(int(arm[2:]) * K)
                weights = np.ones(len(e)) if arm == "all" else decay_weights(age, half)
                fitted = fit_intervals(e, np.ones((len(e), 1)), have, norm, name, weights=weights)
                offsets = np.stack([fitted.lower, fitted.upper])  # the library's weighted quantiles
                if arm != "all":  # against this script's own reading of the definition
                    weighted_check = max(
                        weighted_check, float(np.abs(offsets - weighted_offsets(e, weights, have)).max())
                    )
            for j, lv in enumerate(have):
                low[arm][lv].append(forecast[idx] + offsets[0, j] * spread[idx])
                high[arm][lv].append(forecast[idx] + offsets[1, j] * spread[idx])
    rows_kept = np.concatenate(kept)
    act = actual[rows_kept]
    arms = {}
    for arm in ARMS:
        bands = {lv: (np.concatenate(low[arm][lv]), np.concatenate(high[arm][lv])) for lv in have}
        arms[arm] = {
            k: dict(coverage=v["coverage"], width=v["width"], interval_score=v["interval_score"])
            for k, v in interval_scores(act, bands).items()
        }
    # "all" against recalibration.py's own "all" arm (lstmcast calibrate itself), where its JSON is here.
    reference = HERE / "out" / f"recalibration_{role}.json"
    all_check = None
    if reference.exists():
        import json

        theirs = {r["series"]: r for r in json.loads(reference.read_text())["results"]}.get(name)
        if theirs is not None and theirs["blocks_kept"] == len(blocks):
            all_check = abs(theirs["arms"]["all"]["bands"]["80"]["coverage"] - arms["all"]["80"]["coverage"])
    return dict(
        series=name,
        group=spec.group,
        all_check=all_check,
        weighted_check=weighted_check,
        block=K,
        blocks_kept=len(blocks),
        blocks_total=total,
        scored_points=int(len(rows_kept) * H),
        fit_s=fit_s,
        unit_weight_check=unit_weight_check,
        arms=arms,
    )


def progress(r: dict) -> str:
    cov = " ".join(f"{a} {r['arms'][a]['80']['coverage']:.3f}" for a in ARMS)
    return f"fit {r['fit_s']:.0f} s; cov80 {cov}; check {r['unit_weight_check']:.1e}; load {os.getloadavg()[0]:.2f}"


def check_failures(r: dict) -> list[str]:
    out = [f"unit weights differ from fit_intervals by {r['unit_weight_check']:.3g}"] if r["unit_weight_check"] else []
    if r["weighted_check"]:
        out.append(f"the library's weighted offsets differ from this script's by {r['weighted_check']:.3g}")
    if r["all_check"]:
        out.append(f"'all' differs from recalibration.py's by {r['all_check']:.3g} in 80% coverage")
    return out


def summarise(rows: list[dict]) -> dict:
    out: dict = {"series": len(rows)}
    points = np.array([r["scored_points"] for r in rows], dtype=float)
    for arm in ARMS:
        cov = np.array([r["arms"][arm]["80"]["coverage"] for r in rows])
        score = np.array(
            [r["arms"][arm]["80"]["interval_score"] / r["arms"]["all"]["80"]["interval_score"] for r in rows]
        )
        out[arm] = dict(
            pooled_80=float((cov * points).sum() / points.sum()),
            in_70_90=int(((cov >= 0.7) & (cov <= 0.9)).sum()),
            outside=[f"{r['series']} {100 * c:.1f}" for r, c in zip(rows, cov, strict=True) if not 0.7 <= c <= 0.9],
            median_score_vs_all=float(np.median(score)),
            score_below_all=int((score < 1).sum()),
        )
    return out


def table(rows: list[dict]) -> str:
    head = "| series | K | blocks | " + " | ".join(f"cov 80: {a}" for a in ARMS) + " | "
    head += " | ".join(f"IS 80 / all: {a}" for a in ARMS if a not in ("all",)) + " |"
    lines = [head, "|---|" + "---:|" * (head.count("|") - 2)]
    for r in rows:
        A = r["arms"]
        cov = " | ".join(f"{100 * A[a]['80']['coverage']:.1f}" for a in ARMS)
        ratio = " | ".join(
            f"{A[a]['80']['interval_score'] / A['all']['80']['interval_score']:.3f}" for a in ARMS if a != "all"
        )
        lines.append(f"| {r['series']} | {r['block']} | {r['blocks_kept']} ({r['blocks_total']}) | {cov} | {ratio} |")
    return "\n".join(lines)


def add_options(parser) -> None:
    parser.add_argument("--max-blocks", type=int, default=60, help="blocks kept per series, evenly spread (60)")


def main() -> None:
    run_roles(
        "recalibration_decay",
        __doc__,
        run_one,
        progress,
        check_failures,
        summarise,
        table,
        add_options=add_options,
        run_args=lambda args: (args.max_blocks,),
    )


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
