"""The networks: window normalisation makes forecasts follow the level (and scale) of the input,
which is what lets a model trained in one period forecast a series that has drifted since."""

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY, sine_frame

from lstmcast import Forecaster, ModelConfig, WindowConfig
from lstmcast.baselines import fit_ridge
from lstmcast.models import build_model
from lstmcast.window import chronological_split


def jump_frame(n: int = 800, seed: int = 0) -> pd.DataFrame:
    """A small daily wave whose level jumps by 20 standard deviations right after the training part."""
    rng = np.random.default_rng(seed)
    step = np.arange(n)
    level = np.where(step >= int(n * 0.7), 10.0, 0.0)
    y = level + 0.5 * np.sin(2 * np.pi * step / 24) + rng.normal(0, 0.1, n)
    return pd.DataFrame({"time": pd.date_range("2024-01-01", periods=n, freq="h").astype(str), "y": y})


@pytest.fixture(scope="module")
def by_norm() -> dict[str, Forecaster]:
    frame = sine_frame()
    return {norm: Forecaster(**TINY, window_norm=norm).fit(frame) for norm in ("last", "mean", "revin")}


@pytest.mark.parametrize("norm", ["last", "mean", "revin"])
def test_shifting_the_series_shifts_the_forecast_by_the_same_constant(by_norm, norm: str) -> None:
    frame = sine_frame()
    shifted = frame.assign(y=frame["y"] + 250.0)
    base = by_norm[norm].predict(frame)["y"].to_numpy()
    moved = by_norm[norm].predict(shifted)["y"].to_numpy()
    np.testing.assert_allclose(moved, base + 250.0, atol=2e-3)


@pytest.mark.parametrize("norm", ["mean", "revin"])
def test_scaling_the_series_scales_the_forecast(by_norm, norm: str) -> None:
    frame = sine_frame()
    scaled = frame.assign(y=frame["y"] * 7.0)
    base = by_norm[norm].predict(frame)["y"].to_numpy()
    np.testing.assert_allclose(by_norm[norm].predict(scaled)["y"].to_numpy(), base * 7.0, rtol=1e-4)


def test_without_window_norm_a_shift_does_not_carry_through(frame: pd.DataFrame) -> None:
    plain = Forecaster(**TINY, window_norm="none", linear=False).fit(frame)
    base = plain.predict(frame)["y"].to_numpy()
    moved = plain.predict(frame.assign(y=frame["y"] + 250.0))["y"].to_numpy()
    assert not np.allclose(moved, base + 250.0, atol=1.0)


def test_after_a_level_jump_the_default_beats_naive_and_the_plain_recipe_does_not() -> None:
    frame = jump_frame()
    settings = {
        "lookback": 48,
        "horizon": 12,
        "hidden": 8,
        "layers": 1,
        "epochs": 10,
        "patience": 5,
        "lr": 0.01,
        "device": "cpu",
    }
    default = Forecaster(**settings).fit(frame).metrics_
    plain = Forecaster(**settings, window_norm="none", linear=False).fit(frame).metrics_
    assert default["baselines"]["naive"]["skill"] > 0.25
    assert plain["baselines"]["naive"]["skill"] < 0


def test_the_plain_recipe_is_the_bare_recurrent_network() -> None:
    plain = build_model(
        ModelConfig(ensemble=1, window_norm="none", linear=False, segment=0, hidden=4, layers=1), 1, 12, 4
    )
    assert {name.split(".")[0] for name, _ in plain.named_parameters()} == {"encoder", "head"}
    default = build_model(ModelConfig(ensemble=1, hidden=4, layers=1, window_norm="revin"), 1, 12, 4)
    assert {"norm.gamma", "norm.beta", "linear.weight", "core.encoder.weight_ih_l0"} <= dict(
        default.named_parameters()
    ).keys()


def test_the_linear_path_starts_at_zero_so_training_begins_from_the_window_level() -> None:
    model = build_model(ModelConfig(ensemble=1, hidden=4, layers=1, window_norm="last", linear=True), 1, 12, 4)
    torch.nn.init.zeros_(model.core.head.weight)
    torch.nn.init.zeros_(model.core.head.bias)
    x = torch.randn(3, 12, 1)
    # Every output is zero in normalised units: the forecast is the last value (the naive forecast).
    np.testing.assert_allclose(model(x).detach().numpy(), x[:, -1, :].expand(3, 4).numpy(), atol=1e-6)


def test_options_are_recorded_in_the_artifact(tmp_path, frame: pd.DataFrame) -> None:
    import json

    Forecaster(**TINY, window_norm="last", linear=False).fit(frame).save(tmp_path / "m")
    model = json.loads((tmp_path / "m" / "manifest.json").read_text())["config"]["model"]
    assert (model["window_norm"], model["linear"]) == ("last", False)
    loaded = Forecaster.load(tmp_path / "m", device="cpu")
    assert (loaded.window_norm, loaded.linear) == ("last", False)


@pytest.mark.parametrize("window_norm", ["none", "last", "mean", "revin"])
def test_training_starts_from_a_ridge_fit_in_the_linear_paths_coordinates(
    window_norm: str, frame: pd.DataFrame
) -> None:
    # The recurrent head starts at zero and the linear path as ridge on the normalised windows, so a
    # model that cannot move (a learning rate of 1e-12) forecasts exactly as that ridge.
    forecaster = Forecaster(**{**TINY, "epochs": 1, "lr": 1e-12}, window_norm=window_norm).fit(frame)
    split = chronological_split(len(frame), WindowConfig(lookback=12, horizon=4), "frame")
    target = forecaster.scaler_.transform_target(frame["y"].to_numpy())
    train, val = (split.origins(part, 12, 4) for part in ("train", "val"))
    ridge = fit_ridge(target, train, val, 12, 4, window_norm="mean" if window_norm == "revin" else window_norm)
    expected = ridge.mse(target, val) * forecaster.scaler_.scale[0] ** 2
    assert forecaster.val_mse_ == pytest.approx(expected, rel=1e-4)
    assert forecaster.training_["start_val_mse"] == pytest.approx(expected, rel=1e-4)  # recorded as epoch 0
