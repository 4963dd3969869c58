"""The bad-input corpus: every file in tests/data/cases/ is one command that must fail cleanly.

Each case names a command line, the files it runs among and the exit code it must end with (the
format is described in tests/data/cases/README.md). One parametrized test runs them all and checks
the promise of docs/exit-codes.md: the expected code, nothing on stdout, exactly one line on stderr
that starts with ``Error:`` and says what is wrong, no traceback, and no file created, changed or
deleted (hidden staging and lock files included). A new case is a new file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import shlex
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import sine_frame

from lstmcast.cli import cli

CASES = Path(__file__).parent / "data" / "cases"
KEYS = {
    "args",
    "exit",
    "error",
    "why",
    "usage",
    "xfail",
    "model-patch",
    "model-delete",
    "model-truncate",
    "model-rehash",
    "mkdir",
    "needs",
}
SECTIONS = {"file", "model-file", "stdin"}
ENCODINGS = {"text", "hex", "base64"}
MODEL, DATA = "model", "data.csv"  # what {model} and {data} stand for, inside the case's folder
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # what a file or name must not send to the terminal
SECTION = re.compile(r"=== (?P<kind>[a-z-]+)(?: (?P<name>[^()]+?))?(?: \((?P<encoding>[a-z0-9]+)\))?")


class CaseError(ValueError):
    """A case file that does not follow the format."""


@dataclass
class Case:
    name: str
    args: list[str]
    exit: int
    error: str
    why: str = ""
    usage: bool = False  # click's own usage error: a "Usage:" block above the "Error:" line
    needs_no_cuda: bool = False  # a --device cuda case: skipped where CUDA is available
    xfail: str | None = None
    model_patch: dict[str, Any] | None = None
    model_delete: list[str] = field(default_factory=list)
    model_truncate: dict[str, int] = field(default_factory=dict)
    model_rehash: bool = False
    mkdir: list[str] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    model_files: dict[str, bytes] = field(default_factory=dict)
    stdin: bytes | None = None

    @property
    def uses_model(self) -> bool:
        damaged = self.model_patch or self.model_delete or self.model_truncate or self.model_rehash or self.model_files
        return bool(damaged) or any("{model}" in arg for arg in self.args)

    @property
    def uses_data(self) -> bool:
        return any("{data}" in arg for arg in self.args)


def _decode(lines: list[str], encoding: str, where: str) -> bytes:
    if encoding == "text":
        return "".join(lines).encode()
    packed = "".join("".join(lines).split())
    try:
        return bytes.fromhex(packed) if encoding == "hex" else base64.b64decode(packed, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise CaseError(f"{where}: bad {encoding} content ({exc})") from None


def parse_case(path: Path) -> Case:
    """Read a case file: ``key: value`` lines, then ``=== kind [NAME] [(encoding)]`` sections."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header, body = _parse_header(path, lines)
    code = int(header["exit"])
    if not 2 <= code <= 6:
        raise CaseError(f"{path.name}: exit must be one of the documented failure codes 2-6; got {code}")
    truncate = shlex.split(header.get("model-truncate", ""))
    if len(truncate) % 2:
        raise CaseError(f"{path.name}: model-truncate takes NAME BYTES pairs")
    case = Case(
        name=path.stem,
        args=shlex.split(header["args"]),
        exit=code,
        error=header["error"],
        why=header.get("why", ""),
        usage="usage" in header,
        needs_no_cuda="needs" in header,
        xfail=header.get("xfail") or None,
        model_patch=json.loads(header["model-patch"]) if "model-patch" in header else None,
        model_delete=shlex.split(header.get("model-delete", "")),
        model_truncate={name: int(size) for name, size in zip(truncate[::2], truncate[1::2], strict=True)},
        model_rehash="model-rehash" in header,
        mkdir=shlex.split(header.get("mkdir", "")),
    )
    _parse_sections(path, body, case)
    return case


def _parse_header(path: Path, lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """The ``key: value`` lines up to the first section, checked; and the lines after them."""
    header: dict[str, str] = {}
    end = next((index for index, line in enumerate(lines) if line.startswith("===")), len(lines))
    for number, raw in enumerate(lines[:end], start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, colon, value = (part.strip() for part in line.partition(":"))
        if not colon or key not in KEYS:
            raise CaseError(f"{path.name}, line {number}: unknown key {key!r}; keys are {', '.join(sorted(KEYS))}")
        if key in header:
            raise CaseError(f"{path.name}: key {key!r} given twice")
        header[key] = value
    missing = [key for key in ("args", "exit", "error") if not header.get(key)]
    if missing:
        raise CaseError(f"{path.name}: the keys args, exit and error are required; missing {', '.join(missing)}")
    for key, only in (("usage", "click"), ("model-rehash", "yes"), ("needs", "no-cuda")):
        if header.get(key, only) != only:
            raise CaseError(f"{path.name}: {key}: takes only the value {only!r}")
    return header, lines[end:]


def _parse_sections(path: Path, lines: list[str], case: Case) -> None:
    sections: list[tuple[str, str | None, str, list[str]]] = []
    for line in lines:
        if line.startswith("==="):
            match = SECTION.fullmatch(line.rstrip("\n"))
            if not match or match["kind"] not in SECTIONS or (match["encoding"] or "text") not in ENCODINGS:
                raise CaseError(f"{path.name}: bad section line {line.strip()!r}")
            if (match["name"] is None) != (match["kind"] == "stdin"):
                raise CaseError(f"{path.name}: {line.strip()!r}: file sections name a file, stdin takes no name")
            sections.append((match["kind"], match["name"], match["encoding"] or "text", []))
        else:
            sections[-1][3].append(line)
    for kind, name, encoding, content in sections:
        data = _decode(content, encoding, f"{path.name}, section {kind} {name or ''}")
        if kind == "stdin":
            if case.stdin is not None:
                raise CaseError(f"{path.name}: two stdin sections")
            case.stdin = data
        else:
            target = case.files if kind == "file" else case.model_files
            if name in target:
                raise CaseError(f"{path.name}: two sections for {name}")
            target[name] = data


def all_cases() -> list[Path]:
    return sorted(CASES.glob("*.case"))


# -- running a case -----------------------------------------------------------------------------


Snapshot = dict[str, tuple[str, str]]


def snapshot(root: Path) -> Snapshot:
    """Every path under ``root`` (hidden ones too): its type and the sha256 of its content."""
    seen = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        if stat.S_ISREG(info.st_mode):
            seen[str(path.relative_to(root))] = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
        elif stat.S_ISLNK(info.st_mode):
            seen[str(path.relative_to(root))] = ("symlink", str(path.readlink()))
        else:
            seen[str(path.relative_to(root))] = (stat.filemode(info.st_mode)[0], "")
    return seen


def _merge(target: Any, patch: Any) -> Any:
    """A JSON merge patch (RFC 7396): objects merge key by key, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


def _damage_model(model: Path, case: Case) -> None:
    for name, content in case.model_files.items():
        (model / name).write_bytes(content)
    for name, size in case.model_truncate.items():
        (model / name).write_bytes((model / name).read_bytes()[:size])
    if case.model_patch is not None or case.model_rehash:
        manifest = json.loads((model / "manifest.json").read_text())
        if case.model_patch is not None:
            manifest = _merge(manifest, case.model_patch)
        if case.model_rehash:  # the damaged weights get a checksum that matches, to test what comes after it
            digest = hashlib.sha256((model / "weights.safetensors").read_bytes()).hexdigest()
            manifest["weights_sha256"] = digest
        (model / "manifest.json").write_text(json.dumps(manifest))
    for name in case.model_delete:
        (model / name).unlink()


def prepare(case: Case, root: Path, model_dir: Path) -> None:
    if case.uses_data:
        sine_frame().to_csv(root / DATA, index=False)
    if case.uses_model:
        shutil.copytree(model_dir, root / MODEL)
        _damage_model(root / MODEL, case)
    for name in case.mkdir:
        (root / name).mkdir(parents=True)
    for name, content in case.files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)


def _expand(arg: str) -> str:
    return arg.replace("{model}", MODEL).replace("{data}", DATA)


def _params() -> list[Any]:
    """One param per case file; a case marked ``xfail:`` is expected to fail its checks (strictly)."""
    params = []
    for path in all_cases():
        try:
            reason = parse_case(path).xfail
        except (CaseError, ValueError):
            reason = None  # test_case reports the broken file
        marks = [pytest.mark.xfail(reason=reason, strict=True, raises=AssertionError)] if reason else []
        params.append(pytest.param(path, marks=marks, id=path.stem))
    return params


@pytest.mark.parametrize("path", _params())
def test_case(path: Path, tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = parse_case(path)
    if case.needs_no_cuda and _cuda_available():
        pytest.skip("the case asks for CUDA where there is none")
    prepare(case, tmp_path, model_dir)
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    result = CliRunner().invoke(cli, [_expand(arg) for arg in case.args], input=case.stdin)
    check(case, result, before, snapshot(tmp_path))


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def check(case: Case, result: Result, before: Snapshot, after: Snapshot) -> None:
    """The promise of docs/exit-codes.md for one failed run."""
    stdout, stderr = result.stdout, result.stderr
    report = f"exit {result.exit_code}\nstdout: {stdout!r}\nstderr: {stderr!r}"
    escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not escaped, f"an exception escaped the CLI: {result.exc_info}\n{report}"
    assert result.exit_code == case.exit, report
    assert stdout == "", report
    assert "Traceback" not in stderr and "internal error" not in stderr, report
    assert not CONTROL.search(stderr), f"terminal control bytes reached stderr\n{report}"
    lines = stderr.splitlines()
    if case.usage:  # click's usage errors: "Usage: ...", "Try ...", a blank line, then the error
        assert lines and lines[0].startswith("Usage: "), report
        error = [line for line in lines if line.strip()][-1]
    else:
        assert len(lines) == 1, report
        error = lines[0]
    assert error.startswith("Error: "), report
    assert case.error in error, report
    assert after == before, f"files were created, changed or deleted\n{report}"


def test_the_corpus_is_large_and_every_case_parses() -> None:
    paths = all_cases()
    assert len(paths) >= 100
    cases = [parse_case(path) for path in paths]
    assert {case.exit for case in cases} == {2, 3, 4, 5, 6}
    commands = {case.args[0] for case in cases}
    assert commands == {"train", "predict", "evaluate", "calibrate", "backtest", "plot", "info", "tune"}
    for case in cases:
        assert case.name.startswith(case.args[0] + "-"), f"{case.name}: name a case after its command"


def test_a_case_with_an_unknown_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "train-typo.case"
    path.write_text("args: train x.csv -o m\nexit: 3\nerror: no such file\nexpect: 3\n")
    with pytest.raises(CaseError, match="unknown key 'expect'"):
        parse_case(path)


def test_the_checks_catch_a_run_that_succeeds_and_a_file_left_behind(
    tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = Case(name="info-good-model", args=["info", "{model}"], exit=4, error="no such model directory")
    prepare(case, tmp_path, model_dir)
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    result = CliRunner().invoke(cli, [_expand(arg) for arg in case.args])
    with pytest.raises(AssertionError, match="exit 0"):
        check(case, result, before, snapshot(tmp_path))
    (tmp_path / ".model.lock").touch()  # hidden files count too
    assert snapshot(tmp_path) != before
