"""The driver the per-role benchmarks share (intervals.py, quantiles.py, recalibration.py): the command
line (--role, --series, --seed, the script's own options, --workers, --json), ``run_one(name, role,
seed, *extra)`` over the role's series in worker processes (one line per series as it finishes, and
``CHECK FAILED`` for each failed check), the results back in registry order, their table and summary,
and ``out/<script>_<role>.json`` with ``took_s``, ``args``, ``load``, ``summary`` and ``results``."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def quiet_fit(fc, frame, **fit_kwargs) -> float:
    """Fit the Forecaster ``fc`` on ``frame`` with its warnings silenced (a benchmark's output is its
    table); the seconds it took."""
    import warnings

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc.fit(frame, **fit_kwargs)
    return time.perf_counter() - started


def print_summary(summary: dict, results: list[dict]) -> None:
    """The default final print: the summary as JSON."""
    print(json.dumps(summary, indent=1))


def run_roles(
    script: str,
    doc: str,
    run_one: Callable[..., dict],
    progress: Callable[[dict], str],
    check_failures: Callable[[dict], list[str]],
    summarise: Callable[[list[dict]], dict],
    table: Callable[[list[dict]], str],
    *,
    role: dict[str, Any] | None = None,
    add_options: Callable[[argparse.ArgumentParser], None] | None = None,
    run_args: Callable[[argparse.Namespace], tuple] = lambda args: (),
    order: Callable[[argparse.Namespace, list], Sequence] | None = None,
    final: Callable[[dict, list[dict]], None] = print_summary,
    brief_load: bool = False,
) -> None:
    """Run ``script``'s benchmark from the command line.

    ``doc``'s first paragraph is the help's description; ``role`` the keywords of --role besides its
    choices (default: required, "dev first; report once"); ``add_options`` adds the script's own options
    after --seed; ``run_args(args)`` are the arguments ``run_one`` takes after the seed; ``order(args,
    specs)`` the specs in the order they are submitted (default registry order); ``progress(r)`` the
    per-series line after "[elapsed s] series: "; ``final(summary, results)`` prints what follows the
    table (default the summary as JSON); ``brief_load`` prints the one-minute load averages only in the
    "took" line."""
    from series import by_role

    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    role_kwargs = dict(required=True, help="dev first; report once") if role is None else role
    parser.add_argument("--role", choices=("dev", "report"), **role_kwargs)
    parser.add_argument("--series", action="append", help="a series of that role; repeat for several (default all)")
    parser.add_argument("--seed", type=int, default=0)
    if add_options is not None:
        add_options(parser)
    parser.add_argument("--workers", type=int, default=2, help="processes, one thread each (default 2)")
    parser.add_argument("--json", type=Path, default=None, help=f"default benchmarks/out/{script}_ROLE.json")
    args = parser.parse_args()
    specs = [s for s in by_role(args.role) if not args.series or s.name in args.series]
    names = [s.name for s in specs]
    submit = order(args, specs) if order is not None else specs
    extra = run_args(args)
    load_before = os.getloadavg()
    print(f"{len(names)} {args.role} series, {args.workers} workers; load average before {load_before}", flush=True)
    t0 = time.perf_counter()
    results = []
    with ProcessPoolExecutor(args.workers) as pool:
        futures = {pool.submit(run_one, s.name, args.role, args.seed, *extra): s.name for s in submit}
        for future in as_completed(futures):
            r = future.result()
            results.append(r)
            print(f"[{time.perf_counter() - t0:6.0f} s] {r['series']}: {progress(r)}", flush=True)
            for problem in check_failures(r):
                print(f"  CHECK FAILED {r['series']}: {problem}", flush=True)
    took = time.perf_counter() - t0
    load_after = os.getloadavg()
    results.sort(key=lambda r: names.index(r["series"]))
    summary = summarise(results)
    print()
    print(table(results))
    print()
    final(summary, results)
    if brief_load:
        print(f"took {took:.0f} s; load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    else:
        print(f"took {took:.0f} s; load average before {load_before}, after {load_after}")
    out = args.json or HERE / "out" / f"{script}_{args.role}.json"
    out.parent.mkdir(exist_ok=True)
    record = dict(took_s=took, args=vars(args), load=[load_before, load_after])
    out.write_text(json.dumps(dict(record, summary=summary, results=results), indent=1, default=str))
    print(f"wrote {out}")
