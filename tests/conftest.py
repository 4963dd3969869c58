"""Shared fixtures: tiny models, small frames, and an environment that cannot leak into tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# Small enough that a fit takes well under a second on one core. One network, not the default seed
# ensemble of three: tests/test_recipe.py covers ensembles.
TINY = {
    "lookback": 12,
    "horizon": 4,
    "hidden": 4,
    "layers": 1,
    "ensemble": 1,
    "epochs": 2,
    "patience": 2,
    "batch_size": 32,
    "device": "cpu",
    "seed": 0,
}
TINY_FLAGS = [f"--{key.replace('_', '-')}={value}" for key, value in TINY.items()]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LSTMCAST_DEBUG", "FORCE_COLOR", "CUDA_VISIBLE_DEVICES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("TERM", "dumb")


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)  # tiny models run faster, and results do not depend on the core count


def sine_frame(
    n: int = 300, freq: str = "h", noise: float = 0.1, seed: int = 0, features: bool = False
) -> pd.DataFrame:
    """A noisy daily sine on an hourly index, with an optional correlated feature."""
    rng = np.random.default_rng(seed)
    step = np.arange(n)
    frame = pd.DataFrame(
        {
            "time": pd.date_range("2024-01-01", periods=n, freq=freq).strftime("%Y-%m-%d %H:%M:%S"),
            "y": 10 + 3 * np.sin(2 * np.pi * step / 24) + rng.normal(0, noise, n),
        }
    )
    if features:
        frame["x"] = np.cos(2 * np.pi * step / 24) + rng.normal(0, noise, n)
    return frame


@pytest.fixture
def frame() -> pd.DataFrame:
    return sine_frame()


@pytest.fixture
def csv_file(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "series.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def fitted():
    """A tiny fitted Forecaster shared by tests that only read it."""
    from lstmcast import Forecaster

    return Forecaster(**TINY).fit(sine_frame())


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, fitted) -> Path:
    path = tmp_path_factory.mktemp("models") / "model"
    fitted.save(path)
    return path
