"""The model directory: ``manifest.json`` (settings, columns, scaler, history, versions),
``weights.safetensors`` and ``metrics.json``.

Loading never unpickles: weights are safetensors, everything else JSON. A directory is written
beside its destination and renamed into place, so a failed or interrupted save leaves any
previous model as it was. Reading the manifest does not import torch (``lstmcast info`` is fast).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lstmcast.config import MAX_STEPS, DataConfig, ModelConfig, TrainConfig, WindowConfig
from lstmcast.errors import ArtifactError, ConfigError, OutputError
from lstmcast.outputs import Outputs, recover

if TYPE_CHECKING:
    import numpy as np

    from lstmcast.baselines import PanelRidge
    from lstmcast.state import FittedState, PanelEvents, PanelState

FORMAT = "lstmcast-model"
SCHEMA_VERSION = 9
# 1 (0.1.0): no window normalisation, linear path or ridge baseline.
# 2 (0.2.0): model config gains window_norm and linear; manifest gains baselines.ridge.
# 3: model config gains input_dropout, bidirectional, attention, conv_kernel (and models gru,
#    peephole); train config gains weight_decay and l1; training gains val_mse, start_val_mse and
#    tuning. Their defaults are the format-2 behaviour, so older manifests need no rewriting.
# 4 (0.4.0): window config gains season; manifest gains mase_scale, target_quantiles (the training
#    part's quantiles at steps of 0.001, for --threshold qP) and events (threshold settings and a
#    tuned alert level). Older models have none of them: their MASE is null and qP thresholds are
#    refused with a message.
# 5: model config gains segment (0, reading step by step, for older models) and ensemble (1); train config gains
#    loss ("mse" for older models); training gains threads. The defaults changed (segment auto, loss
#    mae, lr 1e-3, batch 256, 1 layer, ensemble 3); every older manifest records its layers, lr and
#    batch size, and is given the segment, loss and ensemble it was trained with.
# 6: data config gains id_col (null: one series); a model of many series has a "panel" object (its
#    number of series) and keeps their ids and statistics in weights.safetensors.
# 7: train config gains max_windows_per_series (0); manifest gains intervals (with --level); a
#    threshold model's events gain base_rate, base_rate_any and alert_prob, and weights.safetensors
#    its error paths (events.paths); a model of many series keeps each series' ridge, MASE
#    denominator and last seen time there. All optional, so format-6 models need no rewriting; the
#    number tells readers of format 6 (with its strict settings) to upgrade instead of calling a
#    newer model corrupt. Later additions that a format-7 reader ignores without harm stay format 7:
#    events.alert_prob_tuning (the alerts follow events.alert_prob either way) and calibration (the
#    record of lstmcast calibrate, whose bands and error paths are where a format-7 reader reads them).
# 8: model config gains quantiles (() for older models: no quantile head); with them weights.safetensors
#    holds each network's quantile_head and the manifest "quantiles" (levels and conformal shifts), and
#    training gains quantile_head. Format-7 models need no rewriting. Later additions that a format-8 reader
#    ignores without harm stay format 8: panel.time_zone (the zone of a model of many series' training times,
#    null for none; a reader without it compares them with new times as they are, as before it was kept),
#    and baselines.linear_start (the ridge the linear path started from, scored as the report's "linear start"
#    row; a reader without it forecasts the same and reports without that row).
# 9: a model of many series may keep threshold events: each series' threshold and alert level in
#    weights.safetensors (panel.event.threshold, panel.event.alert_level) with its error paths
#    (events.paths), and events.threshold and events.alert_level are null where the series' differ (a
#    quantile threshold, a tuned alert level); events gains alert_offset (the tuned alert level's
#    distance from each threshold, in each series' scaled units). Format-8 models need no rewriting.
INTERVALS_SINCE = 7  # the first format with intervals: calibrate rewrites models of it and later
MANIFEST = "manifest.json"
PANEL_CENTER, PANEL_SCALE, PANEL_IDS = "panel.center", "panel.scale", "panel.ids"
PANEL_RIDGE_WEIGHT, PANEL_RIDGE_BIAS, PANEL_RIDGE_ALPHA = "panel.ridge.weight", "panel.ridge.bias", "panel.ridge.alpha"
PANEL_MASE_SCALE, PANEL_SEEN_UNTIL = "panel.mase_scale", "panel.seen_until"
PANEL_TRAIN_UNTIL = "panel.train_until"  # each series' last training time (format 8): calibrate's warning and --since
# A threshold model of many series (format 9): each series' threshold and alert level, in its units.
PANEL_THRESHOLD, PANEL_ALERT_LEVEL = "panel.event.threshold", "panel.event.alert_level"
EVENT_PATHS = "events.paths"  # a threshold model's validation error paths [P, H]: its event probabilities
WEIGHTS = "weights.safetensors"
METRICS = "metrics.json"
MODEL_FILES = frozenset({MANIFEST, WEIGHTS, METRICS})  # what a model directory may hold
_MANIFEST_LIMIT = 256 * 2**20  # a manifest is a few MB even with a long history; larger is not ours
_HASH_BUFFER = 2**20


def _sha256(path: Path) -> str:
    """The file's SHA-256, read through one fixed buffer: a weights file can be larger than memory allows
    to read at once. (``hashlib.file_digest`` does the same from Python 3.11.)"""
    digest = hashlib.sha256()
    buffer = bytearray(_HASH_BUFFER)
    view = memoryview(buffer)
    with open(path, "rb") as file:
        while size := file.readinto(buffer):
            digest.update(view[:size])
    return digest.hexdigest()


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")


@dataclass(frozen=True)
class ModelFiles:
    """What a model directory holds: the manifest (without format fields and checksum, which are added
    on writing), the weights and the held-out metrics."""

    manifest: dict[str, Any]
    weights: dict[str, np.ndarray]
    metrics: dict[str, Any]
    metadata: dict[str, str] | None = None  # the weights file's header text: a panel's ids

    @classmethod
    def of(cls, state: FittedState) -> ModelFiles:
        """A model's files. A panel's per-series statistics go into the weights file beside the
        network (``panel.center``, ``panel.scale``, ``[S, F]``; each series' ridge baseline
        ``panel.ridge.*`` and MASE denominator ``panel.mase_scale``) and its ids into that file's
        header, so a million series do not bloat the manifest."""
        if state.panel is None:
            extra = {EVENT_PATHS: state.paths} if state.paths is not None else {}
            return cls(state.to_manifest(), {**state.weights, **extra}, state.metrics)
        panel = state.panel
        arrays = {PANEL_CENTER: panel.scaler.center, PANEL_SCALE: panel.scaler.scale}
        if panel.ridge is not None:
            arrays |= {
                PANEL_RIDGE_WEIGHT: panel.ridge.weight,
                PANEL_RIDGE_BIAS: panel.ridge.bias,
                PANEL_RIDGE_ALPHA: panel.ridge.alpha,
            }
        if panel.mase_scale is not None:
            arrays[PANEL_MASE_SCALE] = panel.mase_scale
        if panel.seen_until is not None:
            arrays[PANEL_SEEN_UNTIL] = panel.seen_until
        if panel.train_until is not None:
            arrays[PANEL_TRAIN_UNTIL] = panel.train_until
        if panel.events is not None:
            arrays |= {PANEL_THRESHOLD: panel.events.thresholds, PANEL_ALERT_LEVEL: panel.events.alert_levels}
        if state.paths is not None:
            arrays[EVENT_PATHS] = state.paths
        metadata = {PANEL_IDS: json.dumps(list(state.panel.ids))}
        return cls(state.to_manifest(), {**state.weights, **arrays}, state.metrics, metadata)


def write_model_files(directory: Path, files: ModelFiles, name: str | None = None) -> None:
    """Write the files of a model into ``directory`` (a staging directory, see ``lstmcast.outputs``);
    ``name`` is the model directory as the user named it, for messages."""
    import numpy as np
    from safetensors import SafetensorError
    from safetensors.numpy import save_file

    weights = directory / WEIGHTS
    try:
        save_file({k: np.ascontiguousarray(v) for k, v in files.weights.items()}, str(weights), files.metadata)
        checksum = _sha256(weights)
        manifest = {"format": FORMAT, "schema_version": SCHEMA_VERSION, **files.manifest, "weights_sha256": checksum}
        _write_json(directory / MANIFEST, manifest)
        _write_json(directory / METRICS, files.metrics)
    except (OSError, SafetensorError) as exc:
        raise OutputError(
            f"{name or directory}: the model could not be written ({_write_failure(exc)}); it is unchanged"
        ) from None


def write_recalibrated(directory: Path, model_dir: str | Path, state: FittedState) -> None:
    """Write into ``directory`` (a staging directory) the model at ``model_dir`` with what ``lstmcast
    calibrate`` refreshed taken from ``state``: the manifest's ``intervals``, ``quantiles`` and
    ``calibration``, and a threshold model's error paths (``events.paths``). Every other manifest
    field is kept as it is, and
    ``metrics.json`` is copied byte for byte; so is ``weights.safetensors`` when the model has no
    paths, and otherwise it is written again with every other tensor, and its header, as they were
    (the checksum in the manifest follows). Only a model of a format that has intervals
    (``INTERVALS_SINCE`` and later) is rewritten, and it keeps its format number, so the manifest says
    what it holds."""
    from safetensors import SafetensorError

    source = Path(model_dir)
    try:
        manifest = json.loads((source / MANIFEST).read_text())
        version = manifest.get("schema_version")
        if not isinstance(version, int) or not INTERVALS_SINCE <= version <= SCHEMA_VERSION:
            raise ArtifactError(
                f"{model_dir}: calibrate rewrites models of format {INTERVALS_SINCE} to {SCHEMA_VERSION}; this one "
                f"is format {version}: train it again with this version"
            )
        if state.intervals is not None:
            manifest["intervals"] = state.intervals.to_dict()
        if state.quantiles is not None:
            manifest["quantiles"] = state.quantiles.to_dict()
        manifest["calibration"] = state.calibration
        if state.paths is not None:
            manifest["weights_sha256"] = _write_paths(source, directory, manifest, state.paths)
        else:
            shutil.copyfile(source / WEIGHTS, directory / WEIGHTS)
        shutil.copyfile(source / METRICS, directory / METRICS)
        _write_json(directory / MANIFEST, manifest)
    except (OSError, SafetensorError) as exc:
        raise OutputError(
            f"{model_dir}: the model could not be written ({_write_failure(exc)}); it is unchanged"
        ) from None


def _write_paths(source: Path, directory: Path, manifest: dict[str, Any], paths: np.ndarray) -> str:
    """``source``'s weights file (checked against ``manifest``'s checksum first, so a replaced file is
    not blessed with a new one) written into ``directory`` with ``paths`` as its error paths; the new
    file's checksum."""
    from safetensors import safe_open
    from safetensors.numpy import save_file

    tensors = read_weights(source, manifest)
    with safe_open(str(source / WEIGHTS), framework="np") as stream:
        metadata = stream.metadata()
    tensors[EVENT_PATHS] = paths
    save_file(tensors, str(directory / WEIGHTS), metadata)
    return _sha256(directory / WEIGHTS)


def _write_failure(exc: Exception) -> str:
    """The reason a write failed, in the OS's words: safetensors wraps them ('I/O error: No space left
    on device (os error 28)')."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = " ".join(str(exc).split())
    match = re.search(r"I/O error: (.+?) \(os error \d+\)", text)
    return match.group(1) if match else text


def save_model_dir(path: str | Path, files: ModelFiles) -> None:
    """Write a model directory atomically, replacing an earlier lstmcast model at ``path``."""
    with Outputs() as outputs:
        output = outputs.directory(path, check=check_replaceable, is_ours=is_model_dir)
        assert output.staging is not None
        write_model_files(output.staging, files, name=str(path))
        outputs.commit()


def check_replaceable(dest: Path, given: str | None = None) -> None:
    """Refuse to replace ``dest`` unless it is absent, an empty folder, or provably an lstmcast model
    directory: its manifest parses and says so, and it holds nothing but a model's files."""
    name = given or str(dest)
    if not dest.exists():
        return
    if not dest.is_dir():
        raise OutputError(f"{name}: exists and is not a directory; refusing to replace it")
    try:
        entries = sorted(os.listdir(dest))
    except OSError as exc:
        raise OutputError(f"{name}: cannot be read ({exc.strerror}); refusing to replace it") from None
    if not entries:
        return
    if not _is_model_manifest(dest / MANIFEST):
        raise OutputError(f"{name}: exists and is not an lstmcast model directory; refusing to replace it")
    foreign = [entry for entry in entries if entry not in MODEL_FILES]
    if foreign:
        listed = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise OutputError(
            f"{name}: holds files that are not part of an lstmcast model ({listed}); refusing to replace it"
        )


def is_model_dir(path: Path) -> bool:
    """Whether ``path`` is a directory whose manifest says it is an lstmcast model."""
    return _is_model_manifest(Path(path) / MANIFEST)


def _is_model_manifest(file: Path) -> bool:
    try:
        if not file.is_file() or file.stat().st_size > _MANIFEST_LIMIT:
            return False
        manifest = json.loads(file.read_text())
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return False
    return isinstance(manifest, dict) and manifest.get("format") == FORMAT


# -- reading ------------------------------------------------------------------------------------


def read_state(path: str | Path, *, check_frequency: bool = True) -> FittedState:
    """The fitted state a model directory holds, checked whole before anything runs on it: the
    manifest's structure and settings, the weights' checksum, and that the settings give exactly the
    weights' names and shapes (so a crafted manifest cannot make a forecast read past an array).
    Never unpickles anything, and imports no torch. ``check_frequency=False`` leaves the frequency
    unchecked, which needs pandas, for a caller that only uses frequencies it knows itself."""
    from lstmcast.state import FittedState

    manifest, weights = read_model_dir(path)
    try:
        panel = _panel(manifest, weights, path)
        if (
            panel is None
            and manifest.get("events")
            and None
            in (
                manifest["events"]["threshold"],
                manifest["events"]["alert_level"],
            )
        ):
            raise ValueError("events.threshold and events.alert_level must be numbers for a model of one series")
        if panel is not None and manifest.get("events") and manifest["events"]["threshold"] is None:
            if manifest["events"].get("quantile") is None:
                raise ValueError("events.threshold is null (each series its own), so events.quantile must be a number")
        paths = _event_paths(weights, int(manifest["config"]["window"]["horizon"]))
        state = FittedState.from_manifest(manifest, weights, panel, paths)
        if check_frequency:
            _check_frequency(state.frequency)
        mismatch = weights_mismatch(state.expected_shapes(), weights)
    except (ConfigError, KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ArtifactError(f"{path}: incompatible or corrupt model ({' '.join(str(exc).split())})") from None
    if mismatch:
        raise ArtifactError(f"{path}: incompatible or corrupt model ({mismatch})")
    return state


def _panel(manifest: dict[str, Any], weights: dict[str, np.ndarray], path: str | Path) -> PanelState | None:
    """A panel model's ids and per-series statistics, taken out of ``weights`` and checked against the
    manifest; None for a model of one series."""
    import numpy as np
    from safetensors import safe_open

    from lstmcast.scale import PanelScaler
    from lstmcast.state import PanelState

    if "panel" not in manifest:
        return None
    count, columns = int(manifest["panel"]["series"]), 1 + len(manifest["columns"]["features"])
    center, scale = weights.pop(PANEL_CENTER, None), weights.pop(PANEL_SCALE, None)
    with safe_open(str(Path(path) / WEIGHTS), framework="np") as stream:
        ids = json.loads((stream.metadata() or {}).get(PANEL_IDS, "null"))
    if (
        not isinstance(ids, list)
        or len(ids) != count
        or len(set(ids)) != count
        or not all(isinstance(i, str) for i in ids)
    ):
        raise ValueError(f"{WEIGHTS} does not hold the ids of the {count} series {MANIFEST} names")
    for name, array in ((PANEL_CENTER, center), (PANEL_SCALE, scale)):
        if array is None or array.shape != (count, columns) or not np.all(np.isfinite(array)):
            raise ValueError(f"{WEIGHTS}: {name} should be {count} x {columns} finite numbers")
    if np.any(scale == 0):
        raise ValueError(f"{WEIGHTS}: {PANEL_SCALE} holds a zero")
    scaler = PanelScaler(str(manifest["scaler"]["kind"]), center, scale)
    window = manifest["config"]["window"]
    return PanelState(
        tuple(ids),
        scaler,
        _panel_ridge(weights, count, int(window["lookback"]), int(window["horizon"])),
        _optional_array(weights, PANEL_MASE_SCALE, (count,)),
        _optional_array(weights, PANEL_SEEN_UNTIL, (count,), "int64"),
        _optional_array(weights, PANEL_TRAIN_UNTIL, (count,), "int64"),
        manifest["panel"].get("time_zone"),
        "time_zone" in manifest["panel"],
        _panel_events(weights, count, manifest.get("events")),
    )


def _panel_events(weights: dict[str, np.ndarray], count: int, record: dict[str, Any] | None) -> PanelEvents | None:
    """A threshold model of many series' per-series thresholds and alert levels, taken out of
    ``weights``: both or neither, finite, and there exactly when the manifest has events."""
    import numpy as np

    from lstmcast.state import PanelEvents

    thresholds = _optional_array(weights, PANEL_THRESHOLD, (count,))
    alert_levels = _optional_array(weights, PANEL_ALERT_LEVEL, (count,))
    if thresholds is None and alert_levels is None and not record:
        return None
    if thresholds is None or alert_levels is None or not record:
        raise ValueError(
            f"{MANIFEST}'s events and {WEIGHTS}' {PANEL_THRESHOLD} and {PANEL_ALERT_LEVEL} come together; "
            "some are missing"
        )
    if not (np.all(np.isfinite(thresholds)) and np.all(np.isfinite(alert_levels))):
        raise ValueError(f"{WEIGHTS}: {PANEL_THRESHOLD} and {PANEL_ALERT_LEVEL} must be finite")
    return PanelEvents(thresholds.astype(np.float64), alert_levels.astype(np.float64))


def _event_paths(weights: dict[str, np.ndarray], horizon: int) -> np.ndarray | None:
    """A threshold model's error paths, taken out of ``weights``: ``[P, horizon]`` finite numbers."""
    import numpy as np

    paths = weights.pop(EVENT_PATHS, None)
    if paths is not None and (
        paths.ndim != 2 or paths.shape[1] != horizon or not len(paths) or not np.all(np.isfinite(paths))
    ):
        raise ValueError(f"{WEIGHTS}: {EVENT_PATHS} should be paths of {horizon} finite numbers; it is {paths.shape}")
    return paths


def _panel_ridge(weights: dict[str, np.ndarray], count: int, lookback: int, horizon: int) -> PanelRidge | None:
    """Each series' ridge baseline, all three arrays or none (None: the report falls back to the ridge
    fitted over all series)."""
    from lstmcast.baselines import PanelRidge

    shapes = {
        PANEL_RIDGE_WEIGHT: (count, lookback, horizon),
        PANEL_RIDGE_BIAS: (count, horizon),
        PANEL_RIDGE_ALPHA: (count,),
    }
    arrays = [_optional_array(weights, name, shape) for name, shape in shapes.items()]
    if all(array is None for array in arrays):
        return None
    if any(array is None for array in arrays):
        raise ValueError(f"{WEIGHTS}: {', '.join(shapes)} come together; some are missing")
    import numpy as np

    weight, bias, alpha = arrays
    if not (np.all(np.isfinite(weight)) and np.all(np.isfinite(bias))):
        raise ValueError(f"{WEIGHTS}: {PANEL_RIDGE_WEIGHT} and {PANEL_RIDGE_BIAS} must be finite")
    return PanelRidge(weight, bias, alpha.astype(np.float64))


def _optional_array(
    weights: dict[str, np.ndarray], name: str, shape: tuple[int, ...], dtype: str | None = None
) -> np.ndarray | None:
    """``weights[name]`` taken out of ``weights``, checked to be ``shape`` (and ``dtype``: the times
    are int64 nanoseconds, which another type would misread); None when absent."""
    array = weights.pop(name, None)
    if array is not None and array.shape != shape:
        raise ValueError(f"{WEIGHTS}: {name} should be {' x '.join(map(str, shape))} numbers; it is {array.shape}")
    if array is not None and dtype is not None and array.dtype != dtype:
        raise ValueError(f"{WEIGHTS}: {name} should be {dtype}; it is {array.dtype}")
    return array


def _check_frequency(frequency: str | None) -> None:
    import pandas as pd

    try:
        if frequency is not None:
            pd.tseries.frequencies.to_offset(frequency)
    except ValueError:
        raise ValueError(f"frequency {frequency!r} is not one pandas knows") from None


def read_model_dir(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The manifest and the weights of a model directory, read as one consistent pair.

    A save swaps a whole new directory into place (see ``lstmcast.outputs``), possibly while this
    read is between the manifest and the weights. So when a read fails, or succeeds, while the
    directory at ``path`` is no longer the one it began with, the whole read is tried once more; a
    second such change is reported as a change, not as damage.
    """
    root = Path(path)
    for _ in range(2):
        before = _identity(root)
        try:
            manifest = read_manifest(root)
            weights = read_weights(root, manifest)
        except ArtifactError:
            if _identity(root) == before:
                raise  # the same directory throughout: the damage is real
            continue
        if _identity(root) == before:
            return manifest, weights
    raise ArtifactError(f"{root}: the model changed while it was being read (another run saved over it); try again")


def _identity(root: Path) -> tuple[int, int] | None:
    """Which directory ``root`` names now (a save swaps in a new one), or None when there is none."""
    try:
        status = os.stat(root)
    except (OSError, ValueError):  # ValueError: a path with a NUL byte
        return None
    return status.st_dev, status.st_ino


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a model directory, checked for format, schema version and structure: every
    field lstmcast reads has the JSON type it expects, the settings are in range, and the arrays
    stored in it have the sizes the settings give them."""
    root = Path(path)
    recover(root, is_model_dir)  # a save killed between its two renames left the model moved aside: put it back
    if not root.exists():
        raise ArtifactError(f"{root}: no such model directory")
    if not root.is_dir():
        raise ArtifactError(f"{root}: not a model directory (it is a file)")
    file = root / MANIFEST
    if not file.is_file():
        raise ArtifactError(f"{root}: not an lstmcast model directory (no {MANIFEST})")
    manifest = _read_json(file)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(f"{file}: not an lstmcast model manifest")
    version = manifest.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ArtifactError(f"{file}: corrupt (schema_version is {version!r})")
    if version > SCHEMA_VERSION:
        versions = manifest.get("versions")
        made_by = versions.get("lstmcast") if isinstance(versions, dict) else None
        raise ArtifactError(
            f"{root}: written by lstmcast {made_by if isinstance(made_by, str) else 'a newer release'} "
            f"(model format {version}); this lstmcast reads format {SCHEMA_VERSION} and older: upgrade lstmcast "
            "to use it"
        )
    _check_structure(manifest, file)
    manifest = _upgrade(manifest)
    window = _check_settings(manifest["config"], file)
    _check_sizes(manifest, window, file)
    _check_columns(manifest, file)
    _check_start(manifest, file)
    return manifest


def _check_start(manifest: dict[str, Any], file: Path) -> None:
    """``baselines.linear_start`` against the model settings, from the manifest alone (``info`` reads no
    weights): only a model with a linear path has one, in its window norm's coordinates. Loading the
    state checks the same (``lstmcast.state``), for states built from a manifest in Python."""
    start = manifest.get("baselines", {}).get("linear_start")
    if start is None:
        return
    model = manifest["config"]["model"]
    if not model.get("linear", True):
        raise ArtifactError(f"{file}: corrupt (baselines.linear_start is there, but the model has no linear path)")
    if start.get("window_norm", "none") != model.get("window_norm", "none"):
        raise ArtifactError(
            f"{file}: corrupt (baselines.linear_start is in the coordinates of window norm "
            f"{start.get('window_norm', 'none')!r}; the model's is {model.get('window_norm', 'none')!r})"
        )


def _read_json(file: Path) -> Any:
    """The parsed file, refusing one too large to be a manifest before reading it."""
    try:
        with open(file, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > _MANIFEST_LIMIT:
                raise ArtifactError(f"{file}: not an lstmcast model manifest (over {_MANIFEST_LIMIT // 2**20} MB)")
            # read(n) allocates n bytes before reading: ask for the size (plus what the file may have grown
            # since, up to the limit), not for the limit itself, which cost 256 MB on every load.
            data = stream.read(size + 1)
            if len(data) > size:
                data += stream.read(_MANIFEST_LIMIT + 1 - len(data))
    except OSError as exc:
        raise ArtifactError(f"{file}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > _MANIFEST_LIMIT:
        raise ArtifactError(f"{file}: not an lstmcast model manifest (over {_MANIFEST_LIMIT // 2**20} MB)")
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except _NotJsonNumber as exc:
        raise ArtifactError(f"{file}: corrupt ({exc} is not a JSON number; lstmcast never writes it)") from None
    except ValueError as exc:  # UnicodeDecodeError included
        raise ArtifactError(f"{file}: corrupt ({exc})") from None
    except RecursionError:
        raise ArtifactError(f"{file}: corrupt (nested too deeply to be a manifest)") from None


class _NotJsonNumber(Exception):
    pass


def _refuse_constant(name: str) -> float:
    """Python's JSON reader accepts NaN and Infinity, which JSON has not and lstmcast never writes."""
    raise _NotJsonNumber(name)


@dataclass(frozen=True)
class _Kind:
    """A JSON type a manifest field must have, as a message names it, and a rule its value must
    also follow (a range, a choice)."""

    name: str
    types: tuple[type, ...]
    rule: Callable[[Any], bool] = lambda value: True
    null: bool = False

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.null
        if isinstance(value, bool) and bool not in self.types:
            return False  # JSON true is not the number 1
        return isinstance(value, self.types) and self.rule(value)

    def or_null(self) -> _Kind:
        return replace(self, name=f"{self.name} or null", null=True)

    def describe(self, value: Any) -> str:
        """What ``value`` is, as the message puts it: its JSON type, or the value itself when only the
        rule failed."""
        if value is not None and isinstance(value, self.types) and not isinstance(value, bool):
            shown = repr(value)
            return shown if len(shown) <= 40 else shown[:37] + "..."
        if value is None or isinstance(value, bool):
            return json.dumps(value)
        return {dict: "an object", list: "a list", str: "a string"}.get(type(value), "a number")


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


_OBJECT = _Kind("an object", (dict,))
_LIST = _Kind("a list", (list,))
_STRING = _Kind("a string", (str,))
_BOOL = _Kind("true or false", (bool,))
_NUMBER = _Kind("a finite number", (int, float), _finite)
_NONZERO = _Kind("a finite number other than 0", (int, float), lambda value: _finite(value) and value != 0)
_WHOLE = _Kind("a whole number", (int,), lambda value: 0 <= value < 2**63)  # 64 bits, as numpy and torch take
_STEPS = _Kind(f"a whole number from 1 to {MAX_STEPS}", (int,), lambda value: 1 <= value <= MAX_STEPS)
_PROBABILITY = _Kind("a number strictly between 0 and 1", (int, float), lambda value: _finite(value) and 0 < value < 1)
_SHARE = _Kind("a number from 0 to 1", (int, float), lambda value: _finite(value) and 0 <= value <= 1)
# A threshold's quantile level: only the stored grid of levels (steps of 0.001) can be resolved later.
_LEVEL = _Kind(
    "a level strictly between 0 and 1 with at most 3 decimals",
    (int, float),
    lambda value: _finite(value) and 0 < value < 1 and abs(value * 1000 - round(value * 1000)) <= 1e-9,
)
_EVENT = _Kind('"above" or "below"', (str,), lambda value: value in ("above", "below"))
_TIME = _Kind("a time or a row number", (str, int))
_SCORES = (
    *("mse", "rmse", "mae", "mape", "smape", "mase", "r2", "mse_scaled", "mae_scaled", "skill"),
    *("precision", "recall", "f1", "event_precision", "event_recall", "event_f1", "mean_lead_time"),
    *("threshold", "alert_level"),
)

# Every manifest field lstmcast reads, with its kind: parents before children; "*" is every entry of a
# list or object; "?" marks a field that may be missing (older formats lack it). A child of a missing
# or null parent is not checked. The settings under config are checked by lstmcast.config itself.
_FIELDS: tuple[tuple[str, _Kind], ...] = (
    ("created?", _STRING),
    ("versions", _OBJECT),
    ("versions.lstmcast", _STRING),
    ("versions.torch", _STRING),
    ("config", _OBJECT),
    *((f"config.{section}", _OBJECT) for section in ("data", "window", "model", "train")),
    ("config.data.target?", _STRING.or_null()),
    ("config.data.time_col?", _STRING.or_null()),
    ("config.data.features?", _LIST),
    ("config.data.features.*", _STRING),
    ("config.data.id_col?", _STRING.or_null()),
    ("columns", _OBJECT),
    ("columns.time", _STRING.or_null()),
    ("columns.target", _STRING),
    ("columns.features", _LIST),
    ("columns.features.*", _STRING),
    ("frequency", _STRING.or_null()),
    ("season", _STEPS),
    ("mase_scale?", _NUMBER.or_null()),
    ("target_quantiles?", _LIST.or_null()),
    ("target_quantiles.*", _NUMBER),
    ("events?", _OBJECT.or_null()),
    ("intervals?", _OBJECT.or_null()),
    ("intervals.levels", _LIST),
    ("intervals.levels.*", _NUMBER),
    ("intervals.lower", _LIST),
    ("intervals.lower.*", _LIST),
    ("intervals.lower.*.*", _NUMBER),
    ("intervals.upper", _LIST),
    ("intervals.upper.*", _LIST),
    ("intervals.upper.*.*", _NUMBER),
    ("intervals.window_norm", _STRING),
    ("intervals.calibration", _WHOLE),
    ("quantiles?", _OBJECT.or_null()),
    ("quantiles.levels", _LIST),
    ("quantiles.levels.*", _NUMBER),
    ("quantiles.shifts", _LIST),
    ("quantiles.shifts.*", _LIST),
    ("quantiles.shifts.*.*", _NUMBER),
    ("quantiles.window_norm", _STRING),
    ("quantiles.calibration", _WHOLE),
    ("events.threshold", _NUMBER.or_null()),
    ("events.quantile?", _LEVEL.or_null()),
    ("events.event", _EVENT),
    ("events.alert_level", _NUMBER.or_null()),
    ("events.alert_offset?", _NUMBER.or_null()),
    ("events.tolerance", _WHOLE),
    ("events.alert_level_tuning?", _OBJECT.or_null()),
    ("events.base_rate?", _SHARE.or_null()),
    ("events.alert_prob?", _PROBABILITY.or_null()),
    ("events.base_rate_any?", _SHARE.or_null()),
    ("events.alert_level_tuning.event_f1?", _NUMBER.or_null()),
    ("events.alert_level_tuning.threshold_f1?", _NUMBER.or_null()),
    ("events.alert_prob_tuning?", _OBJECT.or_null()),
    ("calibration?", _OBJECT.or_null()),
    ("calibration.at?", _STRING),
    ("calibration.source?", _STRING),
    ("calibration.origins", _WHOLE),
    ("calibration.last?", _WHOLE.or_null()),
    ("calibration.half_life?", _NUMBER.or_null()),
    ("calibration.in_sample_origins?", _WHOLE.or_null()),
    ("calibration.period?", _OBJECT.or_null()),
    ("calibration.period.start", _STRING),
    ("calibration.period.end", _STRING),
    ("calibration.levels?", _LIST.or_null()),
    ("calibration.levels.*", _NUMBER),
    ("calibration.paths?", _WHOLE.or_null()),
    ("events.alert_prob_tuning.event_f1?", _NUMBER.or_null()),
    ("events.alert_prob_tuning.even_odds_f1?", _NUMBER.or_null()),
    ("scaler", _OBJECT),
    ("scaler.kind", _STRING),
    ("scaler.center", _LIST),
    ("scaler.center.*", _NUMBER),
    ("scaler.scale", _LIST),
    ("scaler.scale.*", _NONZERO),
    ("baselines?", _OBJECT),
    ("baselines.ridge?", _OBJECT.or_null()),
    ("baselines.ridge.alpha", _NUMBER),
    ("baselines.ridge.window_norm?", _STRING),
    ("baselines.ridge.weight", _LIST),
    ("baselines.ridge.weight.*", _LIST),
    ("baselines.ridge.weight.*.*", _NUMBER),
    ("baselines.ridge.bias", _LIST),
    ("baselines.ridge.bias.*", _NUMBER),
    ("baselines.linear_start?", _OBJECT.or_null()),
    ("baselines.linear_start.alpha", _NUMBER),
    ("baselines.linear_start.window_norm?", _STRING),
    ("baselines.linear_start.weight", _LIST),
    ("baselines.linear_start.weight.*", _LIST),
    ("baselines.linear_start.weight.*.*", _NUMBER),
    ("baselines.linear_start.bias", _LIST),
    ("baselines.linear_start.bias.*", _NUMBER),
    ("training", _OBJECT),
    ("training.source?", _STRING),
    ("training.rows?", _WHOLE),
    ("training.parts?", _OBJECT),
    ("training.parts.*", _OBJECT),
    ("training.parts.*.rows", _WHOLE),
    ("training.parts.*.start?", _TIME.or_null()),
    ("training.parts.*.end?", _TIME.or_null()),
    ("training.best_epoch", _WHOLE),
    ("training.epochs_run?", _WHOLE),
    ("training.stopped_early", _BOOL),
    ("training.val_mse?", _NUMBER.or_null()),
    ("training.start_val_mse?", _NUMBER.or_null()),
    ("training.threads?", _WHOLE),
    ("training.tuning?", _OBJECT),
    ("history", _LIST),
    ("history.*", _OBJECT),
    ("history.*.epoch", _WHOLE),
    ("history.*.train_loss?", _NUMBER.or_null()),
    ("history.*.val_loss?", _NUMBER.or_null()),
    ("metrics", _OBJECT),
    ("panel?", _OBJECT),
    ("panel.series", _Kind("a whole number from 1", (int,), lambda value: 1 <= value < 2**63)),
    ("panel.time_zone?", _STRING.or_null()),
    ("metrics.period?", _OBJECT.or_null()),
    ("metrics.baselines?", _OBJECT),
    ("metrics.baselines.*", _OBJECT),
    *((f"{scores}.{name}?", _NUMBER.or_null()) for scores in ("metrics", "metrics.baselines.*") for name in _SCORES),
    # What `info` describes of the test report beyond the scores (reports of older formats lack some).
    ("metrics.period.start", _STRING),
    ("metrics.period.end", _STRING),
    ("metrics.n_origins?", _WHOLE),
    ("metrics.mape_skipped?", _WHOLE.or_null()),
    ("metrics.event?", _EVENT.or_null()),
    ("metrics.tolerance?", _WHOLE),
    ("metrics.actual_events?", _WHOLE),
    ("metrics.alert_prob?", _NUMBER.or_null()),
    ("metrics.intervals?", _OBJECT),
    ("metrics.intervals.*", _OBJECT),
    ("metrics.intervals.*.level", _NUMBER),
    *((f"metrics.intervals.*.{name}", _NUMBER.or_null()) for name in ("coverage", "width", "interval_score")),
    ("metrics.intervals.*.per_step_coverage", _LIST),
    ("metrics.intervals.*.per_step_coverage.*", _NUMBER),
    ("metrics.quantiles?", _OBJECT),
    ("metrics.quantiles.levels", _OBJECT),
    ("metrics.quantiles.levels.*", _OBJECT),
    ("metrics.quantiles.levels.*.coverage", _NUMBER),
    ("metrics.quantiles.pinball", _NUMBER.or_null()),
    ("metrics.quantiles.crps", _NUMBER.or_null()),
    ("metrics.probabilities?", _OBJECT),
    ("metrics.probabilities.step", _OBJECT),
    ("metrics.probabilities.any", _OBJECT),
    ("metrics.probabilities.*.brier", _NUMBER.or_null()),
    ("metrics.probabilities.*.brier_skill?", _NUMBER.or_null()),
    ("metrics.probabilities.*.base_rate?", _NUMBER.or_null()),
    ("training.quantile_head?", _OBJECT.or_null()),
    ("training.quantile_head.best_epoch", _WHOLE),
    ("training.quantile_head.epochs_run", _WHOLE),
    ("training.quantile_head.start_val_pinball", _NUMBER.or_null()),
    ("training.quantile_head.val_pinball", _NUMBER.or_null()),
    ("calibration.quantiles?", _LIST.or_null()),
    ("calibration.quantiles.*", _NUMBER),
    ("weights_sha256?", _STRING),
)


def _check_structure(manifest: dict[str, Any], file: Path) -> None:
    """Every field of ``_FIELDS`` present where it must be, with its kind; the first that is not is an
    ArtifactError naming it."""
    for path, kind in _FIELDS:
        optional = path.endswith("?")
        for name, value in _entries(manifest, path.rstrip("?").split("."), optional, file):
            if not kind.accepts(value):
                raise ArtifactError(f"{file}: corrupt ({name} should be {kind.name}; it is {kind.describe(value)})")


def _entries(manifest: dict[str, Any], parts: list[str], optional: bool, file: Path) -> list[tuple[str, Any]]:
    """``(name, value)`` of every field the path ``parts`` reaches (``history[3].epoch``)."""
    found: list[tuple[str, Any]] = [("", manifest)]
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        reached = []
        for name, value in found:
            if part == "*" and isinstance(value, dict):
                reached += [(f"{name}.{key}", entry) for key, entry in value.items()]
            elif part == "*" and isinstance(value, list):
                reached += [(f"{name}[{index}]", entry) for index, entry in enumerate(value)]
            elif part != "*" and isinstance(value, dict):
                field = f"{name}.{part}" if name else part
                if part in value:
                    reached.append((field, value[part]))
                elif last and not optional:
                    raise ArtifactError(f"{file}: corrupt ({field} is missing)")
            # anything else is a null (or absent) parent, or one of the wrong kind, already reported
        found = reached
    return found


def _check_settings(config: dict[str, Any], file: Path) -> WindowConfig:
    """The settings under ``config``, checked by the classes that define them; the window settings
    are returned for sizing the arrays."""
    sections = {"data": DataConfig, "window": WindowConfig, "model": ModelConfig, "train": TrainConfig}
    checked = {}
    for section, config_cls in sections.items():
        try:
            checked[section] = config_cls.from_dict(config[section])
        except (ConfigError, TypeError, ValueError) as exc:
            raise ArtifactError(f"{file}: corrupt (config.{section}: {exc})") from None
    window = checked["window"]
    assert isinstance(window, WindowConfig)
    return window


def _check_columns(manifest: dict[str, Any], file: Path) -> None:
    """The column names against each other: the columns a model reads are distinct and those its
    settings name (``config.data``: the target and the time column unless they were found in the data,
    the features); a model of many series (``panel``) and only such a model names its id column,
    which is none of the columns it reads."""
    columns, data = manifest["columns"], manifest["config"]["data"]
    read = [columns["target"], *columns["features"], *([columns["time"]] if columns["time"] is not None else [])]
    seen: set[str] = set()
    for name in read:
        if name in seen:
            raise ArtifactError(f"{file}: corrupt (columns names {name!r} twice, as the target, a feature or the time)")
        seen.add(name)
    for field, column in (("target", "target"), ("time_col", "time"), ("features", "features")):
        given = data.get(field)
        if given is not None and given != columns[column]:  # null: found in the data (absent: not recorded)
            problem = f"columns.{column} is {columns[column]!r}, but config.data.{field} is {given!r}"
            raise ArtifactError(f"{file}: corrupt ({problem})")
    id_col = data.get("id_col")
    if ("panel" in manifest) != (id_col is not None):
        problem = (
            f"panel holds {manifest['panel']['series']} series, but config.data.id_col names no id column"
            if id_col is None
            else f"config.data.id_col names the id column {id_col!r}, but there is no panel of series"
        )
        raise ArtifactError(f"{file}: corrupt ({problem})")
    if id_col is not None and id_col in (columns["time"], columns["target"], *columns["features"]):
        problem = f"the id column {id_col!r} is also the time column, the target or a feature"
        raise ArtifactError(f"{file}: corrupt ({problem})")


_QUANTILES = 1001  # len(lstmcast.events.QUANTILE_LEVELS), 0 to 1 in steps of 0.001 (events imports numpy)


def _check_sizes(manifest: dict[str, Any], window: WindowConfig, file: Path) -> None:
    """The arrays stored in the manifest against the sizes the settings give them, before numpy
    allocates anything from them (and so a mismatch never surfaces in the middle of a forecast)."""
    columns = 1 + len(manifest["columns"]["features"])
    baselines = manifest.get("baselines", {})
    arrays = (
        ("scaler.center", manifest["scaler"]["center"], (columns,), "one per column"),
        ("scaler.scale", manifest["scaler"]["scale"], (columns,), "one per column"),
        ("target_quantiles", manifest.get("target_quantiles"), (_QUANTILES,), "one per level 0, 0.001, ..., 1"),
        *_ridge_arrays("ridge", baselines.get("ridge"), window),
        *_ridge_arrays("linear_start", baselines.get("linear_start"), window),
    )
    for name, value, shape, meaning in arrays:
        if value is None:
            continue
        found = (len(value),) if len(shape) == 1 else (len(value), _width(value))
        if found != shape:
            raise ArtifactError(f"{file}: corrupt ({name} should be {_size(shape)} ({meaning}); it is {_size(found)})")


def _ridge_arrays(
    name: str, ridge: dict[str, Any] | None, window: WindowConfig
) -> tuple[tuple[str, Any, tuple[int, ...], str], ...]:
    """The weight and bias of the ridge ``baselines.{name}`` (None: absent) as ``_check_sizes`` checks them."""
    ridge = ridge or {}
    return (
        (f"baselines.{name}.weight", ridge.get("weight"), (window.lookback, window.horizon), "lookback x horizon"),
        (f"baselines.{name}.bias", ridge.get("bias"), (window.horizon,), "one per step of the horizon"),
    )


def _width(rows: list[list[Any]]) -> int | None:
    """The length every row has (0 without rows), or None when the rows differ."""
    widths = {len(row) for row in rows}
    return widths.pop() if len(widths) == 1 else None if widths else 0


def _size(shape: tuple[int | None, ...]) -> str:
    if len(shape) == 1:
        return f"{shape[0]} value{'' if shape[0] == 1 else 's'}"
    return " x ".join("ragged" if length is None else str(length) for length in shape)


def _upgrade(manifest: dict[str, Any]) -> dict[str, Any]:
    """Bring an older manifest to the current schema, keeping the behaviour it was saved with."""
    if manifest["schema_version"] < 2:
        model = manifest["config"]["model"]
        model.setdefault("window_norm", "none")
        model.setdefault("linear", False)
    if manifest["schema_version"] < 5:
        manifest["config"]["model"].setdefault("segment", 0)
        manifest["config"]["model"].setdefault("ensemble", 1)
        manifest["config"]["train"].setdefault("loss", "mse")
    return manifest


def read_weights(path: str | Path, manifest: dict[str, Any]) -> dict[str, np.ndarray]:
    """The weights as numpy arrays, after checking they are the ones the manifest was written with."""
    from safetensors.numpy import load_file

    file = Path(path) / WEIGHTS
    if not file.is_file():
        raise ArtifactError(f"{Path(path)}: the model directory has no {WEIGHTS}")
    expected = manifest.get("weights_sha256")
    try:
        if expected is not None and _sha256(file) != expected:
            raise ArtifactError(f"{file}: corrupt or replaced (checksum does not match {MANIFEST})")
    except OSError as exc:
        raise ArtifactError(f"{file}: cannot be read ({exc.strerror or exc})") from None
    try:
        return load_file(str(file))
    except Exception as exc:  # safetensors raises its own error types for every kind of damage
        raise ArtifactError(f"{file}: corrupt ({exc})") from None


def weights_mismatch(expected: Mapping[str, tuple[int, ...]], weights: Mapping[str, np.ndarray]) -> str | None:
    """Why ``weights`` do not fit a network whose weights have the ``expected`` names and shapes
    (``FittedState.expected_shapes``), or None when they fit: every one there, of its shape, floating
    point and finite."""
    import numpy as np

    for names, problem in (
        (expected.keys() - weights.keys(), f"{WEIGHTS} lacks {{}}, which the settings in {MANIFEST} need"),
        (weights.keys() - expected.keys(), f"{WEIGHTS} holds {{}}, which the settings in {MANIFEST} do not have"),
    ):
        if names:
            listed = sorted(names)
            return problem.format(", ".join(listed[:3]) + (f" and {len(listed) - 3} more" if len(listed) > 3 else ""))
    for name, shape in expected.items():
        if tuple(weights[name].shape) != tuple(shape):
            held = _size_of(weights[name].shape)
            return f"the settings in {MANIFEST} make {name} {_size_of(shape)}; {WEIGHTS} holds {held}"
        if weights[name].dtype.kind != "f":
            return f"{WEIGHTS} holds {name} as {weights[name].dtype}, not floating point"
        if not np.all(np.isfinite(weights[name])):  # training never writes one: its forecasts would be NaN
            return f"{WEIGHTS} holds {name} with values that are not finite numbers"
    return None


def _size_of(shape: tuple[int, ...]) -> str:
    return " x ".join(str(length) for length in shape) or "a scalar"


def start_val_loss(manifest: dict[str, Any]) -> float | None:
    """The scaled validation loss at the starting point (epoch 0, what a loss plot draws beside the
    history), from the MSE a manifest records in the target's units; None when it has none."""
    start = manifest.get("training", {}).get("start_val_mse")
    scale = manifest.get("scaler", {}).get("scale")
    if start is None or not scale:
        return None
    try:
        loss = float(start) / float(scale[0]) ** 2
    except (OverflowError, ZeroDivisionError):  # a scale no training could have produced
        return None
    return loss if math.isfinite(loss) else None
