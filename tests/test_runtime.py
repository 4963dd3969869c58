"""The numpy runtime is the torch network, forward pass for forward pass: every variant and option,
with random weights everywhere (so no zero-initialised path hides a mistake), equal to 1e-5."""

import dataclasses

import numpy as np
import pytest
import torch
from conftest import TINY, sine_frame

from lstmcast import Forecaster, ModelConfig
from lstmcast.models import build_model
from lstmcast.runtime import forecast, parameter_shapes

LOOKBACK, HORIZON = 12, 5
BASE = ModelConfig(hidden=6, layers=1, segment=0, window_norm="none", linear=False, ensemble=1)

OPTIONS = {
    "plain": {},
    "stacked": {"layers": 2},
    "bidirectional": {"bidirectional": True},
    "stacked bidirectional": {"layers": 2, "bidirectional": True},
    "attention": {"attention": True},
    "bidirectional attention": {"bidirectional": True, "attention": True},
    "conv front-end": {"conv_kernel": 3},
    "segments": {"segment": 4},
    "segments with attention": {"segment": 3, "attention": True},
    "conv and segments": {"conv_kernel": 2, "segment": 6, "layers": 2},
    "window norm last": {"window_norm": "last"},
    "window norm mean": {"window_norm": "mean"},
    "window norm revin": {"window_norm": "revin"},
    "linear path": {"linear": True},
    "last with linear path": {"window_norm": "last", "linear": True},
    "revin, linear, attention": {"window_norm": "revin", "linear": True, "attention": True},
    "ensemble": {"ensemble": 3, "window_norm": "last", "linear": True},
    "ensemble with attention": {"ensemble": 2, "attention": True, "segment": 4},
    "the defaults": {"segment": 4, "window_norm": "last", "linear": True, "ensemble": 3},
    "everything": {
        "layers": 2,
        "bidirectional": True,
        "attention": True,
        "conv_kernel": 3,
        "segment": 3,
        "window_norm": "revin",
        "linear": True,
        "ensemble": 2,
    },
}


def randomised(config: ModelConfig, n_inputs: int) -> torch.nn.Module:
    """The torch network with every weight random, revin's gamma kept near one."""
    torch.manual_seed(0)
    model = build_model(config, n_inputs, LOOKBACK, HORIZON).eval()
    with torch.no_grad():
        for name, weight in model.named_parameters():
            weight.copy_(torch.randn_like(weight) * 0.5 + (1.0 if name.endswith("gamma") else 0.0))
    return model


@pytest.mark.parametrize("n_inputs", [1, 3])
@pytest.mark.parametrize("cell", ["lstm", "gru", "peephole"])
@pytest.mark.parametrize("option", OPTIONS)
def test_the_numpy_forward_pass_equals_torch(option: str, cell: str, n_inputs: int) -> None:
    config = dataclasses.replace(BASE, model=cell, **OPTIONS[option])
    model = randomised(config, n_inputs)
    x = torch.randn(7, LOOKBACK, n_inputs) * 2 + 3
    with torch.no_grad():
        expected, expected_attention = model.explain(x)
    weights = {name: value.numpy() for name, value in model.state_dict().items()}
    got, attention = forecast(config, weights, x.numpy())
    assert got.dtype == np.float32 and got.shape == (7, HORIZON)
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-5, rtol=0)
    if config.attention:
        assert attention is not None and attention.shape == (7, LOOKBACK)
        np.testing.assert_allclose(attention, expected_attention.numpy(), atol=1e-5, rtol=0)
    else:
        assert attention is None
    shapes = {name: tuple(value.shape) for name, value in model.state_dict().items()}
    assert parameter_shapes(config, n_inputs, LOOKBACK, HORIZON) == shapes


def test_large_activations_neither_overflow_nor_warn() -> None:
    config = dataclasses.replace(BASE, attention=True)
    weights = {name: value.numpy() * 1e4 for name, value in randomised(config, 1).state_dict().items()}
    got, attention = forecast(config, weights, np.full((2, LOOKBACK, 1), 1e3, dtype=np.float32))
    assert np.isfinite(got).all() and np.isfinite(attention).all()


def test_unresolved_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="resolved"):
        parameter_shapes(ModelConfig(), 1, LOOKBACK, HORIZON)


@pytest.mark.parametrize(
    "settings",
    [{}, {"attention": True, "ensemble": 2}, {"model": "peephole", "segment": 0, "window_norm": "revin"}],
    ids=["tiny", "attention ensemble", "peephole revin"],
)
def test_predict_runs_the_trained_network_in_numpy(tmp_path, settings: dict) -> None:
    """What predict writes is the torch network's forecast, and a saved and loaded model's is the same."""
    frame = sine_frame()
    fitted = Forecaster(**{**TINY, **settings}).fit(frame)
    window = fitted.scaler_.transform(frame[["y"]].to_numpy()[-fitted.lookback :])  # [L, 1]
    with torch.no_grad():
        scaled = fitted.model_(torch.from_numpy(window)[None]).numpy()[0]  # [H]
    forecast = fitted.predict(frame)["y"].to_numpy()
    np.testing.assert_allclose(
        forecast, fitted.scaler_.inverse_target(scaled), rtol=0, atol=1e-5 * fitted.scaler_.scale[0]
    )
    fitted.save(tmp_path / "m")
    np.testing.assert_array_equal(Forecaster.load(tmp_path / "m").predict(frame)["y"].to_numpy(), forecast)


def test_a_rows_forecast_does_not_depend_on_the_rows_forecast_with_it() -> None:
    """What makes the shards of a many-series forecast equal the whole to the bit: BLAS may round a
    product's rows otherwise when it multiplies more or fewer of them, so rows go in fixed passes."""
    from lstmcast.runtime.network import INVARIANT_BATCH, forecast_rows

    config = ModelConfig(hidden=64, segment=4, window_norm="last", ensemble=1)
    rng = np.random.default_rng(0)
    weights = {k: rng.normal(0, 0.3, s).astype(np.float32) for k, s in parameter_shapes(config, 1, 12, 4).items()}
    x = rng.normal(size=(INVARIANT_BATCH + 6, 12, 1)).astype(np.float32)
    whole = forecast_rows(config, weights, x)
    np.testing.assert_allclose(whole, forecast(config, weights, x)[0], rtol=1e-5, atol=1e-6)
    for start, count in [(0, 1), (0, 3), (3, 5), (10, 17), (5, INVARIANT_BATCH), (INVARIANT_BATCH, 6)]:
        np.testing.assert_array_equal(
            forecast_rows(config, weights, x[start : start + count]), whole[start : start + count]
        )
