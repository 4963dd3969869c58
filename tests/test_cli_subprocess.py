"""A real `python -m lstmcast` in a shell pipeline, as cron and scripts run it."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY, TINY_FLAGS, sine_frame


def clean_env() -> dict[str, str]:
    """The caller's environment without colour or --debug, as a cron job would run lstmcast."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("LSTMCAST_DEBUG", None)
    return env


def lstmcast(*args: object, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lstmcast", *map(str, args)],
        input=stdin,
        capture_output=True,
        env=clean_env(),
        cwd=cwd,
        timeout=300,
    )


def start_lstmcast(*args: object, cwd: Path) -> subprocess.Popen:
    """A `python -m lstmcast` left running, with its stdout and stderr piped back."""
    return subprocess.Popen(
        [sys.executable, "-m", "lstmcast", *map(str, args)],
        cwd=cwd,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pipe")
    sine_frame().to_csv(root / "series.csv", index=False)
    done = lstmcast("train", "series.csv", "-o", "model", "--quiet", *TINY_FLAGS, cwd=root)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b"" and done.stderr == b""
    return root


def test_csv_piped_in_gives_a_forecast_piped_out(pipeline: Path) -> None:
    done = lstmcast("predict", "model", "-", stdin=(pipeline / "series.csv").read_bytes(), cwd=pipeline)
    assert done.returncode == 0 and done.stderr == b""
    lines = done.stdout.decode().splitlines()
    assert lines[0] == "time,step,y" and len(lines) == TINY["horizon"] + 1


def test_a_shell_pipeline_with_redirection(pipeline: Path) -> None:
    done = subprocess.run(
        f"tail -n 50 series.csv | (head -n 1 series.csv; cat) | {sys.executable} -m lstmcast predict model - "
        "> forecast.csv",
        shell=True,
        cwd=pipeline,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()
    forecast = pd.read_csv(pipeline / "forecast.csv")
    assert forecast["step"].tolist() == list(range(1, TINY["horizon"] + 1))


def test_a_failed_run_exits_non_zero_and_leaves_no_file(pipeline: Path) -> None:
    (pipeline / "broken.csv").write_text("time,y\n2024-01-01 00:00,1\n2024-01-01 01:00,oops\n")
    done = lstmcast("predict", "model", "broken.csv", "-o", "out.csv", cwd=pipeline)
    assert done.returncode == 3
    assert done.stdout == b""
    assert done.stderr.decode() == "Error: broken.csv: column 'y', row 2: not a number (e.g. 'oops')\n"
    assert not (pipeline / "out.csv").exists()
    assert not [p for p in pipeline.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_an_error_is_one_line_without_debug_and_a_traceback_with_it(pipeline: Path) -> None:
    plain = lstmcast("evaluate", "model", "series.csv", "--stride", "0", cwd=pipeline)
    assert plain.returncode == 2
    assert plain.stderr.decode() == "Error: stride must be at least 1; got 0\n"
    debug = lstmcast("--debug", "evaluate", "model", "series.csv", "--stride", "0", cwd=pipeline)
    assert debug.returncode == 1 and b"Traceback (most recent call last)" in debug.stderr


def test_help_and_info_do_not_import_torch(pipeline: Path) -> None:
    code = (
        "import sys\n"
        "from lstmcast.cli import cli\n"
        "try:\n    cli(['info', 'model'], prog_name='lstmcast')\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'pandas', 'sklearn') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=pipeline, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip().splitlines()[-1] == "[]"
    assert b"lookback / horizon" in done.stderr


def test_a_backtest_in_a_pipeline_prints_only_json_on_stdout(pipeline: Path) -> None:
    done = subprocess.run(
        f"{sys.executable} -m lstmcast backtest series.csv {' '.join(TINY_FLAGS)} --folds 2 --test-frac 0.3 "
        f"--threshold q0.9 --json | {sys.executable} -c 'import json, sys; r = json.load(sys.stdin); "
        'print(len(r["folds"]), r["n_origins"], r["best"] in ("model", *r["baselines"]))\'',
        shell=True,
        cwd=pipeline,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().split() == ["2", str(90 - TINY["horizon"] + 1), "True"]
    assert b"fold 1/2" in done.stderr and b"every fold pooled" in done.stderr


def start_long_training(root: Path) -> subprocess.Popen:
    """A `train -o model` that would run for minutes, once its outputs are reserved (the staging folder exists)."""
    flags = [flag for flag in TINY_FLAGS if not flag.startswith(("--epochs", "--patience"))]
    long_run = ["--epochs", "100000", "--patience", "100000", "--seed", "5"]
    process = start_lstmcast("train", "series.csv", "-o", "model", *flags, *long_run, cwd=root)
    deadline = time.monotonic() + 120
    while not list(root.glob(f".model.{process.pid}-*.tmp")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run never reserved its output"
        time.sleep(0.05)
    time.sleep(0.5)  # into the reading or the training
    return process


@pytest.fixture
def with_model(tmp_path: Path, pipeline: Path) -> Path:
    shutil.copytree(pipeline / "model", tmp_path / "model")
    shutil.copy(pipeline / "series.csv", tmp_path / "series.csv")
    return tmp_path


def test_sigterm_is_handled_like_ctrl_c(with_model: Path) -> None:
    before = (with_model / "model" / "manifest.json").read_bytes()
    process = start_long_training(with_model)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr.decode()  # the message says where the signal landed if not
    assert stderr.decode().splitlines()[-1] == "Error: terminated; nothing was written"
    assert stdout == b""
    assert sorted(p.name for p in with_model.iterdir()) == ["model", "series.csv"]
    assert (with_model / "model" / "manifest.json").read_bytes() == before


def test_leftovers_of_a_killed_run_are_swept_by_the_next(with_model: Path) -> None:
    before = (with_model / "model" / "manifest.json").read_bytes()
    process = start_long_training(with_model)
    process.kill()
    process.communicate(timeout=120)
    left = {p.name for p in with_model.iterdir() if p.name.startswith(".model")}
    staging = {p.name for p in with_model.glob(f".model.{process.pid}-*.tmp")}
    assert left == {".model.lock", *staging} and len(staging) == 1
    assert (with_model / "model" / "manifest.json").read_bytes() == before
    done = lstmcast("train", "series.csv", "-o", "model", "-q", *TINY_FLAGS, cwd=with_model)
    assert done.returncode == 0, done.stderr.decode()
    assert sorted(p.name for p in with_model.iterdir()) == ["model", "series.csv"]


def test_a_symlink_to_the_processs_stdout_is_written_through(pipeline: Path, tmp_path: Path) -> None:
    link = tmp_path / "out.csv"
    link.symlink_to("/proc/self/fd/1")
    done = lstmcast("predict", pipeline / "model", pipeline / "series.csv", "-o", link)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().startswith("time,step,y\n")
    assert link.is_symlink() and os.readlink(link) == "/proc/self/fd/1"


@pytest.mark.parametrize("stdout", ["full", "closed"])
def test_json_to_a_full_or_closed_stdout_keeps_the_old_model(with_model: Path, stdout: str) -> None:
    before = (with_model / "model" / "manifest.json").read_bytes()
    redirect = "> /dev/full" if stdout == "full" else ">&-"
    done = subprocess.run(
        f"{sys.executable} -m lstmcast train series.csv -o model -q --json {' '.join(TINY_FLAGS)} {redirect}",
        shell=True,
        cwd=with_model,
        capture_output=False,
        stderr=subprocess.PIPE,
        timeout=300,
    )
    assert done.returncode == 5
    assert done.stderr.decode().count("\n") == 1 and done.stderr.startswith(b"Error: standard output")
    assert (with_model / "model" / "manifest.json").read_bytes() == before
    assert sorted(p.name for p in with_model.iterdir()) == ["model", "series.csv"]


@pytest.mark.parametrize("stderr", ["2> /dev/full", "2>&-"])
def test_a_stderr_that_cannot_be_written_changes_no_exit_status(pipeline: Path, tmp_path: Path, stderr: str) -> None:
    """cron with `2>>log` on a full disk: a model that was written is exit 0, a data error still exit 3."""

    def run(command: str) -> int:
        return subprocess.run(
            f"{sys.executable} -m lstmcast {command} {stderr}", shell=True, cwd=pipeline, env=clean_env(), timeout=300
        ).returncode

    assert run(f"train series.csv -o {tmp_path / 'model'} {' '.join(TINY_FLAGS)}") == 0
    assert (tmp_path / "model" / "manifest.json").is_file()
    assert run(f"predict model {tmp_path / 'missing.csv'} -o {tmp_path / 'forecast.csv'}") == 3
    assert run(f"calibrate {tmp_path / 'model'} series.csv --level 50") == 0
    assert run("train series.csv --no-such-option") == 2  # Click's own usage error, shown by lstmcast


@pytest.mark.parametrize("command", ["--help", "--version", "train --help"])
def test_help_to_a_reader_that_left_is_exit_141_like_any_output(command: str) -> None:
    """`true` exits before lstmcast starts writing: the pipe is broken for the group's help as for a
    command's (Click alone made the group's exit 1, a failure a script could not tell apart)."""
    ran = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m lstmcast {command} | true; exit ${{PIPESTATUS[0]}}"],
        capture_output=True,
        timeout=60,
    )
    assert ran.returncode == 141, ran.stderr
    assert ran.stderr == b""


def test_help_that_cannot_be_written_is_an_output_error_not_a_traceback(tmp_path: Path) -> None:
    for command in ("--help", "--version", "train --help"):
        ran = subprocess.run(
            f"{sys.executable} -m lstmcast {command} > /dev/full", shell=True, capture_output=True, timeout=60
        )
        assert ran.returncode == 5, ran.stderr
        assert ran.stderr == b"Error: cannot write the output: No space left on device\n"
    for command in ("--help", "train --help"):  # a stdout opened for reading only
        ran = subprocess.run(
            f"{sys.executable} -m lstmcast {command} 1< /dev/null", shell=True, capture_output=False, timeout=60
        )
        assert ran.returncode == 5


def test_a_usage_error_with_stderr_closed_keeps_stdout_for_data(tmp_path: Path) -> None:
    """Click falls back to stdout when stderr is closed: the usage text would land in a pipeline's data."""
    ran = subprocess.run(
        f"{sys.executable} -m lstmcast train --no-such-option 2>&-",
        shell=True,
        capture_output=False,
        stdout=subprocess.PIPE,
        timeout=60,
    )
    assert ran.returncode == 2 and ran.stdout == b""


def test_debug_still_shows_a_commands_output_error_as_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine\n")
    sine_frame(n=200).to_csv(tmp_path / "series.csv", index=False)
    ran = subprocess.run(
        [sys.executable, "-m", "lstmcast", "--debug", "train", "series.csv", "-o", "notes.txt", *TINY_FLAGS],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )
    assert ran.returncode == 1, ran.stderr
    assert b"Traceback" in ran.stderr and b"OutputError: notes.txt: exists and is not a directory" in ran.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine\n"


def test_a_reader_that_leaves_mid_write_is_exit_141_under_pythonunbuffered(pipeline: Path) -> None:
    """PYTHONUNBUFFERED=1 (most container images) makes stdout a raw file, whose write takes what one
    write(2) takes: the rest of the report must not be dropped with exit 0 when the reader leaves."""
    flags = [*TINY_FLAGS, "--level=80", "--threshold=q0.9", "--folds=2", "--json", "-q"]
    process = subprocess.Popen(
        [sys.executable, "-m", "lstmcast", "backtest", "series.csv", *flags],
        cwd=pipeline,
        env={**clean_env(), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.read(1) == b"{"  # the report is over 64 KiB: the rest waits in one write
    process.stdout.close()
    with process.stderr:
        stderr = process.stderr.read()
    assert process.wait(timeout=300) == 141, stderr.decode()
    assert stderr == b""


def test_dev_stdout_appended_to_a_log_keeps_the_log(pipeline: Path, tmp_path: Path) -> None:
    log = tmp_path / "forecasts.log"
    log.write_text("yesterday\n")
    inode = log.stat().st_ino
    done = subprocess.run(
        f"{sys.executable} -m lstmcast predict {pipeline / 'model'} {pipeline / 'series.csv'} --format csv "
        f"-o /dev/stdout >> {log}",
        shell=True,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()
    lines = log.read_text().splitlines()
    assert lines[0] == "yesterday" and lines[1] == "time,step,y" and log.stat().st_ino == inode


def test_sigterm_during_tune_keeps_the_best_trial_and_exits_143(with_model: Path) -> None:
    flags = [flag for flag in TINY_FLAGS if not flag.startswith("--epochs")]
    grid = ["--grid", "hidden=2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", "--grid", "lr=0.001,0.002,0.003,0.004"]
    process = start_lstmcast("tune", "series.csv", "-o", "best", *flags, "--epochs", "3", *grid, cwd=with_model)
    assert process.stderr is not None
    for line in process.stderr:  # progress: one line per finished trial
        if line.startswith(b"trial 2/"):
            break
    else:
        raise AssertionError("the search ended before its second trial")
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr.decode()
    assert "the search was terminated at trial" in stderr.decode()
    assert (with_model / "best" / "manifest.json").is_file()


# What a command leaves imported: predict and info run a fitted model without torch or scikit-learn,
# which are what made every cron forecast pay seconds of imports; a clean CSV forecast without pandas.
IMPORTS_AFTER = """
import sys
from lstmcast.cli import cli
try:
    cli(sys.argv[1:], prog_name="lstmcast")
except SystemExit as exit:
    assert exit.code in (0, None), exit.code
heavy = ("torch", "sklearn", "scipy", "pandas")
sys.stderr.write("\\nimported:" + " ".join(sorted(n for n in heavy if n in sys.modules)))
"""


def heavy_imports(*args: object, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", IMPORTS_AFTER, *map(str, args)], capture_output=True, env=clean_env(), cwd=cwd
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stderr.decode().rpartition("imported:")[2]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("predict", "model", "series.csv", "-o", "forecast.csv"), ""),
        (("predict", "model", "series.csv"), ""),
        (("predict", "model", "series.csv", "-o", "forecast.parquet"), "pandas"),
        (("info", "model"), ""),
        (("info", "model", "--json"), ""),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else value or "nothing",
)
def test_predict_and_info_import_neither_torch_nor_scikit_learn(
    pipeline: Path, args: tuple[str, ...], expected: str
) -> None:
    assert heavy_imports(*args, cwd=pipeline) == expected


def test_evaluate_does_import_torch_so_the_check_can_fail(pipeline: Path) -> None:
    assert "torch" in heavy_imports("evaluate", "model", "series.csv", "-q", cwd=pipeline).split()


def test_with_stderr_closed_the_files_lstmcast_opens_do_not_take_its_place(tmp_path: Path) -> None:
    """`lstmcast ... 2>&-` (a daemon, a careless crontab): without a file held on descriptor 2, the
    first output lstmcast opens would be descriptor 2, and a native library's "stderr" write would
    land in it."""
    code = (
        "import os; from lstmcast.entry import hold_standard_descriptors; hold_standard_descriptors(); "
        f"print(os.open({str(tmp_path / 'first')!r}, os.O_CREAT | os.O_WRONLY))"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, preexec_fn=lambda: os.close(2), timeout=60
    )
    assert ran.returncode == 0
    assert ran.stdout == b"3\n"  # 0, 1 and 2 held: the file is the next one


def test_ctrl_c_while_the_cli_is_still_importing_is_exit_130_without_a_traceback() -> None:
    """The first tenth of a second goes to importing click, rich and pandas; an interrupt there must
    exit as any Ctrl-C does, not print a screenful of import frames."""
    code = (
        "import builtins\n"
        "real = builtins.__import__\n"
        "def interrupted(name, *args, **kwargs):\n"
        "    if name == 'lstmcast.cli':\n"
        "        raise KeyboardInterrupt\n"
        "    return real(name, *args, **kwargs)\n"
        "builtins.__import__ = interrupted\n"
        "from lstmcast.entry import main\n"
        "main()\n"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert ran.returncode == 130, ran.stderr
    assert ran.stderr == b"" and ran.stdout == b""
