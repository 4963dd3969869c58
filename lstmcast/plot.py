"""Charts of a forecast, a training history and a backtest, written as PNG files.

Figures are built with matplotlib's object API on the Agg canvas, never pyplot: nothing global is
touched (no current figure, no backend switch, no rcParams), nothing needs a display, and a
notebook's own pyplot setup is left alone. matplotlib is an optional dependency
(``pip install 'lstmcast[plot]'``), imported only when a plot is drawn, so ``import lstmcast.plot``
works without it.

Every function writes exactly ``size`` pixels (width, height) at 100 dpi, atomically: a failed
render leaves neither a partial file nor a temporary one behind.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from lstmcast.config import EVENTS
from lstmcast.errors import ConfigError
from lstmcast.events import comparison, event_runs
from lstmcast.outputs import Output
from lstmcast.write import write_bytes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

__all__ = ["plot_backtest", "plot_forecast", "plot_history", "require_matplotlib"]

DPI = 100
DEFAULT_SIZE = (1200, 600)
MIN_SIZE = (200, 150)  # below this the axes collapse and constrained layout gives up with a warning
MAX_SIZE = (8000, 8000)  # 256 MB of RGBA pixels; larger images exhaust memory before they fail
NARROW = 900  # pixels; narrower figures put every legend under the axes
LEGEND_COLUMN = 220  # pixels per legend column when the legend sits under the axes
LOG_SCALE_RATIO = 20  # losses spanning more than this factor are unreadable on a linear axis
MISSING_MATPLOTLIB = "plotting needs matplotlib, which is not installed: pip install 'lstmcast[plot]'"

# Colours from matplotlib's default cycle, fixed so a series keeps its colour from plot to plot.
OBSERVED, FORECAST, EVENT, ALERT_LEVEL, ORIGIN = "C0", "C1", "C3", "C4", "0.35"
MODEL_COLOUR = "black"
BASELINE_COLOURS = ("C0", "C1", "C2", "C4", "C5", "C6", "C7", "C8", "C9")
BASELINE_DASHES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)))


class _Matplotlib(NamedTuple):
    Figure: type[Figure]
    FigureCanvasAgg: type[FigureCanvasAgg]
    Line2D: type[Line2D]
    dates: ModuleType
    ticker: ModuleType


def _matplotlib() -> _Matplotlib:
    """The parts of matplotlib we use, imported on first use because the dependency is optional."""
    try:
        from matplotlib import dates, ticker
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
    except ImportError as exc:
        raise ConfigError(MISSING_MATPLOTLIB) from exc
    return _Matplotlib(Figure, FigureCanvasAgg, Line2D, dates, ticker)


def require_matplotlib() -> None:
    """Raise ConfigError now if matplotlib is missing, so a command fails before its slow work, not after."""
    _matplotlib()


# --- shared plumbing -------------------------------------------------------------------------------


def _checked_size(size: Sequence[int]) -> tuple[int, int]:
    if len(size) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in size):
        raise ConfigError(f"plot size must be two whole numbers of pixels (width, height), not {size!r}")
    width, height = int(size[0]), int(size[1])
    if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        raise ConfigError(f"plot size {width}x{height} is too small; use at least {MIN_SIZE[0]}x{MIN_SIZE[1]} pixels")
    if width > MAX_SIZE[0] or height > MAX_SIZE[1]:
        raise ConfigError(f"plot size {width}x{height} is too large; use at most {MAX_SIZE[0]}x{MAX_SIZE[1]} pixels")
    return width, height


def check_size(size: Sequence[int]) -> tuple[int, int]:
    """The (width, height) of a plot, checked before any work: ``ConfigError`` when out of range."""
    return _checked_size(size)


def _new_figure(mpl: _Matplotlib, size: Sequence[int]) -> Figure:
    width, height = _checked_size(size)
    # Constrained layout fits titles, labels and outside legends without changing the canvas size.
    figure = mpl.Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")
    mpl.FigureCanvasAgg(figure)
    return figure


def _save_png(figure: Figure, dest: str | Path | Output) -> None:
    """Render the PNG in memory, then write it to a path or fill an output reserved by the caller."""
    buffer = io.BytesIO()
    # The whole-figure box overrides a user's rcParams["savefig.bbox"] = "tight", which would change the size.
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches=figure.bbox_inches)
    if isinstance(dest, Output):
        dest.set(buffer.getvalue())
    else:
        write_bytes(buffer.getvalue(), dest)


def _as_float(value: Any) -> float:
    """A number from a report, or NaN for anything missing or not numeric, so one bad entry is skipped."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _add_grid(ax: Axes) -> None:
    ax.grid(True, color="0.88", linewidth=0.8)
    ax.set_axisbelow(True)


def _add_legend(figure: Figure, handles: list[Any], labels: list[str], below: bool = False) -> None:
    """A legend outside the axes, so it can never hide data however the series move."""
    if not handles:
        return
    width = int(figure.get_figwidth() * DPI)
    # A column on the right suits one wide panel; under the axes suits side-by-side panels and narrow figures.
    if below or width < NARROW:
        columns = max(1, min(len(handles), width // LEGEND_COLUMN))
        figure.legend(handles, labels, loc="outside lower center", ncols=columns, frameon=False)
    else:
        figure.legend(handles, labels, loc="outside right upper", frameon=False)


# --- forecast --------------------------------------------------------------------------------------


def _beyond(values: pd.Series, level: float, event: str) -> np.ndarray:
    """Strictly beyond ``level`` in the event's direction; missing values never count."""
    return comparison(event)(values.to_numpy(dtype=float, na_value=np.nan), level)


def _half_step(index: pd.Index) -> Any:
    """Half the typical spacing of ``index``, so a one-row event still shades a visible band."""
    step = pd.Series(index).diff().median()
    if pd.isna(step):
        return pd.Timedelta(0) if isinstance(index, pd.DatetimeIndex) else 0
    return step / 2


def _non_empty(*series: pd.Series | None) -> list[pd.Series]:
    return [s for s in series if s is not None and len(s)]


def _check_forecast_inputs(history: pd.Series, forecast: pd.Series, actual: pd.Series | None, event: str) -> bool:
    """Whether the x axis is time; raises when the inputs cannot share one axis."""
    if event not in EVENTS:
        raise ConfigError(f"event must be one of {', '.join(EVENTS)}, not {event!r}")
    kinds = {isinstance(s.index, pd.DatetimeIndex) for s in _non_empty(history, forecast, actual)}
    if len(kinds) > 1:
        raise ConfigError("history, forecast and actual must all have a DatetimeIndex or all have row numbers")
    return kinds == {True}


def _joined(last: pd.Series, follow: pd.Series) -> tuple[pd.Index, np.ndarray]:
    """``follow`` prefixed with the last history point, so the line starts where history ends."""
    index = last.index.append(follow.index)
    values = np.concatenate([last.to_numpy(dtype=float), follow.to_numpy(dtype=float, na_value=np.nan)])
    return index, values


def _draw_series(ax: Axes, history: pd.Series, forecast: pd.Series, actual: pd.Series | None) -> None:
    last = history.iloc[-1:]
    ax.plot(history.index, history.to_numpy(dtype=float, na_value=np.nan), color=OBSERVED, label="history")
    if len(last):
        ax.axvline(last.index[0], color=ORIGIN, linestyle=":", linewidth=1.2, label="forecast origin")
    if actual is not None and len(actual):
        x, y = _joined(last, actual)
        ax.plot(x, y, color=OBSERVED, linestyle="--", label="actual")
    if len(forecast):
        x, y = _joined(last, forecast)
        marked = list(range(len(last), len(y)))  # no marker on the borrowed history point
        ax.plot(x, y, color=FORECAST, linewidth=2, marker="o", markersize=4, markevery=marked, label="forecast")


def _draw_bands(ax: Axes, bands: Mapping[float, tuple[pd.Series, pd.Series]]) -> None:
    """Each level's band as a shaded area behind the forecast; wider bands paler."""
    for rank, level in enumerate(sorted(bands, reverse=True)):
        low, high = bands[level]
        alpha = 0.14 + min(0.14, 0.7 / len(bands)) * rank  # darker inward, never past 0.84 (8 levels, 9 pairs)
        ax.fill_between(
            low.index,
            low.to_numpy(dtype=float),
            high.to_numpy(dtype=float),
            color=FORECAST,
            alpha=alpha,
            linewidth=0,
            zorder=1,
            label=f"{level:g}% interval",
        )


def _draw_levels(ax: Axes, threshold: float | None, alert_level: float | None, event: str) -> None:
    if threshold is not None:
        ax.axhline(threshold, color=EVENT, linestyle="-.", linewidth=1.2, label=f"threshold {threshold:g} ({event})")
    if alert_level is not None and alert_level != threshold:
        ax.axhline(alert_level, color=ALERT_LEVEL, linestyle="--", linewidth=1.2, label=f"alert level {alert_level:g}")


def _shade_events(ax: Axes, observed: pd.Series, threshold: float, event: str, half_step: Any) -> None:
    label = "actual events"
    for first, last in event_runs(_beyond(observed, threshold, event)):
        start, stop = observed.index[first] - half_step, observed.index[last] + half_step
        ax.axvspan(start, stop, color=EVENT, alpha=0.13, linewidth=0, zorder=0, label=label)
        label = "_nolegend_"  # one legend entry for all the spans


def _mark_alerts(ax: Axes, forecast: pd.Series, level: float, event: str, hits: np.ndarray | None = None) -> None:
    hits = _beyond(forecast, level, event) if hits is None else hits
    if hits.any():
        marker = "^" if event == "above" else "v"
        ax.scatter(
            forecast.index[hits],
            forecast.to_numpy(dtype=float, na_value=np.nan)[hits],
            s=70,
            marker=marker,
            color=EVENT,
            edgecolors="white",
            linewidths=0.8,
            zorder=5,
            label="forecast alerts",
        )


def _format_x(ax: Axes, mpl: _Matplotlib, is_time: bool) -> None:
    if is_time:
        locator = mpl.dates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mpl.dates.ConciseDateFormatter(locator))
        ax.set_xlabel("time")
    else:
        ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
        ax.set_xlabel("row")


def _series_name(*series: pd.Series | None) -> str:
    for s in series:
        if s is not None and isinstance(s.name, str) and s.name:
            return s.name
    return ""


def plot_forecast(
    path: str | Path | Output,
    history: pd.Series,
    forecast: pd.Series,
    actual: pd.Series | None = None,
    *,
    threshold: float | None = None,
    event: str = "above",
    alert_level: float | None = None,
    title: str = "",
    size: tuple[int, int] = DEFAULT_SIZE,
    bands: Mapping[float, tuple[pd.Series, pd.Series]] | None = None,
    alerts: pd.Series | None = None,
) -> None:
    """Draw a forecast after the history it continues, and write it to ``path`` as a PNG.

    ``bands`` (level in percent -> low and high, indexed like ``forecast``) are shaded around the
    forecast, the widest palest. ``alerts`` (True per forecast step), where given, are the steps marked
    as alerts instead of those beyond the level (a model that alerts from the event's probability).

    Draws the history (solid), the forecast (joined to the last history point, with markers),
    the actual values over the forecast steps when known (dashed), a dotted line at the forecast
    origin, and with a ``threshold``: the threshold line, the ``alert_level`` line when it differs,
    shaded spans over runs of observed rows beyond the threshold ("actual events") and markers on
    forecast points beyond the alert level, else the threshold ("forecast alerts"). "Beyond" is
    strict: with ``event="above"`` a value counts when it is greater than the level.
    """
    is_time = _check_forecast_inputs(history, forecast, actual, event)
    mpl = _matplotlib()
    figure = _new_figure(mpl, size)
    ax = figure.add_subplot()
    _draw_bands(ax, bands or {})
    _draw_series(ax, history, forecast, actual)
    _draw_levels(ax, threshold, alert_level, event)
    if threshold is not None:
        observed = _non_empty(history, actual)
        if observed:
            everything = pd.concat(_non_empty(history, actual, forecast)).index
            _shade_events(ax, pd.concat(observed), threshold, event, _half_step(everything))
    level = alert_level if alert_level is not None else threshold
    if alerts is not None and len(forecast):
        _mark_alerts(ax, forecast, level if level is not None else 0.0, event, alerts.to_numpy(dtype=bool))
    elif level is not None and len(forecast):
        _mark_alerts(ax, forecast, level, event)
    name = _series_name(history, forecast, actual)
    ax.set_title(title or (f"Forecast of {name}" if name else "Forecast"))
    ax.set_ylabel(name or "value")
    _format_x(ax, mpl, is_time)
    _add_grid(ax)
    _add_legend(figure, *ax.get_legend_handles_labels())
    _save_png(figure, path)


# --- training history ------------------------------------------------------------------------------


def _loss_curve(rows: Iterable[Mapping[str, Any]], key: str) -> tuple[list[int], list[float]]:
    points = [(int(row["epoch"]), _as_float(row.get(key))) for row in rows if "epoch" in row]
    kept = [(epoch, loss) for epoch, loss in points if math.isfinite(loss)]
    return [epoch for epoch, _ in kept], [loss for _, loss in kept]


def _wants_log_scale(losses: Sequence[float]) -> bool:
    positive = [loss for loss in losses if loss > 0]
    return len(positive) > 1 and max(positive) / min(positive) > LOG_SCALE_RATIO


def _mark_best_epoch(ax: Axes, best_epoch: int, val: tuple[list[int], list[float]], start: float) -> None:
    """A line and a marker at the epoch whose weights were kept (epoch 0: the starting weights)."""
    label = f"early-stopping point: best epoch {best_epoch}"
    if best_epoch == 0:
        label += "\n(starting weights kept)"
    ax.axvline(best_epoch, color=EVENT, linestyle=":", linewidth=1.2)
    loss = start if best_epoch == 0 else dict(zip(*val, strict=True)).get(best_epoch, math.nan)
    if math.isfinite(loss):
        ax.plot([best_epoch], [loss], linestyle="none", marker="*", markersize=14, color=EVENT, label=label)
    else:
        ax.plot([], [], color=EVENT, linestyle=":", label=label)  # the line alone still gets its legend entry


def _use_log_scale(ax: Axes, mpl: _Matplotlib, losses: Sequence[float]) -> None:
    ax.set_yscale("log")
    # Plain numbers (0.2, 1) rather than powers of ten: a loss is read off this axis.
    plain = mpl.ticker.FuncFormatter(lambda value, _: f"{value:g}")
    ax.yaxis.set_major_formatter(plain)
    positive = [loss for loss in losses if loss > 0]
    if max(positive) / min(positive) <= 1000:  # over a few decades, one label per decade is too few to read values
        ax.yaxis.set_minor_locator(mpl.ticker.LogLocator(subs=(2.0, 5.0)))
        ax.yaxis.set_minor_formatter(plain)


def plot_history(
    path: str | Path | Output,
    history: list[dict[str, float]],
    best_epoch: int,
    *,
    start_val_loss: float | None = None,
    title: str = "",
    size: tuple[int, int] = DEFAULT_SIZE,
) -> None:
    """Draw the training and validation loss per epoch, and write it to ``path`` as a PNG.

    ``history`` rows look like ``{"epoch": 1, "train_loss": 0.52, "val_loss": 0.61}``. A line and
    a star mark ``best_epoch``, the early-stopping point. ``start_val_loss`` (the validation loss
    before training) starts the validation curve at epoch 0; when ``best_epoch`` is 0 those
    starting weights were kept, and the star sits on it. The y axis is logarithmic when the
    losses span more than a factor of 20.
    """
    mpl = _matplotlib()
    figure = _new_figure(mpl, size)
    ax = figure.add_subplot()
    train = _loss_curve(history, "train_loss")
    val = _loss_curve(history, "val_loss")
    start = _as_float(start_val_loss)
    if math.isfinite(start):
        val = ([0, *val[0]], [start, *val[1]])
    few = len(history) <= 40  # markers on every epoch only while they do not merge into a smear
    ax.plot(*train, color=OBSERVED, marker="o" if few else None, markersize=3.5, label="train loss")
    ax.plot(*val, color=FORECAST, marker="o" if few else None, markersize=3.5, label="validation loss")
    _mark_best_epoch(ax, best_epoch, val, start)
    if _wants_log_scale(train[1] + val[1]):
        _use_log_scale(ax, mpl, train[1] + val[1])
    ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (MSE on scaled data)")
    ax.set_title(title or "Training history")
    _add_grid(ax)
    _add_legend(figure, *ax.get_legend_handles_labels(), below=True)
    _save_png(figure, path)


def plot_reliability(
    path: str | Path | Output,
    table: Sequence[Mapping[str, Any]],
    *,
    title: str = "",
    size: tuple[int, int] = DEFAULT_SIZE,
) -> None:
    """Draw a reliability diagram of event probabilities, and write it to ``path`` as a PNG.

    ``table`` rows are ``lstmcast.intervals.probability_scores``' reliability bins (``from``, ``to``,
    ``n``, ``mean_probability``, ``observed``). Each bin is a point at its mean probability and the
    share of its steps that held the event, sized by how many fell in it; reliable probabilities lie
    on the diagonal. Beside it, how many forecasts fell in each bin (a log scale: most are near 0).
    """
    mpl = _matplotlib()
    figure = _new_figure(mpl, size)
    curve, counts = figure.subplots(1, 2, width_ratios=(3, 2))
    curve.plot([0, 1], [0, 1], color=ORIGIN, linestyle=":", linewidth=1.2, label="reliable")
    if table:
        n = np.array([row["n"] for row in table], dtype=float)
        mean = [row["mean_probability"] for row in table]
        observed = [row["observed"] for row in table]
        curve.plot(mean, observed, color=FORECAST, linewidth=2, zorder=2, label="forecast probability")
        curve.scatter(mean, observed, s=20 + 180 * n / n.max(), color=FORECAST, zorder=3)
        counts.bar(
            [row["from"] for row in table],
            n,
            width=[row["to"] - row["from"] for row in table],
            align="edge",
            color=OBSERVED,
            alpha=0.7,
        )
        counts.set_yscale("log")
    curve.set_xlim(0, 1)
    curve.set_ylim(0, 1)
    curve.set_xlabel("forecast probability")
    curve.set_ylabel("how often the event happened")
    counts.set_xlim(0, 1)
    counts.set_xlabel("forecast probability")
    counts.set_ylabel("forecast steps")
    curve.set_title(title or "Reliability of the event probabilities")
    for ax in (curve, counts):
        _add_grid(ax)
    _add_legend(figure, *curve.get_legend_handles_labels(), below=True)
    _save_png(figure, path)


# --- backtest --------------------------------------------------------------------------------------


def _per_step_rmse(report: Any) -> tuple[list[int], list[float]]:
    rows = report.get("per_step") if isinstance(report, Mapping) else None
    points = [(row.get("step"), _as_float(row.get("rmse"))) for row in rows or [] if isinstance(row, Mapping)]
    kept = [(int(step), rmse) for step, rmse in points if step is not None and math.isfinite(rmse)]
    return [step for step, _ in kept], [rmse for _, rmse in kept]


def _baseline_names(metrics: Mapping[str, Any]) -> list[str]:
    """Baselines in report order, then any that only the folds mention."""
    names = list(metrics.get("baselines") or {})
    for fold in metrics.get("folds") or []:
        for name in (fold.get("metrics") or {}).get("baselines") or {}:
            if name not in names:
                names.append(name)
    return names


def _fold_rmse(fold: Mapping[str, Any], baseline: str | None) -> float:
    """The fold's RMSE for the model (``baseline`` None) or for one baseline; NaN when absent."""
    metrics = fold.get("metrics") or {}
    if baseline is not None:
        metrics = (metrics.get("baselines") or {}).get(baseline) or {}
    return _as_float(metrics.get("rmse"))


def _legend_label(name: str, report: Any) -> str:
    overall = _as_float(report.get("rmse")) if isinstance(report, Mapping) else math.nan
    label = name.replace("_", " ")
    if isinstance(report, Mapping) and "season" in report:
        label += f" ({report['season']})"
    return f"{label} (RMSE {overall:.4g})" if math.isfinite(overall) else label


def _say_empty(ax: Axes, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} in the report", transform=ax.transAxes, ha="center", va="center", color="0.45")
    ax.tick_params(left=False, labelleft=False, bottom=False, labelbottom=False)  # ticks of no data mislead


def _line_styles(names: list[str]) -> dict[str, dict[str, Any]]:
    """How each series is drawn, the same in both panels and the legend: the model bold and black,
    baselines thinner in colour and dash pattern, so a baseline hidden under another (naive and
    drift are often identical) still shows."""
    styles: dict[str, dict[str, Any]] = {"model": {"color": MODEL_COLOUR, "linewidth": 2.6, "marker": "o", "zorder": 3}}
    for i, name in enumerate(names):
        styles[name] = {
            "color": BASELINE_COLOURS[i % len(BASELINE_COLOURS)],
            "linestyle": BASELINE_DASHES[i % len(BASELINE_DASHES)],
            "linewidth": 1.4,
            "marker": ".",
            "zorder": 2,
        }
    return styles


def _draw_rmse_by_step(
    ax: Axes, mpl: _Matplotlib, metrics: Mapping[str, Any], styles: dict[str, dict[str, Any]]
) -> None:
    baselines = metrics.get("baselines") or {}
    drawn = False
    for name, style in styles.items():
        steps, rmse = _per_step_rmse(metrics if name == "model" else baselines.get(name))
        if steps:
            ax.plot(steps, rmse, **style)
            drawn = True
    if not drawn:
        _say_empty(ax, "per-step metrics")
    ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("horizon step")
    ax.set_ylabel("RMSE")
    ax.set_title("RMSE by horizon step")


def _fold_label(fold: Mapping[str, Any], position: int, many: bool) -> str:
    number = fold.get("fold", position + 1)
    return str(number) if many else f"fold {number}"


def _draw_rmse_by_fold(ax: Axes, folds: list[Mapping[str, Any]], styles: dict[str, dict[str, Any]]) -> None:
    if not folds:
        _say_empty(ax, "folds")
    width = 0.8 / len(styles)
    positions = np.arange(len(folds))
    for i, (name, style) in enumerate(styles.items()):
        heights = np.array([_fold_rmse(fold, None if name == "model" else name) for fold in folds])
        shown = np.isfinite(heights)  # a missing value leaves a gap rather than a zero-height bar
        offset = (i - (len(styles) - 1) / 2) * width
        ax.bar(positions[shown] + offset, heights[shown], width, color=style["color"], edgecolor="white", linewidth=0.5)
    many = len(folds) > 8  # "fold N" labels would collide; the axis label says it instead
    ax.set_xticks(positions, [_fold_label(fold, i, many) for i, fold in enumerate(folds)])
    ax.set_xlabel("fold" if many else "")
    ax.set_ylabel("RMSE")
    ax.set_title("RMSE by fold")


def _backtest_legend(
    figure: Figure, mpl: _Matplotlib, metrics: Mapping[str, Any], styles: dict[str, dict[str, Any]]
) -> None:
    # One legend for both panels: proxy lines, because a name may appear in only one of them.
    baselines = metrics.get("baselines") or {}
    handles = [mpl.Line2D([], [], **style) for style in styles.values()]
    labels = [_legend_label(name, metrics if name == "model" else baselines.get(name)) for name in styles]
    _add_legend(figure, handles, labels, below=True)


def plot_backtest(
    path: str | Path | Output,
    metrics: dict[str, Any],
    *,
    title: str = "",
    size: tuple[int, int] = DEFAULT_SIZE,
) -> None:
    """Draw a backtest report as two panels side by side, and write it to ``path`` as a PNG.

    Left, "RMSE by horizon step": the model's ``per_step`` RMSE as a bold line and each
    baseline's as a thinner one. Right, "RMSE by fold": grouped bars of the model's and each
    baseline's RMSE per fold. Baselines, steps or folds missing from the report are skipped.
    """
    mpl = _matplotlib()
    figure = _new_figure(mpl, size)
    by_step, by_fold = figure.subplots(1, 2)
    styles = _line_styles(_baseline_names(metrics))
    folds = [fold for fold in metrics.get("folds") or [] if isinstance(fold, Mapping)]
    _draw_rmse_by_step(by_step, mpl, metrics, styles)
    _draw_rmse_by_fold(by_fold, folds, styles)
    for ax in (by_step, by_fold):
        ax.set_ylim(bottom=0)  # errors compared as lengths from zero, not as differences of a zoomed axis
        _add_grid(ax)
    figure.suptitle(title or "Backtest", fontsize="x-large")
    _backtest_legend(figure, mpl, metrics, styles)
    _save_png(figure, path)
