"""Loading a model directory that is malformed, crafted or being replaced (issue 12, items 6, 8 and 10).

Every such problem is one ArtifactError (exit 4) naming the file and the field. The manifest's
structure is checked once, when it is read; its sizes are checked against the weights before
anything is allocated from them; and a save that swaps the directory during a read makes the read
start again, once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import TINY, sine_frame

from lstmcast import ArtifactError, Forecaster, artifact
from lstmcast.artifact import MANIFEST, SCHEMA_VERSION, read_manifest
from lstmcast.cli import cli
from lstmcast.console import ExitCode


@pytest.fixture
def model(tmp_path: Path, model_dir: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(model_dir, target)
    return target


def change_manifest(model: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    manifest = json.loads((model / MANIFEST).read_text())
    change(manifest)
    (model / MANIFEST).write_text(json.dumps(manifest))


def run(*args: str | Path):
    return CliRunner().invoke(cli, [str(arg) for arg in args])


# -- the manifest's structure --------------------------------------------------------------------

EVENTS = {"threshold": 9.0, "event": "above", "alert_level": 9.0, "tolerance": 0}
MALFORMED = {  # what is wrong: (the change, what the message says inside "corrupt (...)")
    "versions is a string": (lambda m: m.update(versions="0.4.0"), "versions should be an object; it is a string"),
    "baselines is a list": (lambda m: m.update(baselines=[]), "baselines should be an object; it is a list"),
    "a config section is a list": (
        lambda m: m["config"].update(model=[4]),
        "config.model should be an object; it is a list",
    ),
    "a setting is out of range": (
        lambda m: m["config"]["model"].update(hidden=0),
        "config.model: hidden must be at least 1; got 0",
    ),
    "columns.features is a string": (
        lambda m: m["columns"].update(features="x"),
        "columns.features should be a list; it is a string",
    ),
    "a column name is a number": (
        lambda m: m["columns"].update(target=7),
        "columns.target should be a string; it is a number",
    ),
    "a field is missing": (lambda m: m["columns"].pop("target"), "columns.target is missing"),
    # Columns that contradict each other: predict forecast the column 'columns' named, even a feature
    # (the scaler of the target applied to it), with exit 0; evaluate and plot said exit 2.
    "the target is also a feature": (
        lambda m: m.update(
            columns={**m["columns"], "features": ["y"]},
            scaler={**m["scaler"], "center": m["scaler"]["center"] * 2, "scale": m["scaler"]["scale"] * 2},
        ),
        "columns names 'y' twice, as the target, a feature or the time",
    ),
    "the time column is the target": (
        lambda m: m["columns"].update(time="y"),
        "columns names 'y' twice, as the target, a feature or the time",
    ),
    "the target differs from the one the settings name": (
        lambda m: m["config"]["data"].update(target="load"),
        "columns.target is 'y', but config.data.target is 'load'",
    ),
    "the features differ from the ones the settings name": (
        lambda m: m["config"]["data"].update(features=["temperature"]),
        "columns.features is [], but config.data.features is ['temperature']",
    ),
    # An id column of another type, or on a model of one series, once reached evaluate and plot: exit 1.
    "an id column is a list": (
        lambda m: m["config"]["data"].update(id_col=[]),
        "config.data.id_col should be a string or null; it is a list",
    ),
    "a model of one series names an id column": (
        lambda m: m["config"]["data"].update(id_col="store"),
        "config.data.id_col names the id column 'store', but there is no panel of series",
    ),
    "history is an object": (lambda m: m.update(history={}), "history should be a list; it is an object"),
    "an epoch is a string": (
        lambda m: m["history"][1].update(epoch="2"),
        "history[1].epoch should be a whole number; it is a string",
    ),
    "season is a string": (
        lambda m: m.update(season="24"),
        "season should be a whole number from 1 to 10000000; it is a string",
    ),
    "season is 0": (lambda m: m.update(season=0), "season should be a whole number from 1 to 10000000; it is 0"),
    "a scale is 0": (
        lambda m: m["scaler"].update(scale=[0]),
        "scaler.scale[0] should be a finite number other than 0; it is 0",
    ),
    "a stored score is text": (
        lambda m: m["metrics"]["baselines"]["naive"].update(mse="low"),
        "metrics.baselines.naive.mse should be a finite number or null; it is a string",
    ),
    "a validation MSE is NaN (Python's JSON reader would accept it)": (
        lambda m: m["training"].update(val_mse=float("nan")),
        "NaN is not a JSON number; lstmcast never writes it",
    ),
    "an event side is unknown": (
        lambda m: m.update(events={"threshold": 9.0, "event": "sideways", "alert_level": 9.0, "tolerance": 0}),
        'events.event should be "above" or "below"; it is \'sideways\'',
    ),
    # Out of range, these once reached the commands: exit 1 (an internal error) or exit 2 (as if the
    # user had typed --alert-prob 7), and predict wrote no alert at all.
    "an alert probability is 7": (
        lambda m: m.update(events={**EVENTS, "alert_prob": 7}),
        "events.alert_prob should be a number strictly between 0 and 1 or null; it is 7",
    ),
    "a threshold's quantile level is 2": (
        lambda m: m.update(events={**EVENTS, "quantile": 2}),
        "events.quantile should be a level strictly between 0 and 1 with at most 3 decimals or null; it is 2",
    ),
    "a base rate is negative": (
        lambda m: m.update(events={**EVENTS, "base_rate_any": -0.5}),
        "events.base_rate_any should be a number from 0 to 1 or null; it is -0.5",
    ),
}


@pytest.mark.parametrize(("change", "message"), MALFORMED.values(), ids=MALFORMED)
def test_a_malformed_manifest_is_corrupt_naming_the_field(model: Path, change, message: str) -> None:
    change_manifest(model, change)
    with pytest.raises(ArtifactError) as raised:
        read_manifest(model)
    assert str(raised.value) == f"{model / MANIFEST}: corrupt ({message})"


@pytest.mark.parametrize(
    "command",
    [["info"], ["info", "--json"], ["predict", "{csv}"], ["evaluate", "{csv}"], ["plot", "--history", "-o", "{png}"]],
    ids=" ".join,
)
@pytest.mark.parametrize(
    "malformed",
    ["versions is a string", "baselines is a list", "an alert probability is 7", "a threshold's quantile level is 2"],
)
def test_every_command_reports_a_malformed_manifest_in_one_line(
    model: Path, csv_file: Path, command: list[str], malformed: str
) -> None:
    change, message = MALFORMED[malformed]
    change_manifest(model, change)
    png = model.parent / "loss.png"
    args = [arg.format(csv=csv_file, png=png) for arg in command]
    result = run(args[0], model, *args[1:])
    assert result.exit_code == ExitCode.MODEL
    assert result.stdout == ""
    assert result.stderr == f"Error: {model / MANIFEST}: corrupt ({message})\n"
    assert not png.exists()


@pytest.fixture(scope="module")
def panel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import pandas as pd

    frame = pd.concat([sine_frame().assign(store=store) for store in ("a", "b")], ignore_index=True)
    path = tmp_path_factory.mktemp("panel") / "model"
    Forecaster(**TINY, id_col="store").fit(frame).save(path)
    return path


@pytest.mark.parametrize(
    ("id_col", "message"),
    [
        (None, "panel holds 2 series, but config.data.id_col names no id column"),
        ("time", "the id column 'time' is also the time column, the target or a feature"),
    ],
)
def test_a_model_of_many_series_must_name_an_id_column_it_does_not_read(
    tmp_path: Path, panel_dir: Path, id_col: str | None, message: str
) -> None:
    # An id column of null was an internal error (exit 1, AssertionError) in predict, evaluate and plot;
    # the time column as the id column was exit 2, as if the user had mistyped an option.
    model = tmp_path / "model"
    shutil.copytree(panel_dir, model)
    change_manifest(model, lambda m: m["config"]["data"].update(id_col=id_col))
    frame = sine_frame().assign(store="a")
    frame.to_csv(tmp_path / "d.csv", index=False)
    for command in (["predict", model, tmp_path / "d.csv"], ["evaluate", model, tmp_path / "d.csv"], ["info", model]):
        result = run(*command)
        assert result.exit_code == ExitCode.MODEL, result.stderr
        assert result.stdout == "" and result.stderr == f"Error: {model / MANIFEST}: corrupt ({message})\n"


def test_a_target_renamed_to_a_feature_in_the_manifest_is_no_silent_forecast_of_the_feature(tmp_path: Path) -> None:
    frame = sine_frame()
    frame.assign(x=frame["y"] * 0.1).to_csv(tmp_path / "d.csv", index=False)
    model = tmp_path / "model"
    Forecaster(**TINY, target="y", features=["x"]).fit(pd.read_csv(tmp_path / "d.csv")).save(model)
    change_manifest(model, lambda m: m["columns"].update(target="x"))
    for command in ("predict", "evaluate", "calibrate"):
        result = run(command, model, tmp_path / "d.csv")
        assert result.exit_code == ExitCode.MODEL, (command, result.stderr)
        message = "corrupt (columns names 'x' twice, as the target, a feature or the time)"
        assert result.stdout == "" and result.stderr == f"Error: {model / MANIFEST}: {message}\n"


def test_a_newer_model_with_malformed_versions_still_asks_for_an_upgrade(model: Path) -> None:
    change_manifest(model, lambda m: m.update(schema_version=SCHEMA_VERSION + 1, versions="9.0.0"))
    newer = rf"written by lstmcast a newer release \(model format {SCHEMA_VERSION + 1}\); .* upgrade"
    with pytest.raises(ArtifactError, match=newer):
        read_manifest(model)


def test_a_deeply_nested_manifest_is_corrupt(model: Path) -> None:
    (model / MANIFEST).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ArtifactError) as raised:
        read_manifest(model)
    assert str(raised.value) == f"{model / MANIFEST}: corrupt (nested too deeply to be a manifest)"


def test_a_huge_manifest_is_refused_without_being_read(model: Path) -> None:
    os.truncate(model / MANIFEST, 257 * 2**20)  # sparse: no disk space, but 257 MB to read
    tracemalloc.start()
    try:
        with pytest.raises(ArtifactError) as raised:
            read_manifest(model)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(raised.value) == f"{model / MANIFEST}: not an lstmcast model manifest (over 256 MB)"
    assert peak < 2**20


# -- sizes, checked before anything is allocated from them ---------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda m: m["scaler"].update(center=[0.0, 0.0, 0.0], scale=[1.0, 1.0, 1.0]),
            "scaler.center should be 1 value (one per column); it is 3 values",
        ),
        (
            lambda m: m.update(target_quantiles=[1.0, 2.0]),
            "target_quantiles should be 1001 values (one per level 0, 0.001, ..., 1); it is 2 values",
        ),
        (
            lambda m: m["baselines"]["ridge"]["weight"].pop(),
            "baselines.ridge.weight should be 12 x 4 (lookback x horizon); it is 11 x 4",
        ),
        (
            lambda m: m["baselines"]["ridge"]["weight"][3].append(0.5),
            "baselines.ridge.weight should be 12 x 4 (lookback x horizon); it is 12 x ragged",
        ),
        (
            lambda m: m["config"]["window"].update(lookback=5_000_000),
            "baselines.ridge.weight should be 5000000 x 4 (lookback x horizon); it is 12 x 4",
        ),
        (
            lambda m: m["baselines"]["ridge"].update(bias=[0.0]),
            "baselines.ridge.bias should be 4 values (one per step of the horizon); it is 1 value",
        ),
    ],
    ids=["scaler", "quantiles", "ridge rows", "ragged ridge", "lookback", "ridge bias"],
)
def test_stored_arrays_must_have_the_sizes_the_settings_give(model: Path, change, message: str) -> None:
    change_manifest(model, change)
    with pytest.raises(ArtifactError) as raised:
        read_manifest(model)
    assert str(raised.value) == f"{model / MANIFEST}: corrupt ({message})"


def test_the_quantile_count_is_the_one_events_stores() -> None:
    from lstmcast.events import QUANTILE_LEVELS

    assert artifact._QUANTILES == len(QUANTILE_LEVELS)


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        (
            lambda m: m["config"]["model"].update(hidden=8000),
            "the settings in manifest.json make core.segments.embed.weight 8000 x 2; weights.safetensors holds 4 x 2",
        ),
        (
            lambda m: (m["config"]["window"].update(lookback=5_000_000), m.update(baselines={})),
            "the settings in manifest.json make linear.weight 4 x 5000000; weights.safetensors holds 4 x 12",
        ),
        (
            lambda m: m["config"]["model"].update(attention=True),
            "weights.safetensors lacks core.attention.query.weight, which the settings in manifest.json need",
        ),
    ],
    ids=["hidden 8000", "lookback 5000000", "attention"],
)
def test_settings_that_do_not_fit_the_weights_fail_before_anything_is_allocated(
    model: Path, change, detail: str
) -> None:
    """hidden 8000 beside weights of hidden 4 once cost 1.3 GB before exit 4: loading now builds no
    network at all; the shapes the settings imply are computed and compared with the weights first."""
    change_manifest(model, change)
    tracemalloc.start()
    try:
        with pytest.raises(ArtifactError) as raised:
            Forecaster.load(model)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(raised.value) == f"{model}: incompatible or corrupt model ({detail})"
    assert peak < 8 * 2**20


def test_a_frequency_pandas_does_not_know_is_corrupt(model: Path) -> None:
    change_manifest(model, lambda m: m.update(frequency="fortnightly-ish"))
    with pytest.raises(ArtifactError) as raised:
        Forecaster.load(model)
    assert str(raised.value) == (
        f"{model}: incompatible or corrupt model (frequency 'fortnightly-ish' is not one pandas knows)"
    )


# -- a save racing the read ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def another() -> Forecaster:
    """A second model, told apart from the shared one by its seed."""
    return Forecaster(**{**TINY, "seed": 1}).fit(sine_frame())


def save_during_the_weights_read(monkeypatch: pytest.MonkeyPatch, model: Path, new: Forecaster, times: int) -> None:
    """Make a save of ``new`` over ``model`` land between the manifest and the weights, ``times`` times."""
    real_read_weights = artifact.read_weights
    saves = []

    def read_weights(path, manifest):
        if len(saves) < times:
            new.save(model)
            saves.append(path)
        return real_read_weights(path, manifest)

    monkeypatch.setattr(artifact, "read_weights", read_weights)


def test_a_save_between_the_manifest_and_the_weights_makes_the_read_start_again(
    model: Path, another: Forecaster, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Forecaster.load(model).seed == 0
    save_during_the_weights_read(monkeypatch, model, another, times=1)
    assert Forecaster.load(model).seed == 1  # the new model, manifest and weights alike


def test_a_model_saved_over_during_every_read_is_reported_as_changed(
    model: Path, csv_file: Path, another: Forecaster, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_during_the_weights_read(monkeypatch, model, another, times=2)
    result = run("predict", model, csv_file)
    assert result.exit_code == ExitCode.MODEL
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: {model}: the model changed while it was being read (another run saved over it); try again\n"
    )


def test_weights_changed_in_place_are_still_corrupt_not_a_race(model: Path) -> None:
    weights = model / artifact.WEIGHTS
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # one bit of the last weight flipped, in the same file in the same directory
    weights.write_bytes(data)
    with pytest.raises(ArtifactError, match=r"weights\.safetensors: corrupt or replaced \(checksum does not match"):
        artifact.read_model_dir(model)


def test_a_model_moved_aside_by_a_killed_save_is_put_back_when_read(model: Path) -> None:
    child = subprocess.Popen(["true"])
    child.wait()  # its id is now that of no process, like the id in a killed save's leftovers
    moved = model.parent / f".model.{child.pid}-abc123de.old"
    model.rename(moved)
    assert read_manifest(model)["format"] == "lstmcast-model"
    assert model.is_dir() and not moved.exists()
