"""The exploration behind 0.5's training defaults (issue 13), on the DEVELOPMENT series only.

A stand-alone training loop over lstmcast's own pieces (the registry's series and settings, the
70/10/20 split, the standard scaler fitted on the training part, build_model, the ridge start in
window-normalised coordinates, TensorWindows), so that ideas could be tried before any became an
option: training losses, learning rates and batch sizes, freezing the linear path, scaling the
network's output by its start's residual, an exponential moving average of the weights, seed
ensembles. Early stopping (patience 20, at most 100 epochs) watches the validation MSE and keeps the
best epoch, epoch 0 (the start) included, as lstmcast does. Target only; series cut to their last
20,000 rows; one torch thread per worker, two workers.

An arm is a JSON object: name, and any of segment (default: a day for sub-daily data, a week of
days, 5 trading days, 13 weeks, 12 months), hidden (64), layers (2), dropout, norm ("last"), lr
(3e-4), batch (64), loss ("mse" | "mae" | "huber"), freeze (linear path fixed at its ridge start),
rscale ("step" | "all": the network's output multiplied by the RMS of the start's training residual,
per horizon step or overall), ema (decay), ens (members), epochs, patience, clip.

    python benchmarks/recipe_explore.py '[{"name": "base"}, {"name": "mae", "loss": "mae"}]' 0,1,2
    python benchmarks/recipe_explore.py '[{"name": "ens3", "loss": "mae", "lr": 1e-3, "batch": 256, "ens": 3}]' 0 taylor

Appends one JSON line per (arm, series, seed) to benchmarks/out/recipe_explore.jsonl (or the 4th
argument) and prints test MSE over the start's and over ridge's. The runs and what they decided are
in docs/benchmarks.md, "The training recipe". What became the defaults was then checked through the
real Forecaster with benchmarks/recipe_study.py --role dev.
"""

import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch
from torch import nn

MAX_ROWS = 20_000
SEGMENT = {"hourly": 24, "half-hourly": 48, "daily": 7, "trading days": 5, "weekly": 13, "monthly": 12}


def prepare(name):
    from series import by_role

    from lstmcast.config import DataConfig, WindowConfig
    from lstmcast.scale import fit_scaler
    from lstmcast.validate import validate_frame
    from lstmcast.window import chronological_split

    spec = next(s for s in by_role("dev") if s.name == name)
    frame = spec.load()
    frame = frame[[c for c in ("time", "y") if c in frame]]
    if len(frame) > MAX_ROWS:
        frame = frame.iloc[-MAX_ROWS:].reset_index(drop=True)
    window = WindowConfig(lookback=spec.lookback, horizon=spec.horizon)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = validate_frame(frame, DataConfig(target="y", time_col="time" if "time" in frame else None))
    split = chronological_split(len(series), window)
    scaler = fit_scaler("standard", series.values[: split.train_end])
    values = scaler.transform(series.values)
    L, H = spec.lookback, spec.horizon
    tr, va, te = (split.origins(p, L, H) for p in ("train", "val", "test"))
    te = te[te >= spec.season]
    return spec, values, tr, va, te


def run(name, arm, seed):
    from lstmcast.baselines import fit_ridge
    from lstmcast.config import ModelConfig
    from lstmcast.models import build_model
    from lstmcast.train import TensorWindows, predict_windows

    torch.set_num_threads(1)
    spec, values, tr, va, te = prepare(name)
    L, H = spec.lookback, spec.horizon
    target = values[:, 0].astype(np.float64)
    seg = arm.get("segment", SEGMENT[spec.group])
    if seg and L % seg:
        seg = 0
    mc = ModelConfig(
        hidden=arm.get("hidden", 64),
        layers=arm.get("layers", 2),
        segment=seg,
        dropout=arm.get("dropout", 0.0),
        window_norm=arm.get("norm", "last"),
        ensemble=1,  # members ("ens") are trained one by one below; the default is an ensemble of 3 since 0.5
    )
    torch.manual_seed(seed)
    model = build_model(mc, 1, L, H)
    ridge_raw = fit_ridge(target, tr, va, L, H)
    ridge = fit_ridge(target, tr, va, L, H, window_norm=mc.window_norm)
    model.start_from_linear(
        torch.as_tensor(ridge.weight.T, dtype=torch.float32), torch.as_tensor(ridge.bias, dtype=torch.float32)
    )
    if arm.get("head_init"):
        nn.init.normal_(model.core.head.weight, std=arm["head_init"])
    windows = TensorWindows(torch.from_numpy(values.astype(np.float32)), L, H)
    tri, vai, tei = (torch.as_tensor(o) for o in (tr, va, te))
    rs = arm.get("rscale")
    if rs:
        resid = predict_windows(model, windows, tri) - windows.targets(tri)
        scale = resid.pow(2).mean(0).sqrt() if rs == "step" else resid.pow(2).mean().sqrt().expand(H)
        arm = dict(arm, _scale=scale)

    def mse(idx):
        return float(nn.functional.mse_loss(predict_windows(model, windows, idx), windows.targets(idx)))

    start_test = mse(tei)
    K = arm.get("ens", 1)
    preds = []
    total_secs = 0.0
    eps_run = []
    best_eps = []
    base_state = {k: v.clone() for k, v in model.state_dict().items()}
    for member in range(K):
        if member:
            torch.manual_seed(seed * 1000 + member)
            fresh = build_model(mc, 1, L, H)
            fresh.load_state_dict(base_state)  # same ridge start
            # re-randomise the core except its zeroed head
            for m in fresh.core.modules():
                if m is not fresh.core.head and hasattr(m, "reset_parameters"):
                    m.reset_parameters()
            model = fresh
        if rs:
            model.core.head.register_forward_hook(lambda mod, inp, out, sc=arm["_scale"]: out * sc)
        p, secs, ep, best_ep, vg = train_member(model, arm, windows, tri, vai, seed * 1000 + member)
        preds.append(predict_windows(model, windows, tei))
        total_secs += secs
        eps_run.append(ep)
        best_eps.append(best_ep)
    pred = torch.stack(preds).mean(0)
    test = float(nn.functional.mse_loss(pred, windows.targets(tei)))
    ridge_test = float(ridge_raw.mse(target, te))
    return dict(
        series=name,
        seed=seed,
        arm=arm.get("name"),
        test=test,
        start=start_test,
        ridge=ridge_test,
        best_ep=best_eps[0] if K == 1 else best_eps,
        epochs=eps_run[0] if K == 1 else eps_run,
        secs=total_secs,
        val_gain=vg,
    )


def train_member(model, arm, windows, tri, vai, seed):  # noqa: C901 (one loop with every option)
    from lstmcast.train import predict_windows

    lin_params = list(model.linear.parameters())
    core_params = [p for n, p in model.named_parameters() if not n.startswith("linear.")]
    freeze = arm.get("freeze", False)
    if freeze:
        for p in lin_params:
            p.requires_grad_(False)
    lr = arm.get("lr", 3e-4)
    groups = [{"params": core_params, "lr": lr, "weight_decay": arm.get("wd", 0.0)}]
    if not freeze:
        groups.append({"params": lin_params, "lr": lr * arm.get("lin_mult", 1.0)})
    opt_name = arm.get("opt", "adam")
    opt = (torch.optim.AdamW if opt_name == "adamw" else torch.optim.Adam)(groups)
    lossname = arm.get("loss", "mse")
    lossfn = {
        "mse": nn.functional.mse_loss,
        "mae": nn.functional.l1_loss,
        "huber": lambda a, b: nn.functional.huber_loss(a, b, delta=arm.get("delta", 1.0)),
    }[lossname]
    bs = arm.get("batch", 64)
    epochs, patience = arm.get("epochs", 100), arm.get("patience", 20)
    sched = None
    if arm.get("sched") == "plateau":
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=arm.get("sp", 2))
    val_metric = arm.get("val", "mse")

    def vloss():
        with torch.no_grad():
            model.eval()
            p = predict_windows(model, windows, vai)
            return (
                float(lossfn(p, windows.targets(vai)))
                if val_metric == "loss"
                else float(nn.functional.mse_loss(p, windows.targets(vai)))
            )

    ema = {n: q.detach().clone() for n, q in model.named_parameters()} if arm.get("ema") else None

    def swap():
        if ema is None:
            return
        with torch.no_grad():
            for n, q in model.named_parameters():
                t = q.detach().clone()
                q.copy_(ema[n])
                ema[n].copy_(t)

    gen = torch.Generator().manual_seed(seed)
    best = vloss()
    best_state = {k: v.clone() for k, v in model.state_dict().items()}
    best_ep = 0
    start_val = best
    t0 = time.perf_counter()
    ep = 0
    for ep in range(1, epochs + 1):
        model.train()
        order = tri[torch.randperm(len(tri), generator=gen)]
        for b in order.split(bs):
            opt.zero_grad(set_to_none=True)
            loss = lossfn(model(windows.inputs(b)), windows.targets(b))
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), arm.get("clip", 1.0))
            opt.step()
            if ema is not None:
                with torch.no_grad():
                    for n, q in model.named_parameters():
                        ema[n].lerp_(q, 1 - arm["ema"])
        swap()
        v = vloss()
        if sched:
            sched.step(v)
        if v < best:
            best, best_ep = v, ep
            best_state = {k: x.clone() for k, x in model.state_dict().items()}
        swap()
        if ep - best_ep >= patience:
            break
    secs = time.perf_counter() - t0
    model.load_state_dict(best_state)
    return None, secs, ep, best_ep, best / start_val


def job(args):
    return run(*args)


if __name__ == "__main__":
    from series import by_role

    arms = json.loads(sys.argv[1])
    seeds = [int(s) for s in sys.argv[2].split(",")] if len(sys.argv) > 2 else [0]
    names = sys.argv[3].split(",") if len(sys.argv) > 3 and sys.argv[3] else [s.name for s in by_role("dev")]
    out = sys.argv[4] if len(sys.argv) > 4 else str(Path(__file__).resolve().parent / "out" / "recipe_explore.jsonl")
    Path(out).parent.mkdir(exist_ok=True)
    jobs = [(n, a, s) for a in arms for n in names for s in seeds]
    t0 = time.time()
    with ProcessPoolExecutor(2) as pool, open(out, "a") as f:
        for r in pool.map(job, jobs):
            f.write(json.dumps(r) + "\n")
            f.flush()
            print(
                f"{r['arm']:12s} {r['series']:22s} s{r['seed']} test/start {r['test'] / r['start']:.4f} "
                f"test/ridge {r['test'] / r['ridge']:.4f} best {r['best_ep']}/{r['epochs']} {r['secs']:.1f}s",
                flush=True,
            )
    print("took", time.time() - t0)
