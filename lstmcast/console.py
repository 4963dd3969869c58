"""Everything the CLI shows a person, on stderr: progress, tables, warnings and one-line errors.

stdout is never touched here: it carries data only. Exit codes are named once, in ``ExitCode``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from lstmcast.errors import (
    ArtifactError,
    ConfigError,
    DataError,
    LstmcastError,
    OutputError,
    TrainingError,
)

if TYPE_CHECKING:
    from lstmcast.train import EpochReport


class ExitCode(IntEnum):
    """What a script can tell from ``$?``."""

    OK = 0
    FAILURE = 1  # an unexpected internal error: a bug, please report it
    USAGE = 2  # bad command line or settings out of range
    DATA = 3  # the input data is missing, unreadable or invalid
    MODEL = 4  # the model directory is missing, corrupt or incompatible
    OUTPUT = 5  # an output cannot be written, or would replace something that is not ours
    TRAINING = 6  # training failed (for example the loss diverged)
    INTERRUPTED = 130  # Ctrl-C / SIGINT; nothing was written
    BROKEN_PIPE = 141  # the reader of stdout went away (e.g. `| head`)


_CODES: dict[type[LstmcastError], ExitCode] = {
    ConfigError: ExitCode.USAGE,
    DataError: ExitCode.DATA,
    ArtifactError: ExitCode.MODEL,
    OutputError: ExitCode.OUTPUT,
    TrainingError: ExitCode.TRAINING,
}


def exit_code_for(error: LstmcastError) -> ExitCode:
    for cls, code in _CODES.items():
        if isinstance(error, cls):
            return code
    return ExitCode.FAILURE


def make_console() -> Console:
    """A stderr console; rich itself honours NO_COLOR, TERM=dumb and non-terminals."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def print_error(console: Console, message: str) -> None:
    message = " ".join(message.split())  # one line, whatever the message carried
    console.print(f"[bold red]Error:[/] {message}", markup=True, highlight=False, soft_wrap=True)


def print_warning(console: Console, message: str) -> None:
    console.print(f"[yellow]Warning:[/] {message}", markup=True, highlight=False, soft_wrap=True)


def live_display_allowed(console: Console, quiet: bool) -> bool:
    """Animated progress only for a person at a real terminal."""
    return not quiet and console.is_terminal and not console.is_dumb_terminal


@contextlib.contextmanager
def epoch_progress(console: Console, enabled: bool, epochs: int) -> Iterator[Callable[[EpochReport], None]]:
    """A per-epoch progress display (loss, best, patience left); a no-op callback when disabled."""
    if not enabled:
        yield lambda report: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("epoch"),
        MofNCompleteColumn(),
        BarColumn(bar_width=24),
        TextColumn(
            "train [cyan]{task.fields[train]}[/]  val [cyan]{task.fields[val]}[/]  "
            "best [green]{task.fields[best]}[/]  patience {task.fields[patience]}"
        ),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("train", total=epochs, train="-", val="-", best="-", patience="-")

        def update(report: EpochReport) -> None:
            progress.update(
                task,
                completed=report.epoch,
                train=f"{report.train_loss:.4f}",
                val=f"{report.val_loss:.4f}",
                best=f"{report.best_val_loss:.4f} @{report.best_epoch}",
                patience=str(report.patience_left),
            )

        yield update


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


_LABELS = {"naive": "naive", "seasonal_naive": "seasonal naive", "ridge": "ridge"}


def metrics_table(console: Console, metrics: dict[str, Any], title: str, model_name: str = "lstmcast") -> None:
    """Model and baselines side by side with the model's skill against each; a second table for events."""
    if not metrics:
        console.print(
            f"{title}: none; no test origin to score (test_frac is 0, or the test part is shorter than "
            "the horizon plus the season)."
        )
        return
    rows = [(model_name, metrics, None)]
    for key, scores in metrics["baselines"].items():
        label = _LABELS.get(key, key) + (f" ({scores['season']})" if key == "seasonal_naive" else "")
        rows.append((label, scores, scores["skill"]))
    errors = Table(title=title, title_justify="left")
    for header in ("forecaster", "MSE", "RMSE", "MAE", "MSE scaled", "model skill"):
        errors.add_column(header, justify="left" if header == "forecaster" else "right")
    for name, scores, skill in rows:
        errors.add_row(name, *(_fmt(scores[k]) for k in ("mse", "rmse", "mae", "mse_scaled")), _fmt(skill))
    console.print(errors)
    console.print(_verdict(metrics, model_name))
    if "f1" in metrics:
        sign = ">" if metrics["event"] == "above" else "<"
        events = Table(title=f"Threshold events (value {sign} {metrics['threshold']:g})", title_justify="left")
        for header in ("forecaster", "precision", "recall", "F1", "TP", "FP", "FN", "TN"):
            events.add_column(header, justify="left" if header == "forecaster" else "right")
        for name, scores, _ in rows:
            events.add_row(name, *(_fmt(scores[k]) for k in ("precision", "recall", "f1", "tp", "fp", "fn", "tn")))
        console.print(events)


def _verdict(metrics: dict[str, Any], model_name: str) -> str:
    period = metrics.get("period")
    where = f" from {period['start']} to {period['end']}" if period else ""
    beaten = [_LABELS.get(k, k) for k, s in metrics["baselines"].items() if (s["skill"] or 0) > 0]
    lost = [_LABELS.get(k, k) for k, s in metrics["baselines"].items() if (s["skill"] or 0) <= 0]
    text = f"{metrics['n_origins']} forecast origins{where}. "
    if not lost:
        return text + f"[green]{model_name} beats every baseline.[/]"
    return (
        text
        + f"[yellow]{model_name} does not beat: {', '.join(lost)}.[/]"
        + (f" It beats: {', '.join(beaten)}." if beaten else "")
    )


def _describe_model(model: dict[str, Any]) -> str:
    parts = [f"{model['model']}: {model['layers']} layer(s) x {model['hidden']} hidden"]
    if model.get("bidirectional"):
        parts.append("bidirectional")
    if model.get("attention"):
        parts.append("attention")
    if model.get("conv_kernel"):
        parts.append(f"conv front-end (kernel {model['conv_kernel']})")
    parts.append(f"window norm {model.get('window_norm', 'none')}")
    parts.append(f"linear path {'on' if model.get('linear') else 'off'}")
    return ", ".join(parts)


def _describe_regularisation(model: dict[str, Any], train: dict[str, Any]) -> str:
    settings = {
        "dropout": model.get("dropout", 0),
        "input dropout": model.get("input_dropout", 0),
        "weight decay": train.get("weight_decay", 0),
        "l1": train.get("l1", 0),
        "grad clip": train.get("grad_clip", 0),
    }
    return ", ".join(f"{name} {value:g}" for name, value in settings.items() if value) or "none"


def _validation_gain(training: dict[str, Any]) -> str:
    """What training did to the validation MSE, from its starting point (epoch 0) to the best epoch."""
    start, best = training.get("start_val_mse"), training.get("val_mse")
    if start is None or best is None:
        return ""
    return f"; validation MSE {start:.4g} at the start, {best:.4g} at the best epoch"


def info_table(console: Console, manifest: dict[str, Any]) -> None:
    """A short description of a model directory."""
    config, columns, training = manifest["config"], manifest["columns"], manifest.get("training", {})
    model, window, train = config["model"], config["window"], config["train"]
    parts = training.get("parts", {})
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("model", _describe_model(model)),
        ("regularisation", _describe_regularisation(model, train)),
        ("target", columns["target"]),
        ("features", ", ".join(columns["features"]) or "-"),
        ("time column", columns["time"] or "- (row order)"),
        ("frequency", manifest.get("frequency") or "-"),
        ("lookback / horizon", f"{window['lookback']} / {window['horizon']}"),
        ("scaler", window["scaler"]),
        (
            "trained on",
            f"{training.get('source', '?')}: {training.get('rows', '?')} rows"
            + "".join(f"; {k} {v['rows']}" for k, v in parts.items()),
        ),
        (
            "epochs",
            f"best {training.get('best_epoch')} of {training.get('epochs_run')} run "
            f"(max {train['epochs']}, patience {train['patience']})" + _validation_gain(training),
        ),
        (
            "created",
            f"{manifest.get('created')} with lstmcast {manifest['versions']['lstmcast']}, "
            f"torch {manifest['versions']['torch']}",
        ),
    ]
    for key, value in rows:
        table.add_row(key, str(value))
    console.print(table)
    metrics_table(console, manifest.get("metrics") or {}, "Held-out test metrics")


def _setting(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value).lower() if isinstance(value, bool) else str(value)


def trial_line(trial: dict[str, Any], tuned: list[str], total: int) -> str:
    """One finished trial of ``tune`` as a line: its settings, then its validation MSE or why it has none."""
    settings = " ".join(f"{name}={_setting(trial[name])}" for name in tuned)
    head = f"trial {trial['trial']}/{total}  {settings}  "
    if trial["val_mse"] is None:
        return head + trial["status"]
    return (
        head + f"val_mse {trial['val_mse']:.4g}  best epoch {trial['best_epoch']} of {trial['epochs_run']}  "
        f"{trial['seconds']:.1f}s  {trial['status']}"
    )


def trials_table(console: Console, trials: list[dict[str, Any]], tuned: list[str], best: int) -> None:
    """The trials of ``tune``, in order, the best one marked with ``*``."""
    table = Table(title="Trials (ranked by validation MSE; the test part is not used)", title_justify="left")
    text = {name for name in tuned if all(isinstance(trial[name], (str, bool)) for trial in trials)}
    for header in ("", "trial", *tuned, "val_mse", "best epoch", "epochs", "seconds", "status"):
        table.add_column(header, justify="left" if header in {"", "status", *text} else "right")
    for trial in trials:
        marked = trial["trial"] == best
        table.add_row(
            "*" if marked else "",
            str(trial["trial"]),
            *(_setting(trial[name]) for name in tuned),
            *(_fmt(trial[key]) for key in ("val_mse", "best_epoch", "epochs_run")),
            f"{trial['seconds']:.1f}",
            trial["status"],
            style="bold" if marked else None,
        )
    console.print(table)
