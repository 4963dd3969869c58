"""Everything the CLI shows a person, on stderr: progress, tables, warnings and one-line errors.

stdout is never touched here: it carries data only. Exit codes are named once, in ``ExitCode``.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Callable, Iterator
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

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
    TERMINATED = 143  # SIGTERM, handled like Ctrl-C
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


# Bytes a terminal acts on instead of showing: C0 controls but tab and newline, DEL, C1 controls (ESC, CSI,
# OSC, BEL and CR among them), and the bidirectional overrides that make text read differently than it is.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

# Off a terminal nothing reads the width; rich would assume 80 columns and cut tables with "…".
_UNBOUNDED_WIDTH = 10_000


def literal(text: str) -> str:
    """``text`` with every terminal control character written out as an escape (``\\x1b``), so that a column
    name or a path read from a file is shown, never obeyed."""
    return _CONTROL.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class LiteralConsole(Console):
    """A rich Console that shows strings as they are: no markup, no emoji codes, control bytes escaped.

    Every string rich prints (``print``, table cells, titles, headers) goes through ``render_str``, so text
    from files (column names, paths, manifest fields) cannot restyle, link or crash the output, and cannot
    reach the terminal as control sequences. Our own colours come from styles and from ``Text`` built here,
    whose parts from files go through ``literal`` (rich does not pass a ``Text`` through ``render_str``).
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("markup", False)
        kwargs.setdefault("emoji", False)
        super().__init__(**kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(literal(text), **kwargs)


class _Stderr:
    """The file the console writes to: the process's stderr as it is at each write (a test runner swaps
    it), except that a write the stream refuses is dropped.

    stderr is for people. A full log disk (`2>>log`), a closed descriptor (`2>&-`) or a log reader that
    went away must neither turn a run whose outputs were written into a failure (exit 1, while `-o`
    was replaced) nor turn a data error's exit 3 into a crash: the exit status is what a script reads.
    """

    @staticmethod
    def _target() -> Any:
        target = sys.stderr
        return getattr(target, "rich_proxied_file", target)  # as rich resolves it under a live display

    @property
    def encoding(self) -> str:
        return getattr(self._target(), "encoding", None) or "utf-8"

    def write(self, text: str) -> int:
        with contextlib.suppress(AttributeError, OSError, ValueError):  # no stderr, or one that refuses
            self._target().write(text)
        return len(text)

    def flush(self) -> None:
        with contextlib.suppress(AttributeError, OSError, ValueError):
            self._target().flush()

    def isatty(self) -> bool:
        try:
            return bool(self._target().isatty())
        except (AttributeError, OSError, ValueError):
            return False

    def fileno(self) -> int:
        return int(self._target().fileno())


def make_console() -> LiteralConsole:
    """A stderr console; rich itself honours NO_COLOR, TERM=dumb and non-terminals. A stderr that cannot
    be written is ignored (see ``_Stderr``).

    Off a terminal (a pipe, a log file) lines are as wide as they need to be, unless COLUMNS says otherwise.
    """
    console = LiteralConsole(file=_Stderr(), stderr=True, highlight=False, soft_wrap=True)
    if not console.is_terminal and not os.environ.get("COLUMNS", "").isdigit():
        console.width = _UNBOUNDED_WIDTH
    return console


def _print_line(console: Console, label: str, style: str, message: str) -> None:
    """``label`` in ``style``, then ``message`` as one line of literal text, on any rich Console."""
    line = Text.assemble((label, style), " ", " ".join(literal(message).split()))
    console.print(line, highlight=False, soft_wrap=True)


def print_error(console: Console, message: str) -> None:
    _print_line(console, "Error:", "bold red", message)


def print_warning(console: Console, message: str) -> None:
    _print_line(console, "Warning:", "yellow", message)


def live_display_allowed(console: Console, quiet: bool) -> bool:
    """Animated progress only for a person at a real terminal."""
    return not quiet and console.is_terminal and not console.is_dumb_terminal


@contextlib.contextmanager
def epoch_progress(
    console: Console, enabled: bool, epochs: int, loss: str = "mse"
) -> Iterator[Callable[[EpochReport], None]]:
    """A per-epoch progress display (the training ``loss``, validation MSE, best, patience left); a
    no-op callback when disabled."""
    if not enabled:
        yield lambda report: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("epoch"),
        MofNCompleteColumn(),
        BarColumn(bar_width=24),
        TextColumn(
            f"train {loss.upper()} [cyan]{{task.fields[train]}}[/]  val MSE [cyan]{{task.fields[val]}}[/]  "
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


LINEAR_START = "linear_start"  # lstmcast.evaluation.LINEAR_START (that module imports pandas; info stays fast)


def _percent(value: float | None) -> str:
    """A share as a percentage, ``-`` where it is undefined (no point to count; a file may hold null)."""
    return "-" if value is None else f"{value:.1%}"


def _fmt_skill(value: float | None) -> str:
    """A skill, with float32 rounding shown as the 0 it is: a network kept at its linear start scores
    a few 1e-9 against it, which would read as a gain."""
    return "0" if value is not None and abs(value) < SKILL_NOISE else _fmt(value)


SKILL_NOISE = 1e-6  # below this, a skill is the float32 network's rounding, not a difference

_LABELS = {
    "naive": "naive",
    "seasonal_naive": "seasonal naive",
    "drift": "drift",
    "mean": "mean",
    "ridge": "ridge",
    LINEAR_START: "linear start",
}
# Within this share of the linear start's MSE, the network has added nothing over it (a tie, not a loss).
START_MARGIN = 0.001
_ERROR_COLUMNS = (
    ("MSE", "mse"),
    ("RMSE", "rmse"),
    ("MAE", "mae"),
    ("MAPE %", "mape"),
    ("sMAPE %", "smape"),
    ("MASE", "mase"),
    ("R²", "r2"),
)


def _baselines(metrics: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The report's baselines, without the network's own linear start (scored beside them, not one)."""
    return [(key, scores) for key, scores in metrics["baselines"].items() if key != LINEAR_START]


def _label(key: str, scores: dict[str, Any]) -> str:
    return _LABELS.get(key, key) + (f" ({scores['season']})" if key == "seasonal_naive" and "season" in scores else "")


def _rows(metrics: dict[str, Any], model_name: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(key, label, scores) for the model and then every baseline."""
    rows = [("model", model_name, metrics)]
    rows += [(key, _label(key, scores), scores) for key, scores in metrics["baselines"].items()]
    return rows


def metrics_table(
    console: Console,
    metrics: dict[str, Any],
    title: str,
    model_name: str = "lstmcast",
    replaced: tuple[str, ...] = (),
) -> None:
    """Model and baselines side by side with the model's skill against each (the best row marked with
    ``*``); then threshold events point by point and as events, when scored. ``replaced`` names what
    ``calibrate`` has refreshed since ``metrics`` were measured ("bands", "paths"): their scores are
    labelled as the training-time ones."""
    if not metrics:
        console.print(
            f"{title}: none; no test origin to score (test_frac is 0, or the test part is shorter than "
            "the horizon plus the season)."
        )
        return
    rows = _rows(metrics, model_name)
    # Reports saved before 0.4 do not name the best row; it is the same rule either way.
    best = metrics.get("best") or min(rows, key=lambda row: row[2]["mse"])[0]
    errors = Table(title=title, title_justify="left")
    errors.add_column("")
    errors.add_column("forecaster")
    for header, _ in _ERROR_COLUMNS:
        errors.add_column(header, justify="right")
    errors.add_column("model skill", justify="right")
    for key, label, scores in rows:
        marked = key == best
        cells = [_fmt(scores.get(name)) for _, name in _ERROR_COLUMNS]
        skill = "" if key == "model" else _fmt_skill(scores.get("skill"))
        errors.add_row("*" if marked else "", label, *cells, skill, style="bold" if marked else None)
    console.print(errors)
    console.print(_verdict(metrics, model_name))
    if metrics.get("mape_skipped"):
        console.print(f"MAPE skips the {metrics['mape_skipped']} forecast steps whose actual value is 0.")
    _event_tables(console, metrics, rows, replaced)
    _uncertainty_lines(console, metrics, replaced)


_SINCE = ", replaced by calibrate since"


def _event_tables(
    console: Console, metrics: dict[str, Any], rows: list[tuple[str, str, dict[str, Any]]], replaced: tuple[str, ...]
) -> None:
    """Threshold events point by point and as events, when scored; a note when their alerts came from
    error paths that ``calibrate`` has replaced since."""
    if "f1" in metrics:
        _pointwise_table(console, metrics, rows)
    if "event_f1" in metrics:
        _event_table(console, metrics, rows)
    if "paths" in replaced and metrics.get("alert_prob") is not None and ("f1" in metrics or "event_f1" in metrics):
        console.print(f"(The alerts scored above came from the training-time error paths{_SINCE}.)", markup=False)


def _uncertainty_lines(console: Console, metrics: dict[str, Any], replaced: tuple[str, ...]) -> None:
    """A sentence each for the interval bands, the quantiles and the event probabilities, labelled as
    training-time when ``calibrate`` has replaced what they scored."""
    since = _SINCE
    for scores in metrics.get("intervals", {}).values():
        label = f" (training-time band{since})" if "bands" in replaced else ""
        console.print(_interval_line(scores, label), markup=False)
    if metrics.get("quantiles", {}).get("levels"):
        label = f" (training-time corrections{since})" if "quantiles" in replaced else ""
        console.print(_quantile_line(metrics["quantiles"], label), markup=False)
    if "probabilities" in metrics:
        label = f" (training-time error paths{since})" if "paths" in replaced else ""
        console.print(_probability_line(metrics["probabilities"], label), markup=False)


def _probability_line(scores: dict[str, Any], label: str = "") -> str:
    """The event probabilities' Brier scores as a sentence."""

    def part(entry: dict[str, Any]) -> str:
        skill = entry.get("brier_skill")
        base = entry.get("base_rate")
        against = (
            f", skill {skill:.3f} against the base rate {base:.1%}" if skill is not None and base is not None else ""
        )
        return f"Brier {_fmt(entry['brier'])}{against}"

    line = (
        f"Event probabilities{label}: each step {part(scores['step'])}; any step of the horizon {part(scores['any'])}."
    )
    return line + _no_skill_warning(scores)


def _no_skill_warning(scores: dict[str, Any]) -> str:
    """A sentence when the probabilities do not beat always saying the base rate (a skill within
    ``SKILL_NOISE`` of 0, or below): their numbers alone look like any others'."""
    names = {"step": "each step", "any": "any step of the horizon"}
    failing = [
        names[kind]
        for kind in ("step", "any")
        if (skill := (scores.get(kind) or {}).get("brier_skill")) is not None and skill < SKILL_NOISE
    ]
    if not failing:
        return ""
    which = " and for ".join(failing)
    return (
        f" For {which} they do not beat always saying the base rate on these rows; look at their reliability "
        "(lstmcast plot MODEL DATA --reliability) before acting on prob."
    )


def _quantile_line(scores: dict[str, Any], label: str = "") -> str:
    """The quantiles' scores as a sentence: how often the actual value fell below each, and the losses."""
    below = ", ".join(f"{name} {_percent(entry['coverage'])}" for name, entry in scores["levels"].items())
    return (
        f"Quantiles{label}: actual values at or below {below}; pinball loss {_fmt(scores['pinball'])}, "
        f"CRPS {_fmt(scores['crps'])}."
    )


def _interval_line(scores: dict[str, Any], label: str = "") -> str:
    """One level's band scores as a sentence."""
    steps = scores["per_step_coverage"]
    spread = f" (steps {min(steps):.0%} to {max(steps):.0%})" if len(steps) > 1 else ""
    return (
        f"{scores['level']:g}% interval{label}: covers {_percent(scores['coverage'])} of actual values{spread}, "
        f"mean width {_fmt(scores['width'])}, interval score {_fmt(scores['interval_score'])}."
    )


def _threshold(scores: dict[str, Any]) -> str:
    """``value > 80``; for a model of many series with a quantile threshold, each series' own."""
    sign = ">" if scores["event"] == "above" else "<"
    if scores.get("threshold") is None:  # many series, each with its own training quantile
        return f"value {sign} each series' own q{scores['quantile']:g} of its training part"
    return f"value {sign} {scores['threshold']:.4g}"


def _offset_alert(scores: dict[str, Any]) -> str:
    """A tuned alert level of many series: one distance from each series' threshold, in its units."""
    sign = ">" if scores["event"] == "above" else "<"
    return f"alert when the forecast {sign} its series' threshold {scores['alert_offset']:+.3g} x the series' scale"


def _levels(metrics: dict[str, Any]) -> str:
    sign = ">" if metrics["event"] == "above" else "<"
    text = _threshold(metrics)
    alert = metrics.get("alert_level")
    if metrics.get("alert_offset") is not None and metrics.get("alert_prob") is None:
        return f"{text}; {_offset_alert(metrics)}"
    if metrics.get("alert_prob") is not None:
        return text + f"; alert when the probability of the event > {metrics['alert_prob']:g}"
    if "alert_prob" in metrics:  # alerts from probabilities that the pooled folds tuned each for itself
        return text + "; alert probabilities tuned fold by fold"
    if metrics.get("threshold") is None:  # many series, each alerting at its own quantile threshold
        # ...unless backtest folds tuned alert offsets that differ (one would be alert_offset, above)
        tuned = any((fold.get("events") or {}).get("alert_offset") is not None for fold in metrics.get("folds", []))
        return text + ("; alert levels tuned fold by fold" if tuned else "")
    if alert is None and metrics.get("event_f1") is not None and "alert_level" in metrics:
        return text + "; alert levels tuned fold by fold"
    if alert is not None and alert != metrics["threshold"]:
        text += f"; alert when the forecast {sign} {alert:.4g}"
    return text


def _pointwise_table(console: Console, metrics: dict[str, Any], rows: list[tuple[str, str, dict[str, Any]]]) -> None:
    table = Table(title=f"Threshold events, step by step ({_levels(metrics)})", title_justify="left")
    for header in ("forecaster", "precision", "recall", "F1", "TP", "FP", "FN", "TN"):
        table.add_column(header, justify="left" if header == "forecaster" else "right")
    for _, label, scores in rows:
        table.add_row(label, *(_fmt(scores.get(k)) for k in ("precision", "recall", "f1", "tp", "fp", "fn", "tn")))
    console.print(table)


def _event_table(console: Console, metrics: dict[str, Any], rows: list[tuple[str, str, dict[str, Any]]]) -> None:
    tolerance = metrics.get("tolerance", 0)
    title = (
        f"Threshold events as events: {metrics['actual_events']} happened "
        f"(tolerance {tolerance} step{'' if tolerance == 1 else 's'})"
    )
    table = Table(title=title, title_justify="left")
    headers = ("forecaster", "forecast events", "matched", "precision", "recall", "F1", "mean lead")
    for header in headers:
        table.add_column(header, justify="left" if header == "forecaster" else "right")
    keys = ("predicted_events", "matched_events", "event_precision", "event_recall")
    for _, label, scores in rows:
        lead = scores.get("mean_lead_time")
        table.add_row(
            label,
            *(_fmt(scores.get(k)) for k in keys),
            _fmt(scores.get("event_f1")),
            "-" if lead is None else f"{lead:.3g} step{'' if lead == 1 else 's'}",
        )
    console.print(table)


def _describe_events(events: dict[str, Any]) -> str:
    sign = ">" if events["event"] == "above" else "<"
    given = events.get("quantile") is not None and events["threshold"] is not None
    quantile = f" (the training part's q{events['quantile']:g})" if given else ""
    text = f"{_threshold(events)}{quantile}; "
    if events.get("alert_prob") is not None:
        text += f"alerts when the probability of the event > {events['alert_prob']:g}"
    elif events.get("alert_offset") is not None:
        text += _offset_alert(events).replace("alert when", "alerts when")
    elif events["alert_level"] is None:  # many series, each alerting at its own threshold
        text += f"alerts when the forecast {sign} its series' threshold"
    else:
        text += f"alerts when the forecast {sign} {events['alert_level']:.4g}"
    tuning = events.get("alert_level_tuning")
    if tuning:
        text += (
            f", tuned on the validation part (event F1 {_fmt(tuning['event_f1'])} there; "
            f"{_fmt(tuning['threshold_f1'])} at the threshold itself)"
        )
    tuning = events.get("alert_prob_tuning")
    if tuning:
        text += (
            f", tuned on the validation part (event F1 {_fmt(tuning.get('event_f1'))} there, each origin's "
            f"probability without the error paths near it; {_fmt(tuning.get('even_odds_f1'))} at 0.5)"
        )
    tolerance = events.get("tolerance", 0)
    return text + (f"; tolerance {tolerance} step{'' if tolerance == 1 else 's'}" if tolerance else "")


def alert_level_note(console: Console, events: dict[str, Any]) -> None:
    """Say which threshold and alert level the model keeps, and how the alert level was chosen."""
    console.print(f"Events: {_describe_events(events)}.", markup=False)


def fold_line(result: Any) -> str:
    """One finished backtest fold as a line of progress."""
    record, metrics = result.record, result.record["metrics"]
    how = (
        f"trained on {record['train_rows']} rows, best epoch {record['best_epoch']} of {record['epochs_run']}"
        if result.trained
        else "the first fold's model"
    )
    best = min(_baselines(metrics), key=lambda item: item[1]["mse"])
    return (
        f"fold {result.fold.number}/{result.folds}  {record['test_start']} .. {record['test_end']}  {how}  "
        f"RMSE {metrics['rmse']:.4g} ({_label(*best)} {best[1]['rmse']:.4g})"
    )


def backtest_tables(console: Console, report: dict[str, Any], title: str) -> None:
    """Every fold's scores, then the pooled report like ``evaluate``'s."""
    settings = report["backtest"]
    folds = Table(
        title=f"{title}: {settings['folds']} folds over the last {settings['test_rows']} rows"
        + ("" if settings["retrain"] else " (one model, trained before the first fold)"),
        title_justify="left",
    )
    headers = ("fold", "test from", "test to", "train rows", "best epoch", "RMSE", "best baseline", "its RMSE")
    for header in headers:
        folds.add_column(header, justify="left" if header in {"test from", "test to", "best baseline"} else "right")
    for record in report["folds"]:
        metrics = record["metrics"]
        name, scores = min(_baselines(metrics), key=lambda item: item[1]["mse"])
        folds.add_row(
            str(record["fold"]),
            str(record["test_start"]),
            str(record["test_end"]),
            str(record["train_rows"]),
            _fmt(record["best_epoch"]),
            _fmt(metrics["rmse"]),
            _label(name, scores),
            _fmt(scores["rmse"]),
        )
    console.print(folds)
    metrics_table(console, report, f"{title}: every fold pooled")


def _verdict(metrics: dict[str, Any], model_name: str) -> Text:
    """Which baselines the model beats, then what the network added over its linear start."""
    period = metrics.get("period")
    where = f" from {period['start']} to {period['end']}" if period else ""
    baselines = _baselines(metrics)
    # A skill within float32 rounding of 0 (shown as 0) is a tie, not a win.
    beaten = [_LABELS.get(k, k) for k, s in baselines if (s["skill"] or 0) >= SKILL_NOISE]
    lost = [_LABELS.get(k, k) for k, s in baselines if (s["skill"] or 0) < SKILL_NOISE]
    verdict = Text(literal(f"{metrics['n_origins']} forecast origins{where}. "))
    if not lost:
        verdict.append(literal(f"{model_name} beats every baseline."), style="green")
    else:
        verdict.append(literal(f"{model_name} does not beat: {', '.join(lost)}."), style="yellow")
        verdict.append(literal(f" It beats: {', '.join(beaten)}." if beaten else ""))
    start = metrics["baselines"].get(LINEAR_START)
    if start is None:
        return verdict
    what = "these series" if "series" in metrics else "this series"  # a model of many series lists them
    return verdict.append(_start_sentence(metrics["mse"], start, what))


def _start_sentence(mse: float | None, start: dict[str, Any], what: str = "this series") -> str:
    """What training added over the network's linear start, from the model's skill against it (1 minus
    the ratio of their MSEs): an improvement, nothing (within ``START_MARGIN``), or a loss; nothing
    when neither the skill nor the model's MSE is known (a file may hold null scores)."""
    gain = start.get("skill")
    if gain is None:  # the start forecast these rows without error: no ratio to give
        if mse is None:
            return ""
        if mse > 0:
            return " The network is worse than its linear start, which forecasts these rows without error."
        gain = 0.0
    if gain > START_MARGIN:
        return f" The network improves on its linear start by {gain:.1%} (MSE)."
    if gain >= -START_MARGIN:
        return (
            f" The network adds nothing over its linear start here (MSE within {START_MARGIN:.1%}); "
            f"a linear model forecasts {what} as well."
        )
    return f" The network is {-gain:.1%} worse than its linear start on these rows (MSE)."


def _describe_model(model: dict[str, Any]) -> str:
    parts = [f"{model['model']}: {model['layers']} layer(s) x {model['hidden']} hidden"]
    if model.get("bidirectional"):
        parts.append("bidirectional")
    if model.get("attention"):
        parts.append("attention")
    if model.get("conv_kernel"):
        parts.append(f"conv front-end (kernel {model['conv_kernel']})")
    if model.get("segment"):
        parts.append(f"segments of {model['segment']} steps")
    parts.append(f"window norm {model.get('window_norm', 'none')}")
    parts.append(f"linear path {'on' if model.get('linear') else 'off'}")
    if model.get("ensemble", 1) > 1:
        parts.append(f"mean of {model['ensemble']} networks")
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
    calibration = manifest.get("calibration") or {}
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
        ("season", manifest.get("season", "-")),
        *_panel_rows(manifest),
        ("events", _describe_events(manifest["events"]) if manifest.get("events") else "-"),
        ("intervals", _describe_intervals(manifest["intervals"], calibration) if manifest.get("intervals") else "-"),
        *([("calibrated", _describe_calibration(calibration))] if calibration else []),
        ("quantiles", _describe_quantiles(manifest, training, calibration) if manifest.get("quantiles") else "-"),
        ("scaler", window["scaler"]),
        (
            "trained on",
            f"{training.get('source', '?')}: {training.get('rows', '?')} rows"
            + "".join(f"; {k} {v['rows']}{_part_span(v)}" for k, v in parts.items()),
        ),
        (
            "epochs",
            f"best {training.get('best_epoch')} of {training.get('epochs_run')} run "
            f"(max {train['epochs']}, patience {train['patience']}; {train.get('loss', 'mse').upper()} loss, "
            f"lr {train['lr']:g}, batch {train['batch_size']})"
            + _validation_gain(training)
            + (
                f"; {training['threads']} CPU thread{'s' * (training['threads'] != 1)}" if "threads" in training else ""
            ),
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
    refreshed = (("bands", "levels"), ("paths", "paths"), ("quantiles", "quantiles"))  # what, calibration's key
    replaced = tuple(what for what, key in refreshed if calibration.get(key))
    metrics_table(console, manifest.get("metrics") or {}, "Held-out test metrics", replaced=replaced)
    if "series" in (manifest.get("metrics") or {}):  # a model of many series: what train said after the table
        panel_note(console, manifest["metrics"], training)


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


# -- tune ------------------------------------------------------------------------------------------


def announce_search(console: Console, plan: Any, n_random: int | None, budget: str | None) -> None:
    """The line before a search: how many settings it will try, and its budget."""
    if n_random is not None and plan.strategy == "grid":
        console.print(
            f"--random {n_random} covers the whole grid ({plan.grid_size} settings): running each once instead."
        )
    count = len(plan.settings)
    plural = "" if count == 1 else "s"
    what = f"combination{plural} of the grid" if plan.strategy == "grid" else f"random setting{plural}"
    console.print(f"Tuning: {count} {what}" + (f", budget {budget}." if budget else "."))


def print_trial(console: Console, tuned: list[str], total: int, trial: Any) -> None:
    """One finished trial, as a line."""
    console.print(trial_line(trial.to_dict(), tuned, total), markup=False)


def search_report(console: Console, result: Any, model_dir: str, budget: str | None) -> None:
    """After a search: the trials table, why it stopped, where the best went and its test metrics."""
    records = result.to_dict()["trials"]
    trials_table(console, records, list(result.plan.space), result.best_trial)
    if result.stopped == "budget":
        cut = " (the last cut short)" if records[-1]["status"] == "budget" else ""
        console.print(f"The budget ({budget}) ran out after {len(records)} of {len(result.plan.settings)} trials{cut}.")
    console.print(
        f"Saved the best model (trial {result.best_trial}, val_mse {result.best.val_mse:.4g}) to {model_dir}."
    )
    metrics_table(console, result.test_metrics, "Held-out test metrics of the best trial")


def _part_span(part: dict[str, Any]) -> str:
    """`` (from START to END)`` for a part of the split with times (where calibrate's rows start), else ""."""
    start, end = part.get("start"), part.get("end")
    if not isinstance(start, str) or not isinstance(end, str):
        return ""
    return f" ({start} to {end})"


def _describe_quantiles(manifest: dict[str, Any], training: dict[str, Any], calibration: dict[str, Any]) -> str:
    quantiles = manifest["quantiles"]
    levels = ", ".join(f"{level:g}" for level in quantiles["levels"])
    head = training.get("quantile_head") or {}
    trained = (
        f"; head kept epoch {head['best_epoch']} of {head['epochs_run']}, validation pinball "
        f"{_fmt(head['start_val_pinball'])} at the start, {_fmt(head['val_pinball'])} kept"
        if head
        else ""
    )
    source = (
        f"recalibrated from {quantiles['calibration']} forecast origins"
        if calibration.get("quantiles")
        else f"calibrated on {quantiles['calibration']} validation origins"
    )
    return f"{levels} (quantile head, {source}{trained})"


def _describe_intervals(intervals: dict[str, Any], calibration: dict[str, Any]) -> str:
    levels = ", ".join(f"{level:g}%" for level in intervals["levels"])
    if calibration.get("levels"):  # the bands are calibrate's, not training's
        return f"{levels} (conformal, recalibrated from {intervals['calibration']:,} forecast origins)"
    return f"{levels} (conformal, from {intervals['calibration']} validation origins)"


def _describe_calibration(calibration: dict[str, Any]) -> str:
    """When the last ``lstmcast calibrate`` ran, what it replaced, and from which rows."""
    replaced = []
    if calibration.get("levels"):
        replaced.append("the " + ", ".join(f"{level:g}%" for level in calibration["levels"]) + " bands")
    if calibration.get("paths"):
        replaced.append(f"the event error paths ({calibration['paths']:,})")
    if calibration.get("quantiles"):
        replaced.append("the corrections of quantiles " + ", ".join(f"{level:g}" for level in calibration["quantiles"]))
    text = (
        f"{calibration.get('at', '?')}: {' and '.join(replaced) or 'nothing'} taken again from "
        f"{calibration['origins']:,} forecast origins of {calibration.get('source', '?')}"
    )
    details = []
    if calibration.get("period"):
        details.append(f"{calibration['period']['start']} to {calibration['period']['end']}")
    if calibration.get("since") is not None:
        details.append(f"--since {calibration['since']}")
    if calibration.get("half_life") is not None:
        details.append(f"--half-life {calibration['half_life']:g}")
    if calibration.get("last") is not None:
        details.append(f"--last {calibration['last']}")
    if calibration.get("in_sample_origins"):
        details.append(f"{calibration['in_sample_origins']:,} on rows training saw")
    return text + (f" ({'; '.join(details)})" if details else "")


def _panel_rows(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """The info row of a model of many series (none for one series)."""
    panel = manifest.get("panel")
    if not panel:
        return []
    zone = panel.get("time_zone")  # which clock the stored training ends are on (models since format 8)
    where = f"; training times in {zone}" if zone else ""
    return [("series", f"{panel['series']} (id column {manifest['config']['data'].get('id_col')}{where})")]


def panel_note(
    console: Console, metrics: dict[str, Any], training: dict[str, Any], scored: str = "the test parts of"
) -> None:
    """After scoring many series: what the pooled table means (``scored`` says what of each series was
    scored), and the series that fares worst."""
    fitted, total = training.get("series_fitted"), training.get("series")
    # Why each was left out (too short, flat over its training rows) the warnings have said.
    left_out = f" ({total - fitted} more left out)" if fitted != total else ""
    console.print(f"Pooled over {scored} {fitted} series, each in its own scaled units{left_out}.", markup=False)
    worst = next((row for row in metrics.get("series", []) if row["id"] == metrics.get("worst_series")), None)
    if worst is not None and worst.get("skill") is not None:
        console.print(
            f"Worst against ridge: {worst['id']!r} (skill {worst['skill']:.3f}, MSE {worst['mse']:.4g}).", markup=False
        )
