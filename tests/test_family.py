"""The LSTM family behind one set of flags: every variant trains from the CLI, saves, loads and
forecasts identically; attention weights are retrievable; the convolution is causal; the
regularisation settings do what they say and are recorded in the artifact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from conftest import TINY, TINY_FLAGS

from lstmcast import ConfigError, Forecaster, TrainConfig
from lstmcast.cli import cli
from lstmcast.config import MODELS, ModelConfig
from lstmcast.models import ConvFrontEnd, build_model
from lstmcast.train import TensorWindows, fit, make_optimizer

VARIANTS: dict[str, dict[str, object]] = {
    "lstm": {},
    "gru": {"model": "gru"},
    "peephole-stacked": {"model": "peephole", "layers": 2, "dropout": 0.1},
    "bidirectional-gru": {"model": "gru", "bidirectional": True},
    "attention-lstm": {"attention": True},
    "conv-bidirectional-peephole-attention": {
        "model": "peephole",
        "bidirectional": True,
        "attention": True,
        "conv_kernel": 3,
    },
    "regularised": {"input_dropout": 0.2, "weight_decay": 0.01, "l1": 1e-4, "grad_clip": 0.5},
    "segment-lstm": {"segment": 4},
    "segment-gru-stacked": {"model": "gru", "segment": 3, "layers": 2},
    "segment-conv-bidirectional-peephole-attention": {
        "model": "peephole",
        "segment": 6,
        "bidirectional": True,
        "attention": True,
        "conv_kernel": 3,
    },
}


def as_flags(settings: dict[str, object]) -> list[str]:
    """Forecaster keyword arguments as the CLI flags that set them (``True`` is a bare switch)."""
    return [f"--{k.replace('_', '-')}" if v is True else f"--{k.replace('_', '-')}={v}" for k, v in settings.items()]


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.mark.parametrize("settings", VARIANTS.values(), ids=VARIANTS.keys())
def test_every_variant_trains_from_the_cli_and_forecasts_the_same_after_reload(
    settings: dict[str, object], tmp_path: Path, csv_file: Path
) -> None:
    result = run("train", csv_file, "-o", tmp_path / "m", "--quiet", *TINY_FLAGS, *as_flags(settings))
    assert result.exit_code == 0, result.stderr
    forecast = run("predict", tmp_path / "m", csv_file)
    assert forecast.exit_code == 0, forecast.stderr
    in_memory = Forecaster(**{**TINY, **settings}).fit(pd.read_csv(csv_file)).predict(pd.read_csv(csv_file))
    reloaded = pd.read_csv(pd.io.common.StringIO(forecast.stdout))
    np.testing.assert_allclose(reloaded["y"], in_memory["y"], rtol=1e-5)


def test_the_artifact_records_every_family_setting(tmp_path: Path, frame: pd.DataFrame) -> None:
    settings = {"model": "gru", "bidirectional": True, "attention": True, "conv_kernel": 3, "input_dropout": 0.1}
    Forecaster(**TINY, **settings, weight_decay=0.01, l1=1e-5).fit(frame).save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "manifest.json").read_text())["config"]
    assert {key: config["model"][key] for key in settings} == settings
    assert (config["train"]["weight_decay"], config["train"]["l1"]) == (0.01, 1e-5)
    loaded = Forecaster.load(tmp_path / "m", device="cpu")
    assert {key: getattr(loaded, key) for key in settings} == settings


def test_info_describes_the_variant_and_its_regularisation(tmp_path: Path, csv_file: Path) -> None:
    run(
        "train",
        csv_file,
        "-o",
        tmp_path / "m",
        "--quiet",
        *TINY_FLAGS,
        "--model",
        "gru",
        "--attention",
        "--l1",
        "0.001",
    )
    shown = run("info", tmp_path / "m").stderr
    assert "gru: 1 layer(s) x 4 hidden, attention" in shown
    assert "l1 0.001" in shown
    assert "validation MSE" in shown and "at the start" in shown


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_every_encoder_maps_a_window_to_the_horizon(model: str, bidirectional: bool) -> None:
    config = ModelConfig(
        ensemble=1,
        model=model,
        hidden=5,
        layers=2,
        bidirectional=bidirectional,
        attention=True,
        conv_kernel=3,
        window_norm="last",
    )
    network = build_model(config, n_inputs=2, lookback=12, horizon=4)
    forecast, weights = network.explain(torch.randn(3, 12, 2))
    assert forecast.shape == (3, 4)
    assert weights is not None and weights.shape == (3, 12)


# -- attention -------------------------------------------------------------------------------


def test_attention_weights_cover_the_window_and_sum_to_one(tmp_path: Path, csv_file: Path) -> None:
    run("train", csv_file, "-o", tmp_path / "m", "--quiet", *TINY_FLAGS, "--attention")
    result = run("predict", tmp_path / "m", csv_file, "-o", tmp_path / "f.csv", "--explain", "-")
    assert result.exit_code == 0, result.stderr
    weights = pd.read_csv(pd.io.common.StringIO(result.stdout))
    data = pd.read_csv(csv_file)
    assert list(weights.columns) == ["time", "lag", "y", "weight"]
    assert list(weights["lag"]) == list(range(-TINY["lookback"], 0))
    assert list(weights["time"]) == list(data["time"].tail(TINY["lookback"]))
    as_text = pd.read_csv(pd.io.common.StringIO(result.stdout), dtype=str)
    # The input values as read, not through the network's float32 (56.17 was written 56.16999816894531).
    assert list(as_text["y"]) == list(pd.read_csv(csv_file, dtype=str)["y"].tail(TINY["lookback"]))
    assert weights["weight"].sum() == pytest.approx(1.0, abs=1e-6) and (weights["weight"] > 0).all()
    assert (tmp_path / "f.csv").exists()


def test_explain_on_a_model_without_attention_is_a_clear_error_and_writes_nothing(
    tmp_path: Path, model_dir: Path, csv_file: Path
) -> None:
    result = run("predict", model_dir, csv_file, "-o", tmp_path / "f.csv", "--explain", tmp_path / "w.csv")
    assert result.exit_code == 2
    assert "trained without attention" in result.stderr and "--attention" in result.stderr
    assert not (tmp_path / "f.csv").exists() and not (tmp_path / "w.csv").exists()


@pytest.mark.parametrize(("renamed", "role"), [("y", "target"), ("time", "time column")])
@pytest.mark.parametrize("name", ["lag", "weight"])
def test_explain_refuses_a_column_named_like_one_of_its_own_and_writes_nothing(
    tmp_path: Path, frame: pd.DataFrame, renamed: str, role: str, name: str
) -> None:
    """The attention table adds 'lag' and 'weight' beside the time and the target: a target named
    'weight' was written as the attention weights (its values lost), a time column named 'lag' as the
    lags, with exit 0."""
    frame.rename(columns={renamed: name}).to_csv(tmp_path / "d.csv", index=False)
    target = name if renamed == "y" else "y"
    flags = ["--quiet", *TINY_FLAGS, "--attention", "--target", target]
    assert run("train", tmp_path / "d.csv", "-o", tmp_path / "m", *flags).exit_code == 0
    outputs = ["-o", tmp_path / "f.csv", "--explain", tmp_path / "w.csv"]
    result = run("predict", tmp_path / "m", tmp_path / "d.csv", *outputs)
    assert result.exit_code == 2, result.stderr
    message = f"Error: the model's {role} is named '{name}', as a column of the attention table --explain writes"
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
    assert not (tmp_path / "f.csv").exists() and not (tmp_path / "w.csv").exists()
    with pytest.raises(ConfigError, match=f"the model's {role} is named '{name}'"):
        Forecaster.load(tmp_path / "m").explain(pd.read_csv(tmp_path / "d.csv"))


def test_explain_and_the_forecast_cannot_both_go_to_stdout(model_dir: Path, csv_file: Path) -> None:
    result = run("predict", model_dir, csv_file, "--explain", "-")
    assert result.exit_code == 2 and "cannot both be stdout" in result.stderr


def test_the_python_api_returns_the_attention_weights(frame: pd.DataFrame) -> None:
    forecaster = Forecaster(**TINY, attention=True).fit(frame)
    weights = forecaster.explain(frame)
    assert len(weights) == TINY["lookback"] and weights["weight"].sum() == pytest.approx(1.0)
    np.testing.assert_array_equal(weights["y"], frame["y"].tail(TINY["lookback"]))  # as given, not float32


def test_explain_writes_an_hourly_input_time_at_midnight_with_its_time_of_day(tmp_path: Path) -> None:
    """With a lookback of one row at 00:00, every time --explain writes is midnight: pandas wrote it as a
    bare date."""
    from conftest import sine_frame

    sine_frame(n=289).to_csv(tmp_path / "s.csv", index=False)  # the last row is at 00:00
    flags = [*TINY_FLAGS, "--lookback=1", "--horizon=1", "--attention", "-q"]
    assert run("train", tmp_path / "s.csv", "-o", tmp_path / "m", *flags).exit_code == 0
    result = run("predict", tmp_path / "m", tmp_path / "s.csv", "-o", tmp_path / "f.csv", "--explain", "-")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("2024-01-13 00:00:00,-1,")


# -- convolutional front-end ----------------------------------------------------------------


def test_the_convolution_is_causal_and_keeps_the_raw_window() -> None:
    torch.manual_seed(0)
    front = ConvFrontEnd(n_inputs=2, channels=6, kernel=3)
    x = torch.randn(1, 10, 2)
    changed = x.clone()
    changed[0, 6] += 1.0  # a change at step 6 ...
    before, after = front(x), front(changed)
    assert before.shape == (1, 10, 2 + 6)
    torch.testing.assert_close(before[:, :6], after[:, :6])  # ... cannot reach earlier steps
    torch.testing.assert_close(after[..., :2], changed)  # the raw inputs pass through unchanged


def test_a_kernel_longer_than_the_window_is_a_settings_error(frame: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="conv_kernel"):
        Forecaster(**{**TINY, "conv_kernel": TINY["lookback"] + 1}).fit(frame)


# -- regularisation ---------------------------------------------------------------------------


def _train_weights(**train: float) -> dict[str, torch.Tensor]:
    values = torch.from_numpy(np.sin(np.arange(300) / 4.0).astype(np.float32))[:, None]  # [n, 1]
    windows = TensorWindows(values, lookback=12, horizon=4)
    torch.manual_seed(0)
    model = build_model(ModelConfig(ensemble=1, hidden=8, layers=1, window_norm="none", linear=False), 1, 12, 4)
    config = TrainConfig(epochs=15, patience=15, lr=0.01, device="cpu", **train)  # type: ignore[arg-type]
    fit(model, windows, np.arange(12, 240), np.arange(240, 296), config)
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def test_weight_decay_shrinks_weight_matrices_but_not_biases() -> None:
    model = build_model(ModelConfig(ensemble=1, hidden=4, layers=1, window_norm="last"), 1, 12, 4)
    groups = make_optimizer(model, TrainConfig(weight_decay=0.1)).param_groups
    decayed = {id(p) for g in groups if g["weight_decay"] == 0.1 for p in g["params"]}
    for name, parameter in model.named_parameters():
        assert (id(parameter) in decayed) == (parameter.dim() >= 2), name
    plain, decayed_weights = _train_weights(), _train_weights(weight_decay=0.1)
    assert decayed_weights["encoder.weight_hh_l0"].norm() < 0.8 * plain["encoder.weight_hh_l0"].norm()


def test_l1_drives_weights_towards_zero() -> None:
    plain, sparse = _train_weights(), _train_weights(l1=1e-2)
    near_zero = [(w.abs() < 1e-2).float().mean() for w in (plain["head.weight"], sparse["head.weight"])]
    assert near_zero[1] > near_zero[0] + 0.2


def test_a_fit_can_be_stopped_by_the_caller_and_keeps_the_best_weights_so_far() -> None:
    values = torch.from_numpy(np.sin(np.arange(200) / 4.0).astype(np.float32))[:, None]
    windows = TensorWindows(values, lookback=12, horizon=4)
    model = build_model(ModelConfig(ensemble=1, hidden=4, layers=1, window_norm="last"), 1, 12, 4)
    calls = []
    result = fit(
        model,
        windows,
        np.arange(12, 140),
        np.arange(140, 196),
        TrainConfig(epochs=50, device="cpu"),
        should_stop=lambda: calls.append(1) or len(calls) >= 2,
    )
    assert len(result.history) == 2 and result.stopped_by == "caller" and not result.stopped_early


# -- segments ----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("segment", [1, 3, 12])
def test_with_segments_the_cell_runs_one_step_per_segment(model: str, segment: int) -> None:
    config = ModelConfig(
        ensemble=1, model=model, hidden=5, layers=1, segment=segment, attention=True, window_norm="last"
    )
    network = build_model(config, n_inputs=2, lookback=12, horizon=4)
    seen: list[tuple[int, ...]] = []
    network.core.encoder.register_forward_hook(lambda module, inputs, output: seen.append(tuple(inputs[0].shape)))
    forecast, weights = network.explain(torch.randn(3, 12, 2))
    assert forecast.shape == (3, 4) and seen == [(3, 12 // segment, 5)]
    assert weights is not None and weights.shape == (3, 12)
    np.testing.assert_allclose(weights.sum(dim=1).detach(), 1.0, rtol=1e-6)
    steps = weights.detach().reshape(3, 12 // segment, segment)
    np.testing.assert_allclose(steps, steps[:, :, :1].expand_as(steps))  # one weight per segment, shared


def test_a_segment_reads_consecutive_steps_of_every_column() -> None:
    """Segment k holds steps kS..kS+S-1, all columns: changing step 5 changes only segment 1 of 3 (S = 4)."""
    from lstmcast.models import SegmentEmbedding

    embed = SegmentEmbedding(n_inputs=2, segment=4, hidden=8)
    x = torch.randn(1, 12, 2)
    changed = x.clone()
    changed[0, 5, 1] += 1.0
    moved = (embed(changed) - embed(x)).abs().sum(dim=2)[0]  # [3]
    assert moved[0] == 0 and moved[1] > 0 and moved[2] == 0


def test_a_lookback_that_is_not_a_whole_number_of_segments_is_a_usage_error(tmp_path: Path, csv_file: Path) -> None:
    result = run("train", csv_file, "-o", tmp_path / "m", *TINY_FLAGS, "--segment", "5")
    assert result.exit_code == 2
    message = "lookback (12) must be a whole number of segments of 5 steps; try lookback 10 or 15"
    assert result.stderr == f"Error: {message}\n"
    assert not (tmp_path / "m").exists()
    with pytest.raises(ConfigError, match="whole number of segments"):
        Forecaster(**{**TINY, "segment": 24}).fit(pd.read_csv(csv_file))


def test_a_segment_model_follows_a_shift_of_the_series(frame: pd.DataFrame) -> None:
    fitted = Forecaster(**{**TINY, "segment": 4, "window_norm": "last"}).fit(frame)
    base = fitted.predict(frame)["y"].to_numpy()
    moved = fitted.predict(frame.assign(y=frame["y"] + 250.0))["y"].to_numpy()
    np.testing.assert_allclose(moved, base + 250.0, atol=2e-3)
