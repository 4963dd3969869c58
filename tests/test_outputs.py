"""Nothing the user had is lost: what an output path may replace, how a model is swapped into place,
and what a failed, interrupted or concurrent run leaves behind (lstmcast.outputs, through the CLI)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TINY_FLAGS

from lstmcast import outputs
from lstmcast.artifact import check_replaceable, is_model_dir
from lstmcast.cli import cli
from lstmcast.console import ExitCode
from lstmcast.errors import OutputError


def run(*args: object, input: bytes | None = None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` with a digest of its content (or its kind), to compare before and after."""
    seen = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        if stat.S_ISREG(info.st_mode):
            seen[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            seen[str(path.relative_to(root))] = stat.filemode(info.st_mode)
    return seen


@pytest.fixture
def model(tmp_path: Path, model_dir: Path) -> Path:
    """A copy of a saved tiny model, ours to replace."""
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    return copy


@pytest.fixture
def data(tmp_path: Path, csv_file: Path) -> Path:
    return csv_file


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any training is a test failure: the command had to stop before it."""

    def fail(*args, **kwargs):
        raise AssertionError("the command trained before checking its outputs")

    monkeypatch.setattr("lstmcast.forecast.Forecaster.fit", fail)


# -- 1. only an lstmcast model directory is ever replaced ---------------------------------------


def test_a_folder_with_someone_elses_manifest_is_never_replaced(tmp_path: Path, data: Path, no_training) -> None:
    web = tmp_path / "web"
    (web / "src").mkdir(parents=True)
    (web / "manifest.json").write_text('{"name": "app"}')
    (web / "index.html").write_text("<html></html>")
    before = snapshot(web)
    result = run("train", data, "-o", web, *TINY_FLAGS)
    assert result.exit_code == ExitCode.OUTPUT
    assert result.stderr == f"Error: {web}: exists and is not an lstmcast model directory; refusing to replace it\n"
    assert snapshot(web) == before


def test_a_model_folder_holding_other_files_is_not_replaced(model: Path, data: Path, no_training) -> None:
    (model / "notes.txt").write_text("why this model")
    before = snapshot(model)
    result = run("train", data, "-o", model, *TINY_FLAGS)
    assert result.exit_code == ExitCode.OUTPUT
    assert "holds files that are not part of an lstmcast model (notes.txt)" in result.stderr
    assert snapshot(model) == before


@pytest.mark.parametrize(
    "manifest",
    ['{"format": "lstmcast-model"', '["lstmcast-model"]', '{"format": "other"}', "\xff\xfe"],
    ids=["truncated", "a list", "another format", "not text"],
)
def test_a_manifest_that_does_not_prove_a_model_protects_the_folder(tmp_path: Path, manifest: str) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "manifest.json").write_text(manifest, errors="surrogateescape")
    with pytest.raises(OutputError, match="not an lstmcast model directory"):
        check_replaceable(folder)


def test_dot_in_a_folder_with_a_foreign_manifest_is_refused(tmp_path: Path, data: Path, monkeypatch) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "manifest.json").write_text('{"name": "app"}')
    monkeypatch.chdir(project)
    result = run("train", data, "-o", ".", *TINY_FLAGS)
    assert result.exit_code == ExitCode.OUTPUT and "refusing to replace it" in result.stderr
    assert "internal error" not in result.stderr


def test_a_report_never_replaces_a_file_of_another_model(tmp_path: Path, model: Path, data: Path, no_training) -> None:
    before = snapshot(model)
    result = run("train", data, "-o", tmp_path / "new", "--per-step", model / "manifest.json", *TINY_FLAGS)
    assert result.exit_code == ExitCode.OUTPUT
    message = f"Error: {model}/manifest.json: is a file of the lstmcast model {model}; write it elsewhere\n"
    assert result.stderr == message
    assert snapshot(model) == before and not (tmp_path / "new").exists()
    assert run("info", model).exit_code == 0


def test_no_output_is_added_to_a_model_folder_even_through_a_symlink(tmp_path: Path, model: Path) -> None:
    from lstmcast.write import write_json

    before = snapshot(model)
    with pytest.raises(OutputError, match=f"is inside the lstmcast model directory {model}, which holds only"):
        write_json({"a": 1}, model / "report.json")
    (tmp_path / "weights-link").symlink_to(model / "weights.safetensors")
    with pytest.raises(OutputError, match=f"weights-link: is a file of the lstmcast model {model}; write"):
        write_json({"a": 1}, tmp_path / "weights-link")
    assert snapshot(model) == before
    # A folder whose manifest.json is someone else's is not a model: a file may be written there.
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "manifest.json").write_text('{"name": "app"}')
    write_json({"a": 1}, tmp_path / "web" / "report.json")
    assert json.loads((tmp_path / "web" / "report.json").read_text()) == {"a": 1}


def test_an_earlier_model_is_replaced(model: Path, data: Path) -> None:
    before = (model / "manifest.json").read_text()
    result = run("train", data, "-o", model, *TINY_FLAGS, "--seed", "7")
    assert result.exit_code == 0, result.stderr
    assert (model / "manifest.json").read_text() != before
    assert sorted(p.name for p in model.parent.iterdir() if p.name.startswith(".model")) == []


# -- 2. devices, pipes and symlinks are written through, never replaced --------------------------


def test_a_character_device_is_written_through(tmp_path: Path, model: Path, data: Path) -> None:
    null = tmp_path / "null"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod needs root")
    result = run("evaluate", model, data, "-q", "-o", null)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISCHR(null.lstat().st_mode)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_a_full_device_is_an_output_error(model: Path, data: Path) -> None:
    result = run("evaluate", model, data, "-q", "-o", "/dev/full")
    assert result.exit_code == ExitCode.OUTPUT
    expected = "Error: /dev/full: could not be written (No space left on device); no file was changed\n"
    assert result.stderr.endswith(expected)
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_named_pipe_is_written_through(tmp_path: Path, model: Path, data: Path) -> None:
    fifo = tmp_path / "forecast.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = run("predict", model, data, "-o", fifo, "--format", "csv")
    reader.join(timeout=30)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert received[0].decode().startswith("time,step,y\n")


def test_a_symlink_is_followed_and_kept(tmp_path: Path, model: Path, data: Path) -> None:
    (tmp_path / "reports").mkdir()
    target = tmp_path / "reports" / "metrics.json"
    target.write_text("{}")
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    result = run("evaluate", model, data, "-q", "-o", link)
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert "mse" in json.loads(target.read_text())


def test_a_dangling_symlink_creates_its_target(tmp_path: Path, model: Path, data: Path) -> None:
    link = tmp_path / "latest.csv"
    link.symlink_to(tmp_path / "forecast.csv")
    result = run("predict", model, data, "-o", link)
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and (tmp_path / "forecast.csv").read_text().startswith("time,step,y")


def test_a_replaced_file_keeps_its_permissions(tmp_path: Path, model: Path, data: Path) -> None:
    out = tmp_path / "forecast.csv"
    out.write_text("old")
    out.chmod(0o640)
    assert run("predict", model, data, "-o", out).exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o640 and out.read_text() != "old"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("reports/", "reports/: names a folder (it ends with /); give a file name"),
        ("missing/metrics.json", "missing/metrics.json: the folder missing does not exist"),
        ("data.csv/metrics.json", "data.csv/metrics.json: cannot use this path (Not a directory)"),
    ],
)
def test_a_path_that_cannot_be_a_file_is_refused_before_any_work(
    tmp_path: Path, model: Path, data: Path, monkeypatch, path: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(data, tmp_path / "data.csv")
    before = snapshot(tmp_path)
    result = run("evaluate", model, "data.csv", "-q", "-o", path)
    assert (result.exit_code, result.stderr) == (ExitCode.OUTPUT, f"Error: {message}\n")
    assert snapshot(tmp_path) == before


# -- 3 and 7. outputs are checked before any work and committed together -------------------------


def test_an_unwritable_report_fails_before_training(tmp_path: Path, model: Path, data: Path, no_training) -> None:
    before = snapshot(model)
    result = run("train", data, "-o", model, *TINY_FLAGS, "--per-step", "/proc/steps.csv")
    assert result.exit_code == ExitCode.OUTPUT and "cannot write in /proc" in result.stderr
    assert snapshot(model) == before


def test_an_unwritable_model_folder_fails_before_training(data: Path, no_training) -> None:
    result = run("train", data, "-o", "/proc/model", *TINY_FLAGS)
    assert result.exit_code == ExitCode.OUTPUT and "cannot write in /proc" in result.stderr


def test_a_backtest_report_that_cannot_be_written_fails_before_any_fold(data: Path, no_training) -> None:
    result = run("backtest", data, *TINY_FLAGS, "-o", "/proc/bt.json")
    assert result.exit_code == ExitCode.OUTPUT and result.stderr.count("\n") == 1


def test_a_report_that_fails_to_write_leaves_the_old_model(model: Path, data: Path, monkeypatch) -> None:
    before = snapshot(model)
    real = outputs._write_file

    def disk_full_for_reports(staging: Path, payload: bytes, given: str, target: Path) -> None:
        if given.endswith("steps.csv"):
            raise OutputError(f"{given}: could not be written (No space left on device); it is unchanged")
        real(staging, payload, given, target)

    monkeypatch.setattr(outputs, "_write_file", disk_full_for_reports)
    result = run("train", data, "-o", model, *TINY_FLAGS, "--per-step", model.parent / "steps.csv")
    assert result.exit_code == ExitCode.OUTPUT and "No space left on device" in result.stderr
    assert snapshot(model) == before
    assert sorted(p.name for p in model.parent.iterdir()) == ["model", "series.csv"]


def test_a_full_disk_is_an_output_error_and_leaves_nothing(tmp_path: Path, model: Path, data: Path) -> None:
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(tiny)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        (tiny / "metrics.json").write_text("old")
        subprocess.run(["dd", "if=/dev/zero", f"of={tiny / 'filler'}", "bs=1k", "count=64"], capture_output=True)
        result = run("evaluate", model, data, "-q", "-o", tiny / "metrics.json")
        assert result.exit_code == ExitCode.OUTPUT and "No space left on device" in result.stderr
        assert sorted(p.name for p in tiny.iterdir()) == ["filler", "metrics.json"]
        assert (tiny / "metrics.json").read_text() == "old"
    finally:
        subprocess.run(["umount", "-l", str(tiny)], check=True)


# -- 4. the model swap: the path names a whole model at every instant ----------------------------


def save_copy(source: Path, dest: Path) -> None:
    """Save a model to ``dest`` through the same commit as the CLI."""
    with outputs.Outputs() as planned:
        output = planned.directory(dest, check=check_replaceable)
        assert output.staging is not None
        for file in source.iterdir():
            shutil.copy(file, output.staging / file.name)
        planned.commit()


def test_a_reader_never_sees_the_model_missing_during_saves(tmp_path: Path, model_dir: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    try:
        outputs._exchange(tmp_path / "a", tmp_path / "b")
    except outputs._CannotExchange:
        pytest.skip("this file system cannot exchange two paths in one step (the fallback is tested below)")
    dest = tmp_path / "model"
    save_copy(model_dir, dest)
    missing: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if not (dest / "manifest.json").is_file():
                missing.append(1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    for _ in range(30):
        save_copy(model_dir, dest)
    stop.set()
    watcher.join()
    assert missing == []


@pytest.fixture
def no_exchange(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file system without renameat2(RENAME_EXCHANGE): the two-rename fallback is used."""

    def cannot(a: Path, b: Path) -> None:
        raise outputs._CannotExchange

    monkeypatch.setattr(outputs, "_exchange", cannot)


def test_a_fault_between_the_two_renames_puts_the_old_model_back(
    tmp_path: Path, model: Path, model_dir: Path, monkeypatch, no_exchange
) -> None:
    before = snapshot(model)

    def fault() -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(outputs, "_between_renames", fault)
    with pytest.raises(OutputError, match="could not be put in place"):
        save_copy(model_dir, model)
    assert snapshot(model) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


@pytest.fixture
def sigint_raises():
    """Ctrl-C raises KeyboardInterrupt here even when the test run started with SIGINT ignored (a
    shell starts background jobs so: ``nohup pytest &``)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_between_the_two_renames_waits_for_the_swap(
    tmp_path: Path, model: Path, data: Path, monkeypatch, no_exchange, sigint_raises
) -> None:
    monkeypatch.setattr(outputs, "_between_renames", lambda: os.kill(os.getpid(), signal.SIGINT))
    result = run("train", data, "-o", model, *TINY_FLAGS, "--seed", "3")
    assert result.exit_code == ExitCode.INTERRUPTED
    assert result.stderr == "Error: interrupted after every output was written\n"
    assert json.loads((model / "manifest.json").read_text())["config"]["train"]["seed"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "series.csv"]


def test_a_model_moved_aside_by_a_killed_save_is_put_back(tmp_path: Path, model: Path) -> None:
    dead = dead_pid()
    moved = tmp_path / f".model.{dead}-abc123de.old"
    model.rename(moved)
    outputs.sweep(model, is_model_dir)
    assert (model / "manifest.json").is_file() and not moved.exists()


def test_signals_wait_for_the_end_of_a_commit(sigint_raises) -> None:
    order: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        with outputs.signals_held():
            os.kill(os.getpid(), signal.SIGINT)
            order.append("still committing")
        order.append("not reached")
    assert order == ["still committing"]


# -- 5. leftovers of killed runs are swept -------------------------------------------------------


def dead_pid() -> int:
    """The id of a process that has exited."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_leftovers_of_dead_processes_are_swept_and_others_kept(tmp_path: Path, model: Path, data: Path) -> None:
    dead = dead_pid()
    (tmp_path / f".model.{dead}-x1y2z3w4.tmp").mkdir()
    (tmp_path / f".forecast.csv.{dead}-abcdefgh.tmp").write_text("partial")
    (tmp_path / f".model.{os.getpid()}-alive123.tmp").mkdir()  # a live process's staging
    (tmp_path / ".model.notes").write_text("a user's file that looks similar")
    result = run("train", data, "-o", model, *TINY_FLAGS)
    assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    expected = [f".forecast.csv.{dead}-abcdefgh.tmp", f".model.{os.getpid()}-alive123.tmp", ".model.notes", "model"]
    assert names == [*expected, "series.csv"]
    assert run("predict", model, data, "-o", tmp_path / "forecast.csv").exit_code == 0
    assert not (tmp_path / f".forecast.csv.{dead}-abcdefgh.tmp").exists()


# -- 6. two runs never write the same output at once ---------------------------------------------


def test_a_second_run_on_the_same_model_fails_clearly(model: Path, data: Path, no_training) -> None:
    with outputs.Outputs() as first:
        first.directory(model, check=check_replaceable)
        result = run("train", data, "-o", model, *TINY_FLAGS)
    assert result.exit_code == ExitCode.OUTPUT
    assert result.stderr == (
        f"Error: {model}: another lstmcast run (pid {os.getpid()}) is writing it; "
        "wait for that run to finish or choose another output\n"
    )
    assert not (model.parent / ".model.lock").exists()  # released with the first run


# -- found by an adversarial pass -----------------------------------------------------------------


def test_a_symlink_planted_as_the_lock_file_is_refused_and_its_target_untouched(
    tmp_path: Path, model: Path, data: Path, no_training
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / ".model.lock").symlink_to(victim)
    result = run("train", data, "-o", model, *TINY_FLAGS)
    assert result.exit_code == ExitCode.OUTPUT and "is a symlink" in result.stderr
    assert victim.read_text() == "precious" and (tmp_path / ".model.lock").is_symlink()


def test_a_hard_link_or_a_fifo_as_the_lock_file_is_refused_and_kept(tmp_path: Path, model: Path, data: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    os.link(victim, tmp_path / ".model.lock")
    result = run("train", data, "-o", model, *TINY_FLAGS)
    assert result.exit_code == ExitCode.OUTPUT and "is not an lstmcast lock file" in result.stderr
    assert victim.read_text() == "precious" and (tmp_path / ".model.lock").exists()
    os.mkfifo(tmp_path / ".forecast.csv.lock")
    result = run("predict", model, data, "-o", tmp_path / "forecast.csv")
    assert result.exit_code == ExitCode.OUTPUT and stat.S_ISFIFO((tmp_path / ".forecast.csv.lock").lstat().st_mode)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["predict", "{model}", "{data}", "-o", "{data}"], "would replace {data}, which this command reads"),
        (["evaluate", "{model}", "{data}", "-q", "--per-step", "{model}/manifest.json"], "which this command reads"),
        (["train", "{data}", "-o", "{model}", "--per-step", "{model}/steps.csv"], "is inside the model directory"),
        (["train", "{data}", "-o", "{model}", "--per-step", "{data}"], "would replace {data}"),
        (["backtest", "{data}", "--per-step", "{data}"], "would replace {data}"),
    ],
)
def test_an_output_that_names_an_input_or_lies_in_the_model_is_refused_before_any_work(
    model: Path, data: Path, args: list[str], message: str
) -> None:
    before = snapshot(model.parent)
    filled = [arg.format(model=model, data=data) for arg in args]
    result = run(*filled, *(TINY_FLAGS if args[0] in ("train", "backtest") else []))
    assert result.exit_code == ExitCode.OUTPUT and message.format(data=data) in result.stderr
    assert snapshot(model.parent) == before


def test_a_mount_point_is_refused_as_a_model_directory_before_training(tmp_path: Path, data: Path, no_training) -> None:
    mount_point = tmp_path / "volume"
    mount_point.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        result = run("train", data, "-o", mount_point, *TINY_FLAGS)
        assert result.exit_code == ExitCode.OUTPUT and "is a mount point" in result.stderr
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def test_a_replaced_model_keeps_its_permissions(model: Path, data: Path) -> None:
    model.chmod(0o700)
    for file in model.iterdir():
        file.chmod(0o600)
    assert run("train", data, "-o", model, *TINY_FLAGS, "--seed", "4").exit_code == 0
    assert stat.S_IMODE(model.stat().st_mode) == 0o700
    assert {stat.S_IMODE(f.stat().st_mode) for f in model.iterdir()} == {0o600}


def test_a_full_disk_while_saving_the_weights_is_an_output_error_naming_the_model(tmp_path: Path, data: Path) -> None:
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(tiny)]).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        result = run("train", data, "-o", tiny / "model", *TINY_FLAGS)
        assert result.exit_code == ExitCode.OUTPUT
        expected = "the model could not be written (No space left on device); it is unchanged\n"
        assert result.stderr.endswith(f"Error: {tiny / 'model'}: {expected}")
        assert list(tiny.iterdir()) == []
    finally:
        subprocess.run(["umount", "-l", str(tiny)], check=True)


def test_files_that_only_look_like_leftovers_are_never_touched(tmp_path: Path, model: Path, data: Path) -> None:
    notes = tmp_path / ".model.999999-notes.tmp"
    notes.write_text("mine")
    backup = tmp_path / ".other.999998-backupxx.old"  # not a model, and 'other' does not exist
    backup.mkdir()
    assert run("train", data, "-o", model, *TINY_FLAGS).exit_code == 0
    assert run("predict", tmp_path / "other", data).exit_code == ExitCode.MODEL
    assert notes.read_text() == "mine" and backup.is_dir() and not (tmp_path / "other").exists()


def test_a_name_too_long_for_a_staging_suffix_still_works(tmp_path: Path, model: Path, data: Path) -> None:
    out = tmp_path / ("a" * 240 + ".csv")
    assert run("predict", model, data, "-o", out).exit_code == 0
    assert out.read_text().startswith("time,step,y")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["model", "series.csv", out.name])


def test_a_device_takes_any_table_output_as_csv(model: Path, data: Path) -> None:
    commands = (["evaluate", model, data, "-q", "--per-step", "/dev/null"], ["predict", model, data, "-o", "/dev/null"])
    for args in commands:
        result = run(*args)
        assert result.exit_code == 0, result.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
