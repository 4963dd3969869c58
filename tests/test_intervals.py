"""Prediction intervals (``--level``): split-conformal bands from the validation part's errors, that
cover about their nominal share of new values, written beside the forecast and scored in reports."""

import json
import math
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, sine_frame

from lstmcast import ConfigError, DataError, DataWarning, Forecaster, read_table
from lstmcast.errors import ArtifactError
from lstmcast.intervals import fit_intervals, parse_levels
from lstmcast.quick import predict_source
from lstmcast.write import table_bytes


def ar1_frame(n: int = 12_000, phi: float = 0.8, seed: int = 0, start: str = "2024-01-01") -> pd.DataFrame:
    """A Gaussian AR(1) series: its errors are stationary, so validation and test errors are alike."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=n)
    y = np.empty(n)
    y[0] = noise[0]
    for t in range(1, n):  # a test fixture: a loop is the plainest statement of the process
        y[t] = phi * y[t - 1] + noise[t]
    return pd.DataFrame({"time": pd.date_range(start, periods=n, freq="h"), "y": 10 + y})


@pytest.fixture(scope="module")
def ar1_model() -> Forecaster:
    settings = {**TINY, "lookback": 24, "horizon": 6, "epochs": 3, "val_frac": 0.2, "test_frac": 0.3}
    return Forecaster("y", time_col="time", levels="80,95", **settings).fit(ar1_frame())


def test_intervals_cover_their_nominal_share_of_new_values_within_three_points(ar1_model: Forecaster) -> None:
    metrics = ar1_model.metrics_  # the test part: 3,600 rows never seen in training or calibration
    assert abs(metrics["coverage_80"] - 0.80) <= 0.03
    assert abs(metrics["coverage_95"] - 0.95) <= 0.03
    scores = metrics["intervals"]["80"]
    assert scores["level"] == 80 and len(scores["per_step_coverage"]) == 6
    assert scores["width"] < metrics["intervals"]["95"]["width"]
    assert ar1_model.intervals_.calibration == 2400 - 6 + 1  # every validation origin


def test_predict_writes_nested_bands_around_the_forecast(ar1_model: Forecaster) -> None:
    forecast = ar1_model.predict(ar1_frame())
    assert list(forecast.columns) == ["time", "step", "y", "lo_80", "hi_80", "lo_95", "hi_95"]
    assert np.all(forecast["lo_95"] <= forecast["lo_80"]) and np.all(forecast["lo_80"] <= forecast["hi_80"])
    assert np.all(forecast["hi_80"] <= forecast["hi_95"])
    # Wider further out: an AR(1) forgets its start, so step 6 is less certain than step 1.
    width = (forecast["hi_80"] - forecast["lo_80"]).to_numpy()
    assert width[-1] > width[0]


def test_the_fast_path_writes_the_bands_as_the_pandas_path_does(ar1_model: Forecaster, tmp_path: Path) -> None:
    path = tmp_path / "recent.csv"
    ar1_frame(n=300, seed=5).to_csv(path, index=False)
    fast, _ = predict_source(ar1_model.state_, str(path), None)
    assert fast is not None and fast.splitlines()[0] == b"time,step,y,lo_80,hi_80,lo_95,hi_95"
    assert fast == table_bytes(ar1_model.predict(read_table(path)), "csv")


def test_intervals_are_kept_with_the_model_and_checked_on_load(ar1_model: Forecaster, tmp_path: Path) -> None:
    ar1_model.save(tmp_path / "m")
    loaded = Forecaster.load(tmp_path / "m")
    assert loaded.levels == (80.0, 95.0)
    np.testing.assert_array_equal(loaded.intervals_.upper, ar1_model.intervals_.upper)
    pd.testing.assert_frame_equal(loaded.predict(ar1_frame(n=300)), ar1_model.predict(ar1_frame(n=300)))
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    manifest["intervals"]["lower"][0][0] = manifest["intervals"]["upper"][0][0] + 1  # a band upside down
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="lower at most upper"):
        Forecaster.load(tmp_path / "m")


def test_a_model_without_intervals_predicts_and_reports_as_before() -> None:
    plain = Forecaster("y", time_col="time", **TINY).fit(sine_frame(n=300))
    assert plain.intervals_ is None and "coverage_80" not in plain.metrics_ and "intervals" not in plain.metrics_
    assert list(plain.predict(sine_frame(n=300)).columns) == ["time", "step", "y"]


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ("0", "strictly between 0 and 100"),
        ("100", "strictly between 0 and 100"),
        ("150", "strictly between 0 and 100"),
        ("abc", "percentages like 80,95"),
        ("80,80", "each level once"),
        ("80,80.000001", "each level once"),  # both would name lo_80
    ],
)
def test_bad_levels_are_clear_errors(levels: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_levels(levels)
    with pytest.raises(ConfigError, match=message):
        Forecaster(levels=levels).settings()


def test_the_bands_are_the_conformal_quantiles_of_the_residuals() -> None:
    residuals = np.arange(1, 100, dtype=float)[:, None] - 50  # -49 .. 49, one step
    intervals = fit_intervals(residuals, np.ones((99, 1)), (80.0,), "last", "<test>")
    # n = 99, alpha = 0.2: the 10th and the 90th smallest, floor(100 * 0.1) and ceil(100 * 0.9)
    assert intervals.lower[0, 0] == -40 and intervals.upper[0, 0] == 40
    with pytest.raises(DataError, match="too few for 95% intervals; they need at least 39"):
        fit_intervals(residuals[:38], np.ones((38, 1)), (95.0,), "last", "<test>")


def test_many_series_get_bands_and_each_series_its_coverage() -> None:
    from test_panel import PANEL_TINY, long_table

    table = long_table().sort_values(["store", "time"])
    model = Forecaster(**{**PANEL_TINY, "levels": "80", "val_frac": 0.2}).fit(table)
    forecast = model.predict(table)
    assert list(forecast.columns) == ["store", "time", "step", "y", "lo_80", "hi_80"]
    assert np.all(forecast["lo_80"] <= forecast["hi_80"])
    assert all("coverage_80" in row for row in model.metrics_["series"])
    shares = [row["coverage_80"] * row["n_origins"] for row in model.metrics_["series"]]
    assert model.metrics_["coverage_80"] == pytest.approx(sum(shares) / model.metrics_["n_origins"])


def test_a_backtest_pools_each_folds_own_bands() -> None:
    from lstmcast.backtest import backtest

    settings = {**TINY, "lookback": 24, "horizon": 6, "epochs": 2, "test_frac": 0.3, "levels": "80"}
    report = backtest(Forecaster("y", time_col="time", **settings), ar1_frame(n=3000), folds=3)
    folds = report["folds"]
    pooled = sum(f["metrics"]["coverage_80"] * f["metrics"]["n_origins"] for f in folds) / report["n_origins"]
    assert report["coverage_80"] == pytest.approx(pooled)


def test_from_the_command_line_train_predict_and_info(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from conftest import TINY_FLAGS

    from lstmcast.cli import cli

    ar1_frame(n=1500).to_csv(tmp_path / "ar1.csv", index=False)
    data, model = str(tmp_path / "ar1.csv"), str(tmp_path / "m")
    run = CliRunner().invoke
    trained = run(cli, ["train", data, "--target", "y", "--level", "95,80", "-o", model, *TINY_FLAGS])
    assert trained.exit_code == 0, trained.stderr
    assert "80% interval: covers" in trained.stderr and "95% interval: covers" in trained.stderr
    predicted = run(cli, ["predict", model, data])
    assert predicted.stdout.splitlines()[0] == "time,step,y,lo_80,hi_80,lo_95,hi_95"
    assert "80%, 95% (conformal, from" in run(cli, ["info", model]).stderr


def test_the_plot_shades_the_bands_predict_writes(ar1_model: Forecaster, tmp_path: Path) -> None:
    from lstmcast.plot import plot_forecast

    frame = ar1_frame(n=300)
    bands = ar1_model.forecast_bands(frame)
    forecast = ar1_model.predict(frame)
    assert sorted(bands) == [80.0, 95.0]
    np.testing.assert_allclose(bands[80.0][0].to_numpy(), forecast["lo_80"].to_numpy())
    np.testing.assert_allclose(bands[95.0][1].to_numpy(), forecast["hi_95"].to_numpy())
    history, point, actual = ar1_model.forecast_context(frame, origin=200)
    plot_forecast(tmp_path / "f.png", history, point, actual, bands=ar1_model.forecast_bands(frame, origin=200))
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")
    assert Forecaster("y", time_col="time", **TINY).fit(sine_frame(n=300)).forecast_bands(sine_frame(n=300)) == {}


# -- calibrate: new bands from recent errors, nothing else changes ------------------------------------


def _files(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def test_calibrate_changes_the_intervals_and_nothing_else(ar1_model: Forecaster, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lstmcast.cli import cli

    ar1_model.save(tmp_path / "m")
    before = _files(tmp_path / "m")
    recent = ar1_frame(n=2000, seed=7, start="2026-01-01")
    noisier = recent.assign(y=10 + 3 * (recent["y"] - 10))  # three times the noise
    noisier.to_csv(tmp_path / "recent.csv", index=False)
    ran = CliRunner().invoke(cli, ["calibrate", str(tmp_path / "m"), str(tmp_path / "recent.csv")])
    assert ran.exit_code == 0, ran.stderr
    assert ran.stdout == "" and "Recalibrated" in ran.stderr and "80% band" in ran.stderr
    after = _files(tmp_path / "m")
    assert after["weights.safetensors"] == before["weights.safetensors"]
    assert after["metrics.json"] == before["metrics.json"]
    old, new = (json.loads(files["manifest.json"]) for files in (before, after))
    refreshed = {"intervals", "calibration"}
    assert {k: v for k, v in old.items() if k not in refreshed} == {k: v for k, v in new.items() if k not in refreshed}
    assert "calibration" not in old and new["events"] is None  # no threshold: nothing about events changes
    record = new["calibration"]
    assert record["source"] == str(tmp_path / "recent.csv") and record["origins"] == 2000 - 24 - 6 + 1
    assert record["levels"] == [80, 95] and record["paths"] is None and record["last"] is None
    assert record["period"] == {"start": "2026-01-02 00:00:00", "end": "2026-03-25 07:00:00"}
    ratio = np.subtract(new["intervals"]["upper"], new["intervals"]["lower"]) / np.subtract(
        old["intervals"]["upper"], old["intervals"]["lower"]
    )
    assert 2.5 < np.median(ratio) < 3.5  # the bands follow the new noise
    assert new["intervals"]["calibration"] == 2000 - 24 - 6 + 1


def test_a_half_life_weighs_recent_errors_more(ar1_model: Forecaster, tmp_path: Path) -> None:
    """Errors that tripled in the last fifth of the rows: an even calibration barely notices them, a
    short half-life follows them; a half-life far longer than the data changes nothing."""
    from click.testing import CliRunner

    from lstmcast.calibration import calibrate
    from lstmcast.cli import cli

    recent = ar1_frame(n=2000, seed=7, start="2026-01-01")
    late = recent.index >= 1600
    recent.loc[late, "y"] = 10 + 3 * (recent.loc[late, "y"] - 10)

    def width(**options: float) -> float:
        bands = calibrate(ar1_model.state_, recent, **options).state.intervals
        return float(np.median(bands.upper[0] - bands.lower[0]))

    even, short, endless = width(), width(half_life=5.0), width(half_life=1e9)
    assert short > 1.8 * even  # 5 days of hourly rows: the tripled noise dominates
    assert endless == even
    ar1_model.save(tmp_path / "m")
    recent.to_csv(tmp_path / "recent.csv", index=False)
    ran = CliRunner().invoke(cli, ["calibrate", str(tmp_path / "m"), str(tmp_path / "recent.csv"), "--half-life", "5"])
    assert ran.exit_code == 0, ran.stderr
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["calibration"]["half_life"] == 5.0
    assert "--half-life 5" in CliRunner().invoke(cli, ["info", str(tmp_path / "m")]).stderr
    manifest["calibration"]["half_life"] = "five"  # a damaged record is a damaged model, not a crash
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(manifest))
    damaged = CliRunner().invoke(cli, ["info", str(tmp_path / "m")])
    assert damaged.exit_code == 4 and "calibration.half_life" in damaged.stderr
    refused = CliRunner().invoke(
        cli, ["calibrate", str(tmp_path / "m"), str(tmp_path / "recent.csv"), "--half-life", "0"]
    )
    assert refused.exit_code == 2 and "--half-life" in refused.stderr


@pytest.mark.parametrize("n", [1, 9, 39, 40, 199, 1000])
def test_weighted_ranks_with_every_weight_1_are_split_conformals(n: int) -> None:
    from lstmcast.intervals import weighted_ranks

    for level in (50.0, 80.0, 90.0, 95.0, 99.0):
        alpha = 1 - level / 100
        low, high = weighted_ranks(np.ones((n, 3)), alpha / 2, 1 - alpha / 2)
        assert (low + 1 == max(math.floor((n + 1) * alpha / 2 + 1e-9), 1)).all()
        assert (high + 1 == min(math.ceil((n + 1) * (1 - alpha / 2) - 1e-9), n)).all()


def test_weighted_ranks_follow_the_weight_not_the_count() -> None:
    from lstmcast.intervals import weighted_ranks

    weights = np.array([[1.0], [1.0], [1.0], [1.0], [96.0]])  # the largest value holds most of the weight
    low, high = weighted_ranks(weights, 0.05, 0.5)
    assert high[0] == 4  # half the weight is reached only at the heavy value
    assert low[0] == 3  # the four light values hold 4 / 101 of the weight, under 5%: the lower end is the 4th


def test_uneven_weights_never_turn_a_band_upside_down() -> None:
    """A level of 1e-7 percent and a half-life so short that only the newest origin weighs: every share
    is within 1e-9 of both ends, which once put the lower edge after the upper one, and calibrate wrote
    a model every later command refused as damaged (exit 4)."""
    from lstmcast.intervals import Intervals, weighted_ranks

    weights = np.array([[1.0], [1e-10], [1e-10], [1e-10]])
    low, high = weighted_ranks(weights, 0.5 - 5e-10, 0.5 + 5e-10)
    assert low[0] <= high[0]
    residuals = np.array([[0.0], [1.0], [2.0], [3.0]])
    bands = fit_intervals(residuals, np.ones((4, 1)), (1e-7,), "none", "test", weights[:, 0])
    assert (bands.lower <= bands.upper).all()
    assert Intervals.from_dict(bands.to_dict()).lower.tolist() == bands.lower.tolist()  # loads, not damaged


def test_weights_too_light_for_a_band_are_refused_as_too_few_origins_are() -> None:
    """Weighted, as plain: a band whose upper edge lies beyond every error (the weight of all the
    origins under 2 / alpha - 1) is a DataError, not the largest error passed off as a 95% edge.
    A --half-life of 1e-300 once gave the 80% and the 95% band alike, [just under the newest error,
    the largest], most of them not even holding the forecast."""
    residuals = np.arange(100.0)[:, None]
    light = np.full(100, 0.35)  # 35 origins' worth: enough for 80% (9), too little for 95% (39)
    assert fit_intervals(residuals, np.ones((100, 1)), (80.0,), "none", "test", light).upper[0, 0] < 99
    with pytest.raises(DataError, match="weigh as much as 35 .*95% intervals.*at least 39"):
        fit_intervals(residuals, np.ones((100, 1)), (80.0, 95.0), "none", "test", light)
    newest_only = np.r_[np.zeros(99), 1.0]
    with pytest.raises(DataError, match="--half-life"):
        fit_intervals(residuals, np.ones((100, 1)), (80.0,), "none", "test", newest_only)
    even = fit_intervals(residuals[:39], np.ones((39, 1)), (95.0,), "none", "test", np.ones(39))  # the plain minimum
    assert even.to_dict() == fit_intervals(residuals[:39], np.ones((39, 1)), (95.0,), "none", "test").to_dict()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("a file", "m: not a model directory (it is a file)"),
        ("a foreign manifest", "m/manifest.json: not an lstmcast model manifest"),
        ("a truncated manifest", "m/manifest.json: corrupt (Expecting"),
    ],
)
def test_calibrate_on_what_is_not_a_model_is_a_model_error_as_for_predict(
    ar1_model: Forecaster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str, message: str
) -> None:
    """The model directory is calibrate's input before it is its output: exit 4, not 5, and left as it was."""
    from click.testing import CliRunner

    from lstmcast.cli import cli

    ar1_model.save(tmp_path / "m")
    manifest = tmp_path / "m" / "manifest.json"
    if damage == "a file":
        shutil.rmtree(tmp_path / "m")
        (tmp_path / "m").write_text("notes\n")
    elif damage == "a foreign manifest":
        manifest.write_text('{"name": "my web app"}')
    else:
        manifest.write_bytes(manifest.read_bytes()[:1000])
    before = sorted((p.relative_to(tmp_path), p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file())
    ar1_frame(n=300, seed=7).to_csv(tmp_path / "recent.csv", index=False)
    monkeypatch.chdir(tmp_path)
    ran = CliRunner().invoke(cli, ["calibrate", "m", "recent.csv"])
    assert ran.exit_code == 4, ran.stderr
    assert ran.stderr.startswith(f"Error: {message}") and ran.stderr.count("\n") == 1
    after = sorted((p.relative_to(tmp_path), p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file())
    assert [entry for entry in after if entry[0].name != "recent.csv"] == before


def _network_tensors(directory: Path) -> dict[str, bytes]:
    from safetensors.numpy import load_file

    tensors = load_file(str(directory / "weights.safetensors"))
    return {
        name: value.dtype.str.encode() + value.tobytes() for name, value in tensors.items() if name != "events.paths"
    }


def test_calibrate_refreshes_a_threshold_models_error_paths_and_keeps_its_network(
    threshold_model: Forecaster, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from lstmcast.cli import cli

    threshold_model.save(tmp_path / "m")
    before, network = _files(tmp_path / "m"), _network_tensors(tmp_path / "m")
    recent = ar1_frame(n=1000, seed=7, start="2026-01-01")
    recent.assign(y=10 + 3 * (recent["y"] - 10)).to_csv(tmp_path / "recent.csv", index=False)
    ran = CliRunner().invoke(cli, ["calibrate", str(tmp_path / "m"), str(tmp_path / "recent.csv"), "--last", "600"])
    assert ran.exit_code == 0, ran.stderr
    assert "Recalibrated" in ran.stderr and "band" not in ran.stderr  # trained with a threshold, without --level
    assert "Event error paths" in ran.stderr and "-> 600 from these origins" in ran.stderr
    assert "prob and prob_any follow them" in ran.stderr
    after = _files(tmp_path / "m")
    assert _network_tensors(tmp_path / "m") == network  # every tensor of the network, byte for byte
    assert after["metrics.json"] == before["metrics.json"]
    old, new = (json.loads(files["manifest.json"]) for files in (before, after))
    assert new["events"] == old["events"] and "intervals" not in new
    assert new["calibration"]["paths"] == 600 and new["calibration"]["levels"] is None
    assert new["weights_sha256"] != old["weights_sha256"]  # the file holds the new paths, and says so
    loaded = Forecaster.load(tmp_path / "m")
    assert loaded.state_.paths.shape == (600, 6)
    # Three times the noise: the events beyond the old q0.9 become likelier, as the new paths say.
    frame = ar1_frame(n=400, seed=9, start="2026-06-01")
    assert loaded.predict(frame)["prob_any"].iloc[0] > threshold_model.predict(frame)["prob_any"].iloc[0]
    # With --level, the bands are learned from the same origins too.
    from lstmcast.calibration import calibrate

    both = calibrate(threshold_model.state_, read_table(tmp_path / "recent.csv"), (80.0,), last=600)
    assert both.state.intervals.levels == (80.0,) and both.state.calibration["levels"] == [80.0]
    assert both.state.paths.shape == (600, 6) and both.state.weights is threshold_model.state_.weights
    # --half-life weighs the bands only: on a model with nothing but error paths it would be recorded (and
    # shown by info) while changing nothing, so it is a usage error; with --level it weighs the bands.
    recent = read_table(tmp_path / "recent.csv")
    with pytest.raises(ConfigError, match="--half-life weighs the bands"):
        calibrate(threshold_model.state_, recent, last=600, half_life=30.0)
    weighed = calibrate(threshold_model.state_, recent, (80.0,), last=600, half_life=30.0)
    assert weighed.state.calibration["half_life"] == 30.0 and weighed.state.intervals.levels == (80.0,)


def test_calibrate_can_add_intervals_to_a_model_trained_without_them(tmp_path: Path) -> None:
    from lstmcast.calibration import calibrate

    plain = Forecaster("y", time_col="time", **{**TINY, "lookback": 24, "horizon": 6}).fit(ar1_frame(n=1500))
    with pytest.raises(ConfigError, match="trained without intervals; give the levels"):
        calibrate(plain.state_, ar1_frame(n=500, seed=3, start="2025-01-01"))
    calibrated = calibrate(plain.state_, ar1_frame(n=500, seed=3, start="2025-01-01"), (80.0,), last=100)
    assert calibrated.origins == 100 and calibrated.state.intervals.levels == (80.0,)
    assert calibrated.state.weights is plain.state_.weights
    with pytest.warns(DataWarning, match="origins forecast rows the model was trained on .* too narrow"):
        seen = calibrate(plain.state_, ar1_frame(n=1500), (80.0,))
    assert seen.in_sample > 0
    # The validation part is what training calibrated on: calibrating from its start warns of nothing.
    validation = ar1_frame(n=1500).iloc[1050 - 24 :]  # 70% training rows; the lookback before the part
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        assert calibrate(plain.state_, validation, (80.0,)).in_sample == 0


@pytest.mark.parametrize("since", ["validation", "2024-01-01"])
def test_calibrate_since_on_a_model_without_times_is_a_usage_error_whatever_the_data(
    tmp_path: Path, since: str
) -> None:
    """The model alone decides it (exit 2, as docs/cli.md says), before the data's lack of times (exit 3)."""
    from click.testing import CliRunner

    from lstmcast.cli import cli

    settings = {**TINY, "lookback": 24, "horizon": 6, "levels": (80,)}
    Forecaster("y", **settings).fit(ar1_frame(n=600)[["y"]]).save(tmp_path / "m")
    before = (tmp_path / "m" / "manifest.json").read_bytes()
    ar1_frame(n=300, seed=3)[["y"]].to_csv(tmp_path / "untimed.csv", index=False)
    ar1_frame(n=300, seed=3).to_csv(tmp_path / "timed.csv", index=False)
    for data in ("untimed.csv", "timed.csv"):
        ran = CliRunner().invoke(cli, ["calibrate", str(tmp_path / "m"), str(tmp_path / data), "--since", since])
        assert ran.exit_code == 2, ran.stderr
        assert ran.stderr == (
            "Error: --since: this model was trained without a time column, so it has no times to start from\n"
        )
    assert (tmp_path / "m" / "manifest.json").read_bytes() == before


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--half-life", "nan"], "--half-life must be a positive number of seasons; got nan"),
        (["--half-life", "30"], "--half-life weighs the bands and the quantiles' corrections, and this model has"),
    ],
    ids=["not a number", "nothing to weigh"],
)
def test_calibrate_settings_are_usage_errors_before_the_data_is_read(
    threshold_model: Forecaster, tmp_path: Path, options: list[str], message: str
) -> None:
    """What the options and the model alone decide is exit 2 whatever DATA is: here it does not exist."""
    from click.testing import CliRunner

    from lstmcast.cli import cli

    threshold_model.save(tmp_path / "m")  # error paths only: no bands, no quantiles
    before = (tmp_path / "m" / "manifest.json").read_bytes()
    ran = CliRunner().invoke(cli, ["calibrate", str(tmp_path / "m"), str(tmp_path / "missing.csv"), *options])
    assert ran.exit_code == 2, ran.stderr
    assert ran.stderr.startswith(f"Error: {message}") and ran.stderr.count("\n") == 1
    assert (tmp_path / "m" / "manifest.json").read_bytes() == before


def test_info_says_the_bands_were_recalibrated_and_labels_the_training_time_coverage(
    ar1_model: Forecaster, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from lstmcast.cli import cli

    ar1_model.save(tmp_path / "m")
    fresh = CliRunner().invoke(cli, ["info", str(tmp_path / "m")])
    assert "from 2395 validation origins" in fresh.stderr and "calibrated" not in fresh.stderr
    assert "80% interval: covers" in fresh.stderr
    ar1_frame(n=600, seed=7, start="2026-01-01").to_csv(tmp_path / "recent.csv", index=False)
    ran = CliRunner().invoke(cli, ["calibrate", str(tmp_path / "m"), str(tmp_path / "recent.csv"), "--last", "100"])
    assert ran.exit_code == 0, ran.stderr
    shown = CliRunner().invoke(cli, ["info", str(tmp_path / "m")], env={"COLUMNS": "400"})
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stderr.splitlines()
    (intervals,) = [line for line in lines if line.startswith("intervals ")]
    assert intervals.split(maxsplit=1)[1].strip() == "80%, 95% (conformal, recalibrated from 100 forecast origins)"
    (calibrated,) = [line for line in lines if line.startswith("calibrated ")]
    assert "the 80%, 95% bands taken again from 100 forecast origins of " in calibrated
    assert "recent.csv (2026-01-21 15:00:00 to 2026-01-25 23:00:00; --last 100)" in calibrated
    # The test part's coverage belongs to the bands training learned, and says so.
    assert "80% interval: covers" not in shown.stderr
    assert "80% interval (training-time band, replaced by calibrate since): covers" in shown.stderr


def test_calibrate_a_model_of_many_series() -> None:
    from test_panel import PANEL_TINY, long_table

    from lstmcast.calibration import calibrate

    table = long_table().sort_values(["store", "time"])
    model = Forecaster(**{**PANEL_TINY, "levels": "80", "val_frac": 0.2}).fit(table)
    recent = table.groupby("store").tail(50)  # within every store's test part
    calibrated = calibrate(model.state_, recent)
    per_series = 50 - TINY["lookback"] - TINY["horizon"] + 1
    assert calibrated.origins == 3 * per_series and calibrated.in_sample == 0


# -- event probabilities from joint error paths --------------------------------------------------------


@pytest.fixture(scope="module")
def threshold_model() -> Forecaster:
    settings = {**TINY, "lookback": 24, "horizon": 6, "epochs": 3, "val_frac": 0.2, "test_frac": 0.3}
    return Forecaster("y", time_col="time", **settings).fit(ar1_frame(n=6000), threshold="q0.9")


def test_a_threshold_model_writes_the_probability_of_each_step_and_of_any_step(threshold_model: Forecaster) -> None:
    forecast = threshold_model.predict(ar1_frame(n=400, seed=9, start="2026-01-01"))
    assert list(forecast.columns) == ["time", "step", "y", "prob", "prob_any", "alert"]
    assert forecast["prob"].between(0, 1).all() and forecast["prob_any"].between(0, 1).all()
    # Any step of the horizon is at least as likely as the likeliest single step, and the same on every row.
    assert forecast["prob_any"].iloc[0] >= forecast["prob"].max() and forecast["prob_any"].nunique() == 1


def test_event_probabilities_beat_the_base_rate_on_new_rows(threshold_model: Forecaster) -> None:
    scores = threshold_model.metrics_["probabilities"]
    assert scores["step"]["events"] >= 10 and scores["step"]["brier_skill"] > 0
    assert scores["any"]["brier_skill"] > 0
    assert threshold_model.metrics_["brier"] == scores["step"]["brier"]
    assert threshold_model.events_["base_rate"] == pytest.approx(0.1, abs=0.01)  # the training part's q0.9
    table = scores["step"]["reliability"]
    assert sum(row["n"] for row in table) == threshold_model.metrics_["n_origins"] * 6
    assert all(row["from"] <= row["mean_probability"] <= row["to"] for row in table)


def test_error_paths_are_kept_with_the_model_and_checked_on_load(threshold_model: Forecaster, tmp_path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    threshold_model.save(tmp_path / "m")
    loaded = Forecaster.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.state_.paths, threshold_model.state_.paths)
    frame = ar1_frame(n=400, seed=9, start="2026-01-01")
    pd.testing.assert_frame_equal(loaded.predict(frame), threshold_model.predict(frame))
    frame.to_csv(tmp_path / "recent.csv", index=False)
    fast, _ = predict_source(loaded.state_, str(tmp_path / "recent.csv"), None)
    assert fast == table_bytes(loaded.predict(read_table(tmp_path / "recent.csv")), "csv")
    weights = load_file(str(tmp_path / "m" / "weights.safetensors"))
    weights["events.paths"] = weights["events.paths"][:, :3]  # paths shorter than the horizon
    save_file(weights, str(tmp_path / "m" / "weights.safetensors"))
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    del manifest["weights_sha256"]
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"events\.paths should be paths of 6 finite numbers"):
        Forecaster.load(tmp_path / "m")


def test_alerts_can_be_raised_from_the_probability(tmp_path: Path) -> None:
    settings = {**TINY, "lookback": 24, "horizon": 6, "epochs": 2, "val_frac": 0.2, "test_frac": 0.3}
    model = Forecaster("y", time_col="time", **settings).fit(ar1_frame(n=3000), threshold="q0.9", alert_prob=0.3)
    assert model.events_["alert_prob"] == 0.3
    frame = ar1_frame(n=400, seed=9, start="2026-01-01")
    forecast = model.predict(frame)
    assert (forecast["alert"] == (forecast["prob"] > 0.3)).all()
    assert model.metrics_["alert_prob"] == 0.3 and model.metrics_["alert_level"] is None
    frame.to_csv(tmp_path / "recent.csv", index=False)
    model.save(tmp_path / "m")
    loaded = Forecaster.load(tmp_path / "m")
    fast, _ = predict_source(loaded.state_, str(tmp_path / "recent.csv"), None)
    assert fast == table_bytes(loaded.predict(read_table(tmp_path / "recent.csv")), "csv")
    # evaluate scores the model's own probability alerts, unless an alert level is given instead.
    recent = ar1_frame(n=600, seed=11, start="2026-01-01")
    own = model.evaluate(recent)
    assert own["alert_prob"] == 0.3 and "event_f1" in own
    by_level = model.evaluate(recent, alert_level=model.events_["threshold"])
    assert "alert_prob" not in by_level and by_level["alert_level"] == model.events_["threshold"]


def test_validation_probabilities_for_tuning_leave_out_the_paths_near_each_origin() -> None:
    from lstmcast.intervals import held_out_probabilities

    # Ten origins (rows 10..19), horizon 2; origin j's path is [j - 10, j - 10]. With a forecast of 0
    # and a spread of 1, a path puts a step above 4.5 when j - 10 >= 5. Paths of origins less than a
    # horizon away (|j - o| < 2) share a forecast row with origin o and are left out of its probability.
    origins = np.arange(10, 20)
    paths = np.repeat(np.arange(10.0)[:, None], 2, axis=1)
    probability = held_out_probabilities(paths, origins, np.zeros((10, 2)), np.ones((10, 1)), origins, 4.5, "above")
    assert probability[0].tolist() == [5 / 8, 5 / 8]  # origin 10: paths of 12..19, five of them above
    assert probability[5].tolist() == [3 / 7, 3 / 7]  # origin 15: paths of 10..13 and 17..19
    with pytest.raises(DataError, match="too few to leave out the paths near each one"):
        held_out_probabilities(paths[:3], origins[:3], np.zeros((3, 2)), np.ones((3, 1)), origins[:3], 4.5, "above")


@pytest.fixture(scope="module")
def tuned_prob_model() -> Forecaster:
    settings = {**TINY, "lookback": 24, "horizon": 6, "epochs": 2, "val_frac": 0.2, "test_frac": 0.3}
    return Forecaster("y", time_col="time", **settings).fit(
        ar1_frame(n=3000), threshold="q0.9", tolerance=1, tune_alert_prob=True
    )


def test_the_tuned_alert_probability_scores_the_validation_part_at_least_as_well_as_a_poor_fixed_one(
    tuned_prob_model: Forecaster,
) -> None:
    from lstmcast.events import event_metrics
    from lstmcast.intervals import kept_paths
    from lstmcast.report import held_out_event_chances
    from lstmcast.validate import validate_frame
    from lstmcast.window import chronological_split

    model = tuned_prob_model
    tuned, record = model.events_["alert_prob"], model.events_["alert_prob_tuning"]
    assert record["part"] == "val" and record["alert_prob"] == tuned and tuned != 0.9
    # The validation part's probabilities rebuilt outside the tuning, then scored as reports score.
    series = validate_frame(ar1_frame(n=3000), model.settings().data)
    origins = chronological_split(len(series), model.state_.window, "<test>").origins("val", 24, 6)
    target = series.values[:, 0].astype(np.float64)
    chances = held_out_event_chances(
        model.scoring(), target, origins, model.forecast_origins(series, origins), origins[kept_paths(len(origins))]
    )

    def validation_f1(p: float) -> float:
        scores = event_metrics(target, chances, origins, model.events_["threshold"], alert_level=p, tolerance=1)
        return -1.0 if scores["event_f1"] is None else scores["event_f1"]

    assert validation_f1(tuned) == pytest.approx(record["event_f1"])
    assert validation_f1(tuned) >= validation_f1(0.9) and validation_f1(tuned) > 0
    assert model.metrics_["alert_prob"] == tuned  # the test part is scored with the tuned probability


def test_tune_alert_prob_without_a_validation_event_warns_and_alerts_at_even_odds() -> None:
    frame = ar1_frame(n=1500)
    frame.loc[100, "y"] = 100.0  # the only value beyond 50, in the training part
    settings = {**TINY, "lookback": 24, "horizon": 6, "val_frac": 0.2}
    with pytest.warns(DataWarning, match="the alert probability is 0.5, untuned: the validation part has no above-"):
        model = Forecaster("y", time_col="time", **settings).fit(frame, threshold=50.0, tune_alert_prob=True)
    assert model.events_["alert_prob"] == 0.5 and model.events_["alert_prob_tuning"] is None


@pytest.mark.parametrize(
    ("option", "said"),
    [
        (
            "--tune-alert-prob",
            "the alert probability is 0.5, untuned: every row of the validation part is above the "
            "threshold -1000, so no event starts in it to tune it on",
        ),
        (
            "--tune-alert-level",
            "every row of the validation part is above the threshold -1000, so no event starts in "
            "it to tune the alert level on; alerts use the threshold -1000",
        ),
    ],
)
def test_a_threshold_below_every_value_says_every_row_is_beyond_it(tmp_path: Path, option: str, said: str) -> None:
    """Not "no above-threshold event": every row is one, the event under way from before the part."""
    from click.testing import CliRunner

    from lstmcast.cli import cli

    ar1_frame(n=600).to_csv(tmp_path / "series.csv", index=False)
    flags = ["--lookback", "24", "--horizon", "6", "--hidden", "4", "--epochs", "1", "--device", "cpu", "-q"]
    args = ["train", str(tmp_path / "series.csv"), "-o", str(tmp_path / "m"), *flags, "--threshold", "-1000", option]
    ran = CliRunner().invoke(cli, args)
    assert ran.exit_code == 0, ran.stderr
    assert f"Warning: {tmp_path / 'series.csv'}: {said}" in ran.stderr.replace("\n", " ")
    assert "has no above-threshold event" not in ran.stderr


def test_train_tune_alert_prob_from_the_cli_keeps_and_reports_the_probability(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lstmcast.cli import cli
    from lstmcast.console import info_table, make_console

    ar1_frame(n=2000).to_csv(tmp_path / "series.csv", index=False)
    flags = ["--lookback", "24", "--horizon", "6", "--hidden", "4", "--epochs", "2", "--device", "cpu"]
    ran = CliRunner().invoke(
        cli,
        ["train", str(tmp_path / "series.csv"), "-o", str(tmp_path / "m"), *flags, "--threshold", "q0.9"]
        + ["--tune-alert-prob", "--val-frac", "0.2"],
    )
    assert ran.exit_code == 0, ran.stderr
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    events = manifest["events"]
    assert events["alert_prob"] == events["alert_prob_tuning"]["alert_prob"]
    said = f"alerts when the probability of the event > {events['alert_prob']:g}, tuned on the validation part"
    assert said in ran.stderr
    console = make_console()
    with console.capture() as captured:
        info_table(console, manifest)
    assert said in captured.get()
    loaded = Forecaster.load(tmp_path / "m")
    forecast = loaded.predict(ar1_frame(n=400, seed=9, start="2026-01-01"))
    assert (forecast["alert"] == (forecast["prob"] > events["alert_prob"])).all()
    assert loaded.events.tune_alert_prob and loaded.events.alert_prob is None  # a refit tunes again


def test_alerts_from_probabilities_follow_each_origins_own_alert_probability() -> None:
    """Pooled backtest folds that tuned their own P: each origin alerts above its fold's, not the first's."""
    from lstmcast.evaluation import EventSettings, score_report

    rng = np.random.default_rng(3)
    target = rng.normal(size=400)
    origins = np.arange(20, 390, 2)
    forecast = rng.normal(size=(len(origins), 6))
    probability = rng.uniform(size=(len(origins), 6))
    events = EventSettings(1.0, "above", None, 0, False, 0.3)  # alerts above 30% unless told otherwise

    def scores(alert_probs: np.ndarray | None) -> dict:
        return score_report(
            target, origins, forecast, {}, 1.0, None, events, probability=probability, alert_probs=alert_probs
        )

    same = scores(np.full(len(origins), 0.3))
    alone = scores(None)
    for key in ("event_precision", "event_recall", "event_f1", "precision", "recall"):
        assert same[key] == alone[key]
    assert alone["alert_prob"] == 0.3 and same["alert_prob"] is None  # one number no longer describes the folds
    never = scores(np.full(len(origins), 1.0))  # no probability is above 1: no origin may alert
    assert never["event_precision"] is None and never["event_recall"] == 0
    assert alone["event_recall"] > 0
    half = scores(np.where(origins < 200, 0.3, 1.0))  # the later origins never alert
    late = scores(np.where(origins < 200, 1.0, 0.3))
    assert 0 < half["event_recall"] < alone["event_recall"] and 0 < late["event_recall"] < alone["event_recall"]


def test_backtest_tunes_the_alert_probability_in_every_fold_and_takes_a_fixed_one(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lstmcast.cli import cli

    ar1_frame(n=2400).to_csv(tmp_path / "series.csv", index=False)
    flags = ["--lookback", "24", "--horizon", "6", "--hidden", "4", "--epochs", "2", "--device", "cpu"]
    base = ["backtest", str(tmp_path / "series.csv"), *flags, "--folds", "2", "--stride", "3", "--threshold", "q0.9"]
    tuned = CliRunner().invoke(cli, [*base, "--tune-alert-prob", "--val-frac", "0.2", "--json"])
    assert tuned.exit_code == 0, tuned.stderr
    report = json.loads(tuned.stdout)
    folds = [record["events"] for record in report["folds"]]
    assert all(fold["alert_prob"] == fold["alert_prob_tuning"]["alert_prob"] for fold in folds)
    chosen = {fold["alert_prob"] for fold in folds}
    if len(chosen) == 1:
        assert report["alert_prob"] == chosen.pop()
    else:
        assert report["alert_prob"] is None and "alert probabilities tuned fold by fold" in tuned.stderr
    assert report["event_f1"] is None or 0 <= report["event_f1"] <= 1
    fixed = CliRunner().invoke(cli, [*base, "--alert-prob", "0.25", "--json", "--quiet"])
    assert fixed.exit_code == 0, fixed.stderr
    report = json.loads(fixed.stdout)
    assert [record["events"]["alert_prob"] for record in report["folds"]] == [0.25, 0.25]
    assert report["alert_prob"] == 0.25 and report["alert_level"] is None
    for bad, message in (
        (["--alert-prob", "0.25", "--tune-alert-prob"], "--alert-prob"),
        (["--alert-prob", "1.5"], "--alert-prob is a probability strictly between 0 and 1; got 1.5"),
    ):
        refused = CliRunner().invoke(cli, [*base, *bad])
        assert refused.exit_code == 2 and message in refused.stderr and refused.stdout == ""
    refused = CliRunner().invoke(cli, [*base[: base.index("--threshold")], "--alert-prob", "0.25"])
    assert refused.exit_code == 2 and "--threshold" in refused.stderr


def test_a_reliability_diagram_of_the_event_probabilities(threshold_model: Forecaster, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lstmcast.cli import cli

    recent = ar1_frame(n=1500, seed=13, start="2026-01-01")
    scores = threshold_model.reliability(recent)
    assert scores["n_origins"] == 1500 - 24 - 6 + 1 and scores["in_sample_origins"] == 0
    assert sum(row["n"] for row in scores["reliability"]) == scores["n_origins"] * 6
    assert scores["brier_skill"] > 0
    threshold_model.save(tmp_path / "m")
    recent.to_csv(tmp_path / "recent.csv", index=False)
    command = [
        "plot",
        str(tmp_path / "m"),
        str(tmp_path / "recent.csv"),
        "--reliability",
        "-o",
        str(tmp_path / "r.png"),
    ]
    drawn = CliRunner().invoke(cli, command)
    assert drawn.exit_code == 0, drawn.stderr
    assert (tmp_path / "r.png").read_bytes().startswith(b"\x89PNG")
    assert CliRunner().invoke(cli, [*command, "--origin", "5"]).exit_code == 2
    plain = Forecaster("y", time_col="time", **TINY).fit(sine_frame(n=300))
    with pytest.raises(ConfigError, match="no event probabilities: train it with --threshold"):
        plain.reliability(sine_frame(n=300))


def test_calibrate_refuses_a_level_whose_columns_the_data_has_and_overflowing_forecasts(tmp_path: Path) -> None:
    from lstmcast.calibration import calibrate

    settings = {**TINY, "lookback": 24, "horizon": 6}
    named = ar1_frame(n=1500).rename(columns={"y": "hi_90"})
    model = Forecaster("hi_90", time_col="time", levels="80", **settings).fit(named)
    recent = ar1_frame(n=300, seed=4, start="2026-01-01").rename(columns={"y": "hi_90"})
    with pytest.raises(DataError, match="the target is named 'hi_90'"):
        calibrate(model.state_, recent, (80.0, 90.0))
    residuals = np.ones((20, 6))
    residuals[3, 2] = np.nan  # a forecast that overflowed on values far outside the training range
    with pytest.raises(DataError, match="not finite numbers"):
        fit_intervals(residuals, np.ones((20, 1)), (80.0,), "last", "<test>")
    every_other = ar1_frame(n=600, seed=4, start="2026-01-01").iloc[::2].rename(columns={"y": "hi_90"})
    with pytest.raises(DataError, match="rows are '2h' apart .* calibrate needs rows at the model's step"):
        calibrate(model.state_, every_other)  # errors at another step say nothing of the model's


def test_a_probability_alert_model_says_so_and_plots_the_alerts_predict_writes(tmp_path: Path) -> None:
    from lstmcast.console import info_table, make_console

    settings = {**TINY, "lookback": 24, "horizon": 6, "epochs": 2}
    model = Forecaster("y", time_col="time", **settings).fit(ar1_frame(n=2000), threshold="q0.9", alert_prob=0.2)
    frame = ar1_frame(n=400, seed=9, start="2026-01-01")
    alerts = model.forecast_alerts(frame)
    assert alerts.tolist() == model.predict(frame)["alert"].tolist()
    model.save(tmp_path / "m")
    console = make_console()
    with console.capture() as captured:
        info_table(console, json.loads((tmp_path / "m" / "manifest.json").read_text()))
    assert "alerts when the probability of the event > 0.2" in captured.get()


def test_a_threshold_no_training_row_is_beyond_warns() -> None:
    frame = ar1_frame(n=1500)
    floor = float(frame["y"].min())
    settings = {**TINY, "lookback": 24, "horizon": 6}
    with pytest.warns(DataWarning, match="no training row is below the threshold"):
        Forecaster("y", time_col="time", **settings).fit(frame, threshold=floor - 1, event="below")
