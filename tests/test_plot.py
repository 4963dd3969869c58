"""lstmcast.plot: each chart renders to a real PNG of exactly the requested size, writes are atomic,
matplotlib stays optional, and nothing global in matplotlib is touched."""

from __future__ import annotations

import ast
import struct
import sys
from pathlib import Path
from typing import Any

import matplotlib  # in the dev extra: these tests fail rather than skip when it is missing
import numpy as np
import pandas as pd
import pytest

from lstmcast.errors import ConfigError, OutputError
from lstmcast.plot import plot_backtest, plot_forecast, plot_history, require_matplotlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PLOT_SOURCE = Path(__file__).parents[1] / "lstmcast" / "plot.py"


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, after checking the file is a PNG at all."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture(autouse=True)
def _matplotlib_state_untouched() -> Any:
    """Every test checks that plotting left rcParams and the pyplot figure registry alone."""
    before = dict(matplotlib.rcParams)
    had_pyplot = "matplotlib.pyplot" in sys.modules
    yield
    assert dict(matplotlib.rcParams) == before
    assert ("matplotlib.pyplot" in sys.modules) == had_pyplot


def hourly(values: list[float] | np.ndarray, start: str = "2024-01-01", name: str = "load") -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="h"), name=name, dtype=float)


@pytest.fixture
def series() -> dict[str, pd.Series]:
    """48 hourly observations crossing 80 now and then, and 6 forecast steps with their actuals."""
    step = np.arange(54)
    values = 70 + 15 * np.sin(2 * np.pi * step / 24)
    full = hourly(values)
    return {"history": full.iloc[:48], "actual": full.iloc[48:], "forecast": full.iloc[48:] + 2.0}


def history_rows(epochs: int = 6) -> list[dict[str, float]]:
    return [{"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.2 / e + 0.05 * e} for e in range(1, epochs + 1)]


def backtest_report() -> dict[str, Any]:
    def per_step(scale: float) -> list[dict[str, float]]:
        return [{"step": s, "rmse": scale * (1 + 0.1 * s), "mse": (scale * (1 + 0.1 * s)) ** 2} for s in range(1, 5)]

    def fold(number: int, start: str, end: str) -> dict[str, Any]:
        baselines = {"naive": {"rmse": 3.0 + number}, "seasonal_naive": {"rmse": 2.5 + number}}
        return {"fold": number, "test_start": start, "test_end": end, "metrics": {"rmse": 2.0, "baselines": baselines}}

    return {
        "rmse": 2.0,
        "per_step": per_step(1.8),
        "baselines": {
            "naive": {"rmse": 3.5, "per_step": per_step(3.0)},
            "seasonal_naive": {"rmse": 3.0, "per_step": per_step(2.5)},
        },
        "folds": [
            fold(1, "2024-01-05 00:00:00", "2024-01-05 03:00:00"),
            fold(2, "2024-01-06 00:00:00", "2024-01-06 03:00:00"),
        ],
    }


# --- forecast --------------------------------------------------------------------------------------


def test_forecast_with_everything_on_a_datetime_index(tmp_path: Path, series: dict[str, pd.Series]) -> None:
    out = tmp_path / "forecast.png"
    plot_forecast(out, series["history"], series["forecast"], series["actual"], threshold=80, alert_level=78)
    assert png_size(out) == (1200, 600)


def test_forecast_alone_on_an_integer_index(tmp_path: Path) -> None:
    history = pd.Series([1.0, 3.0, 2.0, 5.0, 4.0])
    forecast = pd.Series([4.5, 5.5, 6.0], index=range(5, 8))
    out = tmp_path / "forecast.png"
    plot_forecast(out, history, forecast)
    assert png_size(out) == (1200, 600)


def test_forecast_below_threshold_with_actuals_on_an_integer_index(tmp_path: Path) -> None:
    history = pd.Series([5.0, 1.0, 0.5, 4.0, np.nan, 0.2])
    forecast = pd.Series([0.8, 2.0, 3.0], index=range(6, 9))
    actual = pd.Series([0.1, 2.5, 0.4], index=range(6, 9))
    out = tmp_path / "forecast.png"
    plot_forecast(out, history, forecast, actual, threshold=1.0, event="below", title="low water", size=(640, 480))
    assert png_size(out) == (640, 480)


def test_forecast_alert_level_without_threshold_and_tz_aware_index(tmp_path: Path) -> None:
    history = hourly([1.0, 2.0, 3.0]).tz_localize("Europe/Paris")
    forecast = hourly([4.0], start="2024-01-01 03:00").tz_localize("Europe/Paris")
    out = tmp_path / "forecast.png"
    plot_forecast(out, history, forecast, alert_level=3.5)
    assert png_size(out) == (1200, 600)


def test_forecast_at_a_non_default_size(tmp_path: Path, series: dict[str, pd.Series]) -> None:
    out = tmp_path / "small.png"
    plot_forecast(out, series["history"], series["forecast"], threshold=80, size=(801, 333))
    assert png_size(out) == (801, 333)


def test_forecast_rejects_an_unknown_event(tmp_path: Path, series: dict[str, pd.Series]) -> None:
    with pytest.raises(ConfigError, match="above, below"):
        plot_forecast(tmp_path / "x.png", series["history"], series["forecast"], threshold=80, event="over")
    assert list(tmp_path.iterdir()) == []


def test_forecast_rejects_mixed_index_kinds(tmp_path: Path, series: dict[str, pd.Series]) -> None:
    with pytest.raises(ConfigError, match="DatetimeIndex"):
        plot_forecast(tmp_path / "x.png", series["history"], pd.Series([1.0, 2.0], index=[48, 49]))


def test_strict_comparison_and_runs() -> None:
    from lstmcast.events import event_runs
    from lstmcast.plot import _beyond

    values = pd.Series([80.0, 80.1, 81.0, 79.0, np.nan, 90.0])
    above = _beyond(values, 80, "above")
    assert above.tolist() == [False, True, True, False, False, True]  # equal to the threshold is not beyond it
    assert _beyond(values, 80, "below").tolist() == [False, False, False, True, False, False]
    assert [tuple(run) for run in event_runs(above).tolist()] == [(1, 2), (5, 5)]


# --- training history ------------------------------------------------------------------------------


def test_history_with_a_best_epoch(tmp_path: Path) -> None:
    out = tmp_path / "history.png"
    plot_history(out, history_rows(), best_epoch=3, start_val_loss=1.5)
    assert png_size(out) == (1200, 600)


def test_history_where_the_starting_weights_were_kept(tmp_path: Path) -> None:
    rows = [{"epoch": e, "train_loss": 0.5 - 0.01 * e, "val_loss": 0.6 + 0.02 * e} for e in range(1, 4)]
    out = tmp_path / "history.png"
    plot_history(out, rows, best_epoch=0, start_val_loss=0.55, title="kept epoch 0", size=(500, 300))
    assert png_size(out) == (500, 300)


def test_history_on_a_log_scale_without_validation_loss(tmp_path: Path) -> None:
    rows = [{"epoch": e, "train_loss": 10.0**-e} for e in range(1, 6)]  # spans far more than a factor of 20
    out = tmp_path / "history.png"
    plot_history(out, rows, best_epoch=5)
    assert png_size(out) == (1200, 600)


def test_log_scale_only_beyond_a_factor_of_twenty() -> None:
    from lstmcast.plot import _wants_log_scale

    assert not _wants_log_scale([1.0, 20.0])
    assert _wants_log_scale([1.0, 20.5])
    assert not _wants_log_scale([0.0, 5.0])  # zero cannot be drawn on a log axis, and is not counted


# --- backtest --------------------------------------------------------------------------------------


def test_backtest_with_two_folds_and_two_baselines(tmp_path: Path) -> None:
    out = tmp_path / "backtest.png"
    plot_backtest(out, backtest_report())
    assert png_size(out) == (1200, 600)


def test_backtest_with_integer_fold_bounds_at_a_non_default_size(tmp_path: Path) -> None:
    report = backtest_report()
    for number, fold in enumerate(report["folds"]):
        fold["test_start"], fold["test_end"] = 100 * number, 100 * number + 23
    out = tmp_path / "backtest.png"
    plot_backtest(out, report, title="integer rows", size=(900, 450))
    assert png_size(out) == (900, 450)


def test_backtest_skips_missing_pieces(tmp_path: Path) -> None:
    report = backtest_report()
    del report["baselines"]["naive"]["per_step"]
    report["per_step"].append({"step": 5})  # no rmse
    report["folds"][0]["metrics"]["baselines"].pop("seasonal_naive")
    report["folds"][1]["metrics"] = {}
    report["folds"][1]["metrics"]["baselines"] = {"ridge": {"rmse": None}}  # a baseline only a fold names
    out = tmp_path / "backtest.png"
    plot_backtest(out, report)
    assert png_size(out) == (1200, 600)


def test_backtest_of_an_empty_report(tmp_path: Path) -> None:
    out = tmp_path / "backtest.png"
    plot_backtest(out, {})
    assert png_size(out) == (1200, 600)


# --- writing ---------------------------------------------------------------------------------------


def test_a_missing_folder_is_an_output_error_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        plot_history(tmp_path / "missing" / "history.png", history_rows(), best_epoch=1)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "backtest.png"
    out.write_bytes(b"previous")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("lstmcast.outputs.os.fsync", disk_full)
    with pytest.raises(OutputError, match="No space left"):
        plot_backtest(out, backtest_report())
    assert [p.name for p in tmp_path.iterdir()] == ["backtest.png"]
    assert out.read_bytes() == b"previous"


@pytest.mark.parametrize("size", [(0, 600), (1200,), (12.5, 6), (True, 600), (100, 100)])
def test_a_bad_size_is_a_config_error(tmp_path: Path, size: Any) -> None:
    with pytest.raises(ConfigError, match="size"):
        plot_history(tmp_path / "history.png", history_rows(), best_epoch=1, size=size)
    assert list(tmp_path.iterdir()) == []


def test_a_user_tight_bbox_setting_does_not_change_the_size(tmp_path: Path) -> None:
    out = tmp_path / "history.png"
    with matplotlib.rc_context({"savefig.bbox": "tight"}):
        plot_history(out, history_rows(), best_epoch=2, size=(700, 400))
    assert png_size(out) == (700, 400)


# --- matplotlib is optional and kept at arm's length -----------------------------------------------


def test_without_matplotlib_plotting_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes an import fail; the submodules too, or the cached ones would still import.
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    for name in ("matplotlib.figure", "matplotlib.backends.backend_agg", "matplotlib.lines", "matplotlib.dates"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ConfigError, match=r"lstmcast\[plot\]"):
        require_matplotlib()
    with pytest.raises(ConfigError, match=r"lstmcast\[plot\]"):
        plot_history(tmp_path / "history.png", history_rows(), best_epoch=1)
    assert list(tmp_path.iterdir()) == []


def imported_modules(nodes: list[ast.stmt] | list[ast.AST]) -> set[str]:
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_the_module_imports_matplotlib_only_inside_functions_and_never_pyplot() -> None:
    tree = ast.parse(PLOT_SOURCE.read_text())
    assert not {name for name in imported_modules(tree.body) if name.split(".")[0] == "matplotlib"}
    assert "matplotlib.pyplot" not in imported_modules(list(ast.walk(tree)))
