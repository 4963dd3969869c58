"""Forecast quantiles (``--quantiles``): a quantile head on the network's summary state, trained with
pinball loss after the point network and conformalised on the validation part, so each quantile has
about its level's share of new values below it; written beside the forecast and scored in reports."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from conftest import TINY, TINY_FLAGS, sine_frame
from test_intervals import ar1_frame
from test_panel import PANEL_TINY, long_table

from lstmcast import ConfigError, DataError, DataWarning, Forecaster, read_table
from lstmcast.cli import cli
from lstmcast.config import ModelConfig
from lstmcast.errors import ArtifactError
from lstmcast.models import build_model, quantile_offsets
from lstmcast.quantiles import Quantiles, parse_quantiles, pinball, quantile_scores
from lstmcast.quick import predict_source
from lstmcast.runtime.network import forecast_offsets, parameter_shapes
from lstmcast.write import table_bytes

LEVELS = "0.1,0.5,0.9"


@pytest.fixture(scope="module")
def ar1_model() -> Forecaster:
    settings = {**TINY, "lookback": 24, "horizon": 6, "epochs": 3, "val_frac": 0.2, "test_frac": 0.3}
    return Forecaster("y", time_col="time", quantiles=LEVELS, **settings).fit(ar1_frame())


def test_each_quantile_has_its_share_of_new_values_below_it_within_three_points(ar1_model: Forecaster) -> None:
    metrics = ar1_model.metrics_  # the test part: 3,600 rows never seen in training or calibration
    levels = metrics["quantiles"]["levels"]
    assert list(levels) == ["q0.1", "q0.5", "q0.9"]
    for name, level in (("q0.1", 0.1), ("q0.5", 0.5), ("q0.9", 0.9)):
        assert abs(levels[name]["coverage"] - level) <= 0.03, (name, levels[name]["coverage"])
        assert len(levels[name]["per_step_coverage"]) == 6
    assert metrics["pinball"] == pytest.approx(np.mean([entry["pinball"] for entry in levels.values()]))
    assert metrics["crps"] == pytest.approx(2 * metrics["pinball"])
    assert ar1_model.quantiles_.calibration == 2400 - 6 + 1  # every validation origin
    head = ar1_model.training_["quantile_head"]
    assert head["val_pinball"] <= head["start_val_pinball"]


def test_predict_writes_sorted_quantiles_beside_the_forecast(ar1_model: Forecaster) -> None:
    forecast = ar1_model.predict(ar1_frame(n=300))
    assert list(forecast.columns) == ["time", "step", "y", "q0.1", "q0.5", "q0.9"]
    assert np.all(forecast["q0.1"] <= forecast["q0.5"]) and np.all(forecast["q0.5"] <= forecast["q0.9"])
    assert np.all(forecast["q0.1"] < forecast["y"]) and np.all(forecast["y"] < forecast["q0.9"])
    # Wider further out: an AR(1) forgets its start, so step 6 is less certain than step 1.
    width = (forecast["q0.9"] - forecast["q0.1"]).to_numpy()
    assert width[-1] > width[0]


def test_quantiles_never_cross_even_when_the_corrections_would_make_them(ar1_model: Forecaster) -> None:
    state = ar1_model.state_
    crossed = Quantiles(state.quantiles.levels, state.quantiles.shifts[::-1] * 3, "last", 1)  # q0.1 now highest
    forecast = Forecaster.from_state(state.replace(quantiles=crossed)).predict(ar1_frame(n=300))
    values = forecast[["q0.1", "q0.5", "q0.9"]].to_numpy()
    assert np.all(np.diff(values, axis=1) >= 0)


def test_the_head_reads_the_window_so_its_band_follows_how_noisy_the_series_is_now() -> None:
    """Noise whose size swings slowly between 0.3 and 3: a constant band would be the same width
    everywhere; the head's band is wide where the recent window is noisy and narrow where it is calm."""
    rng = np.random.default_rng(0)
    n = 6000
    sigma = 0.3 + 2.7 * np.sin(np.arange(n) / 150) ** 2
    y = np.cumsum(rng.normal(size=n) * sigma) * 0.05 + rng.normal(size=n) * sigma
    frame = pd.DataFrame({"time": pd.date_range("2024-01-01", periods=n, freq="h"), "y": y})
    settings = {**TINY, "lookback": 24, "horizon": 3, "epochs": 5, "patience": 5}
    model = Forecaster("y", time_col="time", quantiles="0.1,0.9", **settings).fit(frame)
    origins = np.arange(200, n - 3, 50)
    widths = np.array(
        [np.ptp(model.predict(frame.iloc[:origin])[["q0.1", "q0.9"]].to_numpy(), axis=1).mean() for origin in origins]
    )
    assert np.corrcoef(widths, sigma[origins])[0, 1] > 0.5
    head = model.training_["quantile_head"]
    assert head["best_epoch"] > 0 and head["val_pinball"] < 0.97 * head["start_val_pinball"]


def test_the_quantile_head_never_changes_the_point_forecast() -> None:
    frame = sine_frame(n=400)
    settings = {**TINY, "ensemble": 2, "epochs": 3}
    plain = Forecaster("y", time_col="time", **settings).fit(frame)
    with_quantiles = Forecaster("y", time_col="time", quantiles=LEVELS, **settings).fit(frame)
    shared = plain.state_.weights
    for name, value in shared.items():
        np.testing.assert_array_equal(with_quantiles.state_.weights[name], value, err_msg=name)
    assert {name for name in with_quantiles.state_.weights if name not in shared} == {
        f"members.{k}.core.quantile_head.{part}" for k in range(2) for part in ("weight", "bias")
    }
    np.testing.assert_array_equal(with_quantiles.predict(frame)["y"], plain.predict(frame)["y"])
    assert with_quantiles.metrics_["mse"] == plain.metrics_["mse"]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"ensemble": 2},
        {"window_norm": "mean"},
        {"window_norm": "revin", "attention": True},
        {"window_norm": "none", "linear": False, "model": "gru", "bidirectional": True, "segment": 0},
        {"model": "peephole", "conv_kernel": 3, "layers": 2, "segment": 0},
    ],
)
def test_the_numpy_head_is_the_torch_head_for_every_kind_of_network(options: dict) -> None:
    config = ModelConfig(
        **{"segment": 4, "hidden": 8, "ensemble": 1, "quantiles": (0.1, 0.5, 0.9), "window_norm": "last", **options}
    )
    torch.manual_seed(0)
    network = build_model(config, 2, 16, 5).eval()
    for name, parameter in network.named_parameters():
        if "quantile_head" in name:  # trained heads are not zero; the test must see them act
            torch.nn.init.normal_(parameter)
    x = torch.randn(7, 16, 2)
    with torch.no_grad():
        point, offsets, _ = quantile_offsets(network, x)
        expected_point = network(x)
    weights = {name: value.numpy() for name, value in network.state_dict().items()}
    assert {name: tuple(value.shape) for name, value in weights.items()} == parameter_shapes(config, 2, 16, 5)
    numpy_point, numpy_offsets = forecast_offsets(config, weights, x.numpy())
    assert numpy_offsets.shape == (7, 5, 3)
    np.testing.assert_allclose(numpy_offsets, offsets.numpy(), atol=1e-5)
    np.testing.assert_allclose(numpy_point, expected_point.numpy(), atol=1e-5)
    np.testing.assert_allclose(point.numpy(), expected_point.numpy(), atol=1e-6)


def test_quantiles_are_kept_with_the_model_and_checked_on_load(ar1_model: Forecaster, tmp_path: Path) -> None:
    ar1_model.save(tmp_path / "m")
    loaded = Forecaster.load(tmp_path / "m")
    assert loaded.quantiles == (0.1, 0.5, 0.9)
    np.testing.assert_array_equal(loaded.quantiles_.shifts, ar1_model.quantiles_.shifts)
    pd.testing.assert_frame_equal(loaded.predict(ar1_frame(n=300)), ar1_model.predict(ar1_frame(n=300)))
    manifest_path = tmp_path / "m" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["quantiles"]["levels"] = [0.1, 0.5, 0.95]  # not the levels the head was trained for
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="quantiles' levels differ"):
        Forecaster.load(tmp_path / "m")
    manifest["quantiles"]["levels"] = [0.1, 0.5, 0.9]
    manifest["quantiles"]["shifts"] = [row[:3] for row in manifest["quantiles"]["shifts"]]  # 3 steps, horizon 6
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="shifts for 3 steps; the horizon is 6"):
        Forecaster.load(tmp_path / "m")


def test_a_format_7_model_loads_and_predicts_as_before(tmp_path: Path) -> None:
    model = Forecaster("y", time_col="time", **TINY).fit(sine_frame(n=300))
    model.save(tmp_path / "m")
    manifest_path = tmp_path / "m" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["config"]["model"]["quantiles"]  # what format 7 wrote
    manifest["schema_version"] = 7
    manifest_path.write_text(json.dumps(manifest))
    loaded = Forecaster.load(tmp_path / "m")
    assert loaded.quantiles == () and loaded.quantiles_ is None
    pd.testing.assert_frame_equal(loaded.predict(sine_frame(n=300)), model.predict(sine_frame(n=300)))


def test_the_fast_path_writes_the_quantiles_as_the_pandas_path_does(ar1_model: Forecaster, tmp_path: Path) -> None:
    path = tmp_path / "recent.csv"
    ar1_frame(n=300, seed=5).to_csv(path, index=False)
    fast, _ = predict_source(ar1_model.state_, str(path), None)
    assert fast is not None and fast.splitlines()[0] == b"time,step,y,q0.1,q0.5,q0.9"
    assert fast == table_bytes(ar1_model.predict(read_table(path)), "csv")


def test_evaluate_scores_the_quantiles_on_new_rows(ar1_model: Forecaster) -> None:
    metrics = ar1_model.evaluate(ar1_frame(n=2000, seed=7, start="2026-01-01"), stride=4)
    assert abs(metrics["quantiles"]["levels"]["q0.9"]["coverage"] - 0.9) <= 0.04
    assert metrics["crps"] > 0


def test_many_series_get_quantiles_each_in_its_own_units() -> None:
    table = long_table(lengths=(400, 300, 350)).sort_values(["store", "time"])
    model = Forecaster(**{**PANEL_TINY, "quantiles": "0.2,0.8", "epochs": 2}).fit(table)
    assert set(model.metrics_["quantiles"]["levels"]) == {"q0.2", "q0.8"} and model.metrics_["pinball"] > 0
    rows = model.metrics_["series"]  # each series' own share below each level, which pool to the whole's
    weights = [row["n_origins"] for row in rows]
    pooled = np.average([row["coverage_q0.8"] for row in rows], weights=weights)
    assert model.metrics_["quantiles"]["levels"]["q0.8"]["coverage"] == pytest.approx(pooled)
    forecast = model.predict(table)
    assert list(forecast.columns) == ["store", "time", "step", "y", "q0.2", "q0.8"]
    assert np.all(forecast["q0.2"] <= forecast["q0.8"])
    # each series' band sits around its own level, not the pool's
    for store, rows in forecast.groupby("store"):
        assert np.all((rows["q0.2"] <= rows["y"]) & (rows["y"] <= rows["q0.8"])), store
    # and a shard of one series forecasts it as the whole table does
    alone = model.predict(table[table["store"] == "b"])
    whole = forecast[forecast["store"] == "b"].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone.reset_index(drop=True), whole)


def test_parse_quantiles_reads_sorted_distinct_levels_and_refuses_the_rest() -> None:
    assert parse_quantiles("0.9, 0.1,0.5") == (0.1, 0.5, 0.9)
    assert parse_quantiles(None) == () and parse_quantiles(()) == ()
    for bad, message in (
        ("0", "strictly between 0 and 1"),
        ("1", "strictly between"),
        ("abc", "like 0.1,0.5,0.9"),
        ("", "--quantiles is empty; give levels like 0.1,0.5,0.9, or leave the option out"),  # not "no levels"
        (" ", "--quantiles is empty"),
    ):
        with pytest.raises(ConfigError, match=message):
            parse_quantiles(bad)
    with pytest.raises(ConfigError, match="each level once"):
        parse_quantiles("0.1,0.10")
    with pytest.raises(ConfigError, match="ascending order"):
        ModelConfig(quantiles=(0.9, 0.1))


def test_too_few_validation_origins_for_a_level_is_an_error_before_training() -> None:
    # a 0.99 quantile needs 99 validation errors for its conformal correction to be finite
    with pytest.raises(DataError, match="too few to calibrate quantiles 0.5, 0.99; they need at least 99"):
        Forecaster("y", time_col="time", quantiles="0.5,0.99", **TINY).fit(sine_frame(n=300))


def test_pinball_loss_and_scores_follow_their_definitions() -> None:
    actual = np.array([[1.0, 2.0]])
    assert pinball(actual, np.array([[0.0, 3.0]]), 0.9).tolist() == [[0.9, pytest.approx(0.1)]]
    values = np.stack([actual - 1, actual + 1], axis=2)  # [1, 2, 2]: one below, one above every value
    scores = quantile_scores(actual, values, (0.25, 0.75))
    assert scores["levels"]["q0.25"]["coverage"] == 0 and scores["levels"]["q0.75"]["coverage"] == 1
    assert scores["pinball"] == pytest.approx(0.25) and scores["crps"] == pytest.approx(0.5)


def test_train_and_predict_quantiles_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    sine_frame(n=400).to_csv(data, index=False)
    runner = CliRunner()
    trained = runner.invoke(
        cli, ["train", str(data), "--target", "y", "--quantiles", "0.9,0.1", "-o", str(tmp_path / "m"), *TINY_FLAGS]
    )
    assert trained.exit_code == 0, trained.output
    assert "Quantiles: actual values at or below q0.1" in trained.stderr
    predicted = runner.invoke(cli, ["predict", str(tmp_path / "m"), str(data)])
    assert predicted.exit_code == 0 and predicted.stdout.splitlines()[0] == "time,step,y,q0.1,q0.9"
    info = runner.invoke(cli, ["info", str(tmp_path / "m")])
    assert "0.1, 0.9 (quantile head, calibrated on" in info.stderr
    # where each part starts and ends: what calibrate's rows should start from
    assert "; val 40 (2024-01-12 16:00:00 to 2024-01-14 07:00:00);" in " ".join(info.stderr.split())


def test_calibrate_takes_the_quantile_corrections_again_and_touches_nothing_else(tmp_path: Path) -> None:
    """A model trained on calm noise, calibrated on rows whose noise is three times as large: only the
    corrections change (the network's weights file is copied byte for byte), and the new quantiles
    fit the noisier rows."""
    model = Forecaster("y", time_col="time", quantiles="0.1,0.9", **{**TINY, "lookback": 24, "horizon": 3})
    model.fit(ar1_frame(n=3000))
    model.save(tmp_path / "m")
    weights_before = (tmp_path / "m" / "weights.safetensors").read_bytes()
    metrics_before = (tmp_path / "m" / "metrics.json").read_bytes()
    noisy = ar1_frame(n=1500, seed=3, start="2025-01-01").assign(y=lambda f: 10 + (f["y"] - 10) * 3)
    noisy.to_csv(tmp_path / "recent.csv", index=False)
    result = CliRunner().invoke(cli, ["calibrate", str(tmp_path / "m"), str(tmp_path / "recent.csv"), "--last", "800"])
    assert result.exit_code == 0, result.output
    assert "Quantile corrections (mean, in units of the window's spread): q0.1" in result.stderr
    assert (tmp_path / "m" / "weights.safetensors").read_bytes() == weights_before
    assert (tmp_path / "m" / "metrics.json").read_bytes() == metrics_before
    calibrated = Forecaster.load(tmp_path / "m")
    assert calibrated.quantiles_.calibration == 800 and calibrated.intervals_ is None
    assert calibrated.quantiles_.shifts[0].mean() < model.quantiles_.shifts[0].mean()  # q0.1 moved down
    assert calibrated.quantiles_.shifts[1].mean() > model.quantiles_.shifts[1].mean()  # q0.9 moved up
    later = ar1_frame(n=1500, seed=4, start="2026-01-01").assign(y=lambda f: 10 + (f["y"] - 10) * 3)
    before = model.evaluate(later)["quantiles"]["levels"]
    after = calibrated.evaluate(later)["quantiles"]["levels"]
    assert abs(after["q0.9"]["coverage"] - 0.9) < abs(before["q0.9"]["coverage"] - 0.9)
    info = CliRunner().invoke(cli, ["info", str(tmp_path / "m")])
    assert "recalibrated from 800 forecast origins" in info.stderr
    assert "Quantiles (training-time corrections, replaced by calibrate since)" in info.stderr


def test_backtest_scores_every_folds_own_quantiles_and_pools_them() -> None:
    from lstmcast.backtest import backtest

    template = Forecaster("y", time_col="time", quantiles="0.1,0.9", **{**TINY, "lookback": 24, "horizon": 3})
    report = backtest(template, ar1_frame(n=2000), folds=2, stride=3)
    folds = [record["metrics"] for record in report["folds"]]
    assert all(set(fold["quantiles"]["levels"]) == {"q0.1", "q0.9"} for fold in folds)
    weights = np.array([fold["n_origins"] for fold in folds])
    for name in ("q0.1", "q0.9"):  # the pool is the folds' own quantiles together, not one fold's
        pooled = np.average([fold["quantiles"]["levels"][name]["coverage"] for fold in folds], weights=weights)
        assert report["quantiles"]["levels"][name]["coverage"] == pytest.approx(pooled)
    assert report["pinball"] == pytest.approx(np.average([fold["pinball"] for fold in folds], weights=weights))


def test_backtest_of_many_series_pools_every_folds_own_quantiles(tmp_path: Path) -> None:
    path = tmp_path / "stores.csv"
    long_table(lengths=(400, 300, 350)).sort_values(["store", "time"]).to_csv(path, index=False)
    args = ["backtest", str(path), "--target", "y", "--id-col", "store", "--quantiles", "0.1,0.9", "--folds", "2"]
    result = CliRunner().invoke(cli, [*args, *TINY_FLAGS, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    folds = [record["metrics"] for record in report["folds"]]
    weights = np.array([fold["n_origins"] for fold in folds])
    for name in ("q0.1", "q0.9"):  # a share below is the same in any series' units: the pool is the folds'
        pooled = np.average([fold["quantiles"]["levels"][name]["coverage"] for fold in folds], weights=weights)
        assert report["quantiles"]["levels"][name]["coverage"] == pytest.approx(pooled)


def test_plot_shades_the_central_quantile_pairs_as_bands(ar1_model: Forecaster) -> None:
    frame = ar1_frame(n=300)
    bands = ar1_model.forecast_bands(frame)
    assert list(bands) == [80.0]  # 0.1 with 0.9; the median is the middle, not a band
    low, high = bands[80.0]
    forecast = ar1_model.predict(frame)
    np.testing.assert_array_equal(low.to_numpy(), forecast["q0.1"].to_numpy())
    np.testing.assert_array_equal(high.to_numpy(), forecast["q0.9"].to_numpy())


def test_tune_gives_every_trial_the_quantiles_and_keeps_them_with_the_best(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    sine_frame(n=400).to_csv(data, index=False)
    common = ["--target", "y", "--quantiles", "0.2,0.8", *TINY_FLAGS]
    result = CliRunner().invoke(cli, ["tune", str(data), *common, "--grid", "hidden=4,8", "-o", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert Forecaster.load(tmp_path / "m").quantiles_.levels == (0.2, 0.8)
    refused = CliRunner().invoke(
        cli, ["tune", str(data), *common, "--grid", "quantiles=0.1", "-o", str(tmp_path / "x")]
    )
    assert refused.exit_code == 2 and "quantiles" in refused.stderr


def test_plot_draws_as_many_bands_as_a_model_may_have(tmp_path: Path) -> None:
    """Eight levels (the most --level takes) once gave a shading darker than opaque: an internal error."""
    pytest.importorskip("matplotlib")
    levels = "10,20,30,40,50,60,70,80"
    model = Forecaster("y", time_col="time", levels=levels, **{**TINY, "lookback": 24}).fit(ar1_frame(n=1500))
    model.save(tmp_path / "m")
    ar1_frame(n=300).to_csv(tmp_path / "d.csv", index=False)
    result = CliRunner().invoke(
        cli, ["plot", str(tmp_path / "m"), str(tmp_path / "d.csv"), "-o", str(tmp_path / "p.png")]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda q: q.update(shifts=[row[:-1] if k == 0 else row for k, row in enumerate(q["shifts"])]), "one list per"),
        (lambda q: q.update(levels=q["levels"][::-1]), "levels must be in ascending order"),
        (lambda q: q.update(window_norm="mean"), "in units of window norm 'mean'; the model's is 'last'"),
        (lambda q: q["shifts"][0].__setitem__(0, 1e308), "at most 1e\\+06 window spreads"),
    ],
    ids=["ragged", "reordered", "other-norm", "huge"],
)
def test_a_damaged_quantile_record_is_a_clear_load_error(
    ar1_model: Forecaster, tmp_path: Path, change, message: str
) -> None:
    ar1_model.save(tmp_path / "m")
    path = tmp_path / "m" / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest["quantiles"])
    path.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=message):
        Forecaster.load(tmp_path / "m")


def test_quantiles_that_are_not_finite_are_refused_not_written(ar1_model: Forecaster) -> None:
    weights = dict(ar1_model.state_.weights)
    weights["core.quantile_head.bias"] = np.full_like(weights["core.quantile_head.bias"], np.nan)  # a damaged head
    damaged = Forecaster.from_state(ar1_model.state_.replace(weights=weights))
    with pytest.raises(DataError, match="some quantiles are not finite numbers"):
        damaged.predict(ar1_frame(n=300))


def test_column_names_write_every_digit_of_a_level() -> None:
    assert parse_quantiles("1e-5,0.5,0.1000000001") == (1e-5, 0.1000000001, 0.5)
    from lstmcast.quantiles import quantile_names

    assert quantile_names((1e-5, 0.1000000001, 0.5)) == ["q0.00001", "q0.1000000001", "q0.5"]


def test_calibrate_warns_when_many_windows_are_flat_under_a_spread_norm() -> None:
    from lstmcast.calibration import calibrate

    settings = {**TINY, "lookback": 24, "horizon": 3, "window_norm": "mean"}
    model = Forecaster("y", time_col="time", quantiles="0.1,0.9", **settings).fit(ar1_frame(n=1500))
    stuck = ar1_frame(n=400, seed=2, start="2026-01-01")
    stuck.loc[100:250, "y"] = 10.0  # a sensor stuck for 150 hours
    with pytest.warns(DataWarning, match="input windows are nearly flat"):
        calibrate(model.state_, stuck)


def test_a_spike_in_the_calibration_rows_is_refused_not_written_as_a_model_no_command_could_load(
    ar1_model: Forecaster, tmp_path: Path
) -> None:
    """A glitch of 1e8 among the recent rows put a band 3e6 window spreads wide: calibrate wrote it,
    and every later command refused the model as damaged. Now calibrate refuses, and the model stays."""
    ar1_model.save(tmp_path / "m")
    before = {name: (tmp_path / "m" / name).read_bytes() for name in ("manifest.json", "weights.safetensors")}
    recent = ar1_frame(n=400, seed=6, start="2026-01-01")
    recent.loc[len(recent) - 4 :, "y"] = 1e8
    recent.to_csv(tmp_path / "recent.csv", index=False)
    result = CliRunner().invoke(cli, ["calibrate", str(tmp_path / "m"), str(tmp_path / "recent.csv"), "--last", "9"])
    assert result.exit_code == 3 and "more than 1e+06 input-window spreads from the forecast" in result.stderr
    assert before == {name: (tmp_path / "m" / name).read_bytes() for name in before}


def test_weights_that_are_not_finite_are_a_damaged_model(ar1_model: Forecaster, tmp_path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    from lstmcast.artifact import _sha256

    ar1_model.save(tmp_path / "m")
    weights = load_file(str(tmp_path / "m" / "weights.safetensors"))
    weights["core.quantile_head.bias"][0] = np.nan
    save_file(weights, str(tmp_path / "m" / "weights.safetensors"))
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    manifest["weights_sha256"] = _sha256(tmp_path / "m" / "weights.safetensors")
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="core.quantile_head.bias with values that are not finite numbers"):
        Forecaster.load(tmp_path / "m")


def test_calibrate_since_the_validation_part_takes_every_origin_from_its_start(tmp_path: Path) -> None:
    """What the recalibration benchmark found best, without cutting the file: the origins whose
    forecasts start in the validation part or later; no warning (training took its bands from there)."""
    from lstmcast.calibration import calibrate

    frame = ar1_frame(n=1500)
    model = Forecaster("y", time_col="time", quantiles="0.1,0.9", **{**TINY, "lookback": 24, "horizon": 6})
    model.fit(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        result = calibrate(model.state_, frame, since="validation")
    first_validation_row = 1050  # 70% of 1,500 rows train
    assert result.origins == len(frame) - first_validation_row - 6 + 1
    assert result.state.calibration["since"] == "validation"
    assert (
        calibrate(model.state_, frame, since="2024-03-01").state.calibration["period"]["start"] == "2024-03-01 00:00:00"
    )
    with pytest.raises(ConfigError, match="--since takes a time or 'validation'; got 'soon'"):
        calibrate(model.state_, frame, since="soon")
    with pytest.raises(DataError, match="too few rows to calibrate from 2030-01-01"):
        calibrate(model.state_, frame, since="2030-01-01")
    # many series: each series' own validation part, no warning either
    table = long_table(lengths=(400, 300, 350)).sort_values(["store", "time"])
    panel = Forecaster(**{**PANEL_TINY, "quantiles": "0.2,0.8"}).fit(table)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        result = calibrate(panel.state_, table, since="validation")
    from lstmcast.window import chronological_split

    horizon, window = PANEL_TINY["horizon"], panel.state_.window
    expected = sum(n - chronological_split(n, window, "x").train_end - horizon + 1 for n in (400, 300, 350))
    assert result.origins == expected
    with pytest.warns(DataWarning, match="origins forecast rows the model was trained on"):
        calibrate(panel.state_, table)  # from each series' first row: its training part


def test_since_is_read_whatever_unit_and_zone_the_files_keep_their_times_in(tmp_path: Path) -> None:
    """A panel model stores each series' last training time in nanoseconds: a Parquet file of the
    same rows (read in its own unit) must start each series at the same row as the CSV it was
    trained on. A zoned --since on times without a zone, an empty one, or "now" is a clear error."""
    from lstmcast.calibration import calibrate

    table = long_table(lengths=(400, 300, 350)).sort_values(["store", "time"])
    panel = Forecaster(**{**PANEL_TINY, "quantiles": "0.2,0.8"}).fit(table)
    table.to_csv(tmp_path / "t.csv", index=False)
    table.assign(time=pd.to_datetime(table["time"]).astype("datetime64[ns]")).to_parquet(tmp_path / "ns.parquet")
    table.assign(time=pd.to_datetime(table["time"]).astype("datetime64[ms]")).to_parquet(tmp_path / "ms.parquet")
    counts = {
        name: calibrate(panel.state_, read_table(tmp_path / name), since="validation").origins
        for name in ("t.csv", "ns.parquet", "ms.parquet")
    }
    assert len(set(counts.values())) == 1, counts
    one = Forecaster("y", time_col="time", quantiles="0.2,0.8", **TINY).fit(sine_frame(n=400))
    for bad, error, message in (
        ("2024-01-12T16:00:00+02:00", DataError, "the times have no zone, and --since"),
        ("", ConfigError, "--since takes a time or 'validation'; got ''"),
        ("now", ConfigError, "got 'now'"),
    ):
        with pytest.raises(error, match=message):
            calibrate(one.state_, sine_frame(n=400), since=bad)


def test_a_pooled_backtest_scores_every_folds_probabilities_with_its_own_error_paths() -> None:
    """The pooled report once read every fold's forecasts through the first fold's error paths."""
    from lstmcast.backtest import backtest

    template = Forecaster("y", time_col="time", **{**TINY, "lookback": 24, "horizon": 3})
    report = backtest(template, ar1_frame(n=2000), folds=2, stride=3, threshold="q0.9")
    folds = [record["metrics"] for record in report["folds"]]
    weights = np.array([fold["n_origins"] * 3 for fold in folds])  # forecast steps per fold
    pooled = np.average([fold["probabilities"]["step"]["brier"] for fold in folds], weights=weights)
    assert report["probabilities"]["step"]["brier"] == pytest.approx(pooled)


def test_weights_too_light_for_a_quantile_are_refused() -> None:
    """Weighted, as plain: a 0.9 correction whose weighted rank lies beyond every error (the origins'
    weight under 9) is a DataError, not the largest error."""
    from lstmcast.quantiles import fit_shifts

    actual, forecast = np.arange(50.0)[:, None], np.zeros((50, 1))
    head, spread = np.zeros((50, 1, 2)), np.ones((50, 1))
    kept = fit_shifts(actual, forecast, head, spread, (0.1, 0.9), "none", "test", np.full(50, 0.3))  # 15 origins' worth
    assert kept.shifts[1, 0] < 49
    with pytest.raises(DataError, match="weigh as much as 4 .*quantile 0.9.*at least 9"):
        fit_shifts(actual, forecast, head, spread, (0.1, 0.9), "none", "test", np.full(50, 0.08))
