"""The model directory: ``manifest.json`` (settings, columns, scaler, history, versions),
``weights.safetensors`` and ``metrics.json``.

Loading never unpickles: weights are safetensors, everything else JSON. A directory is written
beside its destination and renamed into place, so a failed or interrupted save leaves any
previous model as it was. Reading the manifest does not import torch (``lstmcast info`` is fast).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lstmcast.errors import ArtifactError, OutputError
from lstmcast.outputs import Outputs

if TYPE_CHECKING:
    import torch

FORMAT = "lstmcast-model"
SCHEMA_VERSION = 4
# 1 (0.1.0): no window normalisation, linear path or ridge baseline.
# 2 (0.2.0): model config gains window_norm and linear; manifest gains baselines.ridge.
# 3: model config gains input_dropout, bidirectional, attention, conv_kernel (and models gru,
#    peephole); train config gains weight_decay and l1; training gains val_mse, start_val_mse and
#    tuning. Their defaults are the format-2 behaviour, so older manifests need no rewriting.
# 4 (0.4.0): window config gains season; manifest gains mase_scale, target_quantiles (the training
#    part's quantiles at steps of 0.001, for --threshold qP) and events (threshold settings and a
#    tuned alert level). Older models have none of them: their MASE is null and qP thresholds are
#    refused with a message.
MANIFEST = "manifest.json"
WEIGHTS = "weights.safetensors"
METRICS = "metrics.json"
MODEL_FILES = frozenset({MANIFEST, WEIGHTS, METRICS})  # what a model directory may hold
_MANIFEST_LIMIT = 256 * 2**20  # a manifest is a few MB even with a long history; larger is not ours


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")


@dataclass(frozen=True)
class ModelFiles:
    """What a model directory holds: the manifest (without format fields and checksum, which are added
    on writing), the weights and the held-out metrics."""

    manifest: dict[str, Any]
    weights: dict[str, torch.Tensor]
    metrics: dict[str, Any]


def write_model_files(directory: Path, files: ModelFiles) -> None:
    """Write the files of a model into ``directory`` (a staging directory, see ``lstmcast.outputs``)."""
    from safetensors.torch import save_file

    weights = directory / WEIGHTS
    try:
        save_file({k: v.detach().cpu().contiguous() for k, v in files.weights.items()}, str(weights))
        checksum = _sha256(weights)
        manifest = {"format": FORMAT, "schema_version": SCHEMA_VERSION, **files.manifest, "weights_sha256": checksum}
        _write_json(directory / MANIFEST, manifest)
        _write_json(directory / METRICS, files.metrics)
    except OSError as exc:
        raise OutputError(f"{directory}: the model could not be written ({exc.strerror or exc})") from None


def save_model_dir(path: str | Path, files: ModelFiles) -> None:
    """Write a model directory atomically, replacing an earlier lstmcast model at ``path``."""
    with Outputs() as outputs:
        output = outputs.directory(path, check=check_replaceable)
        assert output.staging is not None
        write_model_files(output.staging, files)
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


def _is_model_manifest(file: Path) -> bool:
    try:
        if not file.is_file() or file.stat().st_size > _MANIFEST_LIMIT:
            return False
        manifest = json.loads(file.read_text())
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return False
    return isinstance(manifest, dict) and manifest.get("format") == FORMAT


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a model directory, checked for format and schema version."""
    root = Path(path)
    if not root.exists():
        raise ArtifactError(f"{root}: no such model directory")
    if not root.is_dir():
        raise ArtifactError(f"{root}: not a model directory (it is a file)")
    file = root / MANIFEST
    if not file.is_file():
        raise ArtifactError(f"{root}: not an lstmcast model directory (no {MANIFEST})")
    try:
        manifest = json.loads(file.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{file}: corrupt ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(f"{file}: not an lstmcast model manifest")
    version = manifest.get("schema_version")
    if not isinstance(version, int) or version < 1:
        raise ArtifactError(f"{file}: corrupt (schema_version is {version!r})")
    if version > SCHEMA_VERSION:
        made_by = manifest.get("versions", {}).get("lstmcast", "a newer release")
        raise ArtifactError(
            f"{root}: written by lstmcast {made_by} (model format {version}); this lstmcast reads format "
            f"{SCHEMA_VERSION} and older: upgrade lstmcast to use it"
        )
    return _upgrade(manifest)


def _upgrade(manifest: dict[str, Any]) -> dict[str, Any]:
    """Bring an older manifest to the current schema, keeping the behaviour it was saved with."""
    if manifest["schema_version"] < 2:
        model = manifest.get("config", {}).get("model")
        if isinstance(model, dict):
            model.setdefault("window_norm", "none")
            model.setdefault("linear", False)
    return manifest


def read_weights(path: str | Path, manifest: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The weights as CPU tensors, after checking they are the ones the manifest was written with."""
    from safetensors.torch import load_file

    file = Path(path) / WEIGHTS
    if not file.is_file():
        raise ArtifactError(f"{Path(path)}: the model directory has no {WEIGHTS}")
    expected = manifest.get("weights_sha256")
    if expected is not None and _sha256(file) != expected:
        raise ArtifactError(f"{file}: corrupt or replaced (checksum does not match {MANIFEST})")
    try:
        return load_file(str(file), device="cpu")
    except Exception as exc:  # safetensors raises its own error types for every kind of damage
        raise ArtifactError(f"{file}: corrupt ({exc})") from None
