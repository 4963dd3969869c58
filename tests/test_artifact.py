import hashlib
import json
import os
import shutil
import tracemalloc
from pathlib import Path

import pandas as pd
import pytest

from lstmcast import ArtifactError, Forecaster, OutputError
from lstmcast.artifact import MANIFEST, METRICS, SCHEMA_VERSION, WEIGHTS, _sha256, read_manifest


@pytest.fixture
def copy(tmp_path: Path, model_dir: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(model_dir, target)
    return target


def test_a_model_dir_holds_json_and_safetensors_only(model_dir: Path) -> None:
    assert sorted(p.name for p in model_dir.iterdir()) == [MANIFEST, METRICS, WEIGHTS]
    manifest = json.loads((model_dir / MANIFEST).read_text())
    assert manifest["format"] == "lstmcast-model" and manifest["schema_version"] == SCHEMA_VERSION
    assert manifest["columns"] == {"time": "time", "target": "y", "features": []}
    assert manifest["frequency"] == "h"
    assert {"lstmcast", "torch"} <= manifest["versions"].keys()
    assert manifest["history"][0].keys() == {"epoch", "train_loss", "val_loss"}
    assert json.loads((model_dir / METRICS).read_text()) == manifest["metrics"]
    # safetensors: an 8-byte header length, then a JSON header; no pickle opcodes.
    header_len = int.from_bytes((model_dir / WEIGHTS).read_bytes()[:8], "little")
    header = json.loads((model_dir / WEIGHTS).read_bytes()[8 : 8 + header_len])
    assert {"core.encoder.weight_ih_l0", "core.head.weight", "linear.weight"} <= header.keys()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: shutil.rmtree(d), r"no such model directory"),
        (lambda d: (d / MANIFEST).unlink(), r"not an lstmcast model directory \(no manifest\.json\)"),
        (lambda d: (d / MANIFEST).write_text("{not json"), r"manifest\.json: corrupt"),
        (lambda d: (d / MANIFEST).write_text('{"format": "other"}'), r"not an lstmcast model manifest"),
        (lambda d: (d / WEIGHTS).unlink(), r"has no weights\.safetensors"),
        (lambda d: (d / WEIGHTS).write_bytes((d / WEIGHTS).read_bytes()[:-10]), r"corrupt or replaced \(checksum"),
    ],
)
def test_a_damaged_model_dir_is_a_clear_error(copy: Path, damage, message: str) -> None:
    damage(copy)
    with pytest.raises(ArtifactError, match=message):
        Forecaster.load(copy)


def test_truncated_weights_without_a_checksum_are_still_caught(copy: Path) -> None:
    manifest = json.loads((copy / MANIFEST).read_text())
    del manifest["weights_sha256"]
    (copy / MANIFEST).write_text(json.dumps(manifest))
    (copy / WEIGHTS).write_bytes((copy / WEIGHTS).read_bytes()[:40])
    with pytest.raises(ArtifactError, match=r"weights\.safetensors: corrupt"):
        Forecaster.load(copy)


def test_a_model_from_a_newer_release_asks_for_an_upgrade(copy: Path) -> None:
    manifest = json.loads((copy / MANIFEST).read_text())
    manifest["schema_version"] = SCHEMA_VERSION + 1
    manifest["versions"]["lstmcast"] = "9.0.0"
    (copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"written by lstmcast 9\.0\.0 .* upgrade lstmcast"):
        read_manifest(copy)


def test_weights_that_do_not_fit_the_settings_are_incompatible(copy: Path) -> None:
    manifest = json.loads((copy / MANIFEST).read_text())
    manifest["config"]["model"]["hidden"] = 5
    (copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"incompatible or corrupt model"):
        Forecaster.load(copy)


def test_saving_replaces_an_earlier_model(fitted: Forecaster, copy: Path) -> None:
    (copy / MANIFEST).write_text((copy / MANIFEST).read_text().replace('"h"', '"D"'))
    fitted.save(copy)
    assert read_manifest(copy)["frequency"] == "h"
    assert [p.name for p in copy.parent.iterdir()] == ["model"]  # no temporary or backup dirs left


def test_saving_never_replaces_something_that_is_not_a_model(fitted: Forecaster, tmp_path: Path) -> None:
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    with pytest.raises(OutputError, match="exists and is not an lstmcast model directory; refusing to replace it"):
        fitted.save(precious)
    assert (precious / "thesis.txt").read_text() == "years of work"
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="exists and is not a directory"):
        fitted.save(tmp_path / "file")


def test_a_failed_save_leaves_the_previous_model_intact(
    fitted: Forecaster, copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = {p.name: p.read_bytes() for p in copy.iterdir()}

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("safetensors.numpy.save_file", crash)
    with pytest.raises(KeyboardInterrupt):
        fitted.save(copy)
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before
    assert [p.name for p in copy.parent.iterdir()] == ["model"]


@pytest.mark.parametrize("release", ["v0.1.0", "v0.2.0", "v0.3.0", "v0.4.0"])
def test_a_model_saved_by_an_earlier_release_still_loads_and_forecasts(release: str) -> None:
    saved = Path(__file__).parent / "data" / "artifacts" / release
    expected = pd.read_csv(saved / "expected_forecast.csv", parse_dates=["time"])
    frame = pd.read_csv(saved / "input.csv")
    forecast = Forecaster.load(saved / "model", device="cpu").predict(frame)
    pd.testing.assert_frame_equal(forecast, expected, check_dtype=False, rtol=1e-5)


def test_the_weights_are_hashed_through_a_fixed_buffer(tmp_path: Path) -> None:
    """A weights file is never read into memory whole just to check it."""
    weights = tmp_path / WEIGHTS
    data = os.urandom(2**20) * 24  # 24 MB
    weights.write_bytes(data)
    tracemalloc.start()
    try:
        digest = _sha256(weights)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert digest == hashlib.sha256(data).hexdigest()
    assert peak < 4 * 2**20
