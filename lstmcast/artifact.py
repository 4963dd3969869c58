"""The model directory: ``manifest.json`` (settings, columns, scaler, history, versions),
``weights.safetensors`` and ``metrics.json``.

Loading never unpickles: weights are safetensors, everything else JSON. A directory is written
beside its destination and renamed into place, so a failed or interrupted save leaves any
previous model as it was. Reading the manifest does not import torch (``lstmcast info`` is fast).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lstmcast.errors import ArtifactError, OutputError
from lstmcast.write import current_umask

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


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")


def save_model_dir(
    path: str | Path, manifest: dict[str, Any], state: dict[str, torch.Tensor], metrics: dict[str, Any]
) -> None:
    """Write a model directory atomically, replacing an earlier lstmcast model at ``path``."""
    from safetensors.torch import save_file

    dest = Path(path)
    check_replaceable(dest)
    with _staging_dir(dest) as staging:
        weights = staging / WEIGHTS
        save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, str(weights))
        manifest = {"format": FORMAT, "schema_version": SCHEMA_VERSION, **manifest, "weights_sha256": _sha256(weights)}
        _write_json(staging / MANIFEST, manifest)
        _write_json(staging / METRICS, metrics)
        _swap_into_place(staging, dest)


def check_replaceable(dest: Path) -> None:
    """Fail early unless ``dest`` is absent, empty or an earlier lstmcast model directory."""
    if dest.exists() and not dest.is_dir():
        raise OutputError(f"{dest}: exists and is not a directory; refusing to replace it")
    if dest.is_dir() and any(dest.iterdir()) and not (dest / MANIFEST).is_file():
        raise OutputError(f"{dest}: exists and is not an lstmcast model directory; refusing to replace it")
    if not dest.parent.exists():
        raise OutputError(f"{dest}: the folder {dest.parent} does not exist")


@contextlib.contextmanager
def _staging_dir(dest: Path) -> Iterator[Path]:
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    except OSError as exc:
        raise OutputError(f"{dest}: cannot write here ({exc.strerror})") from None
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap_into_place(staging: Path, dest: Path) -> None:
    """Rename the new directory into place; the old one is moved aside first and restored on failure."""
    for file in staging.iterdir():
        os.chmod(file, 0o666 & ~current_umask())
        with open(file, "rb") as handle:
            os.fsync(handle.fileno())
    os.chmod(staging, 0o777 & ~current_umask())
    old = None
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        os.rename(dest, old)
    try:
        os.rename(staging, dest)
    except BaseException:
        if old is not None:
            os.rename(old, dest)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


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
