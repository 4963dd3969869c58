"""The command line: parse options, call the library, format the result.

Errors from the library arrive as ``LstmcastError`` and are turned into one line on stderr and an
exit code in one place (``_Group.invoke``). Torch is imported only by commands that train or forecast.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import signal
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any

import click

from lstmcast import __version__
from lstmcast.config import (
    EVENTS,
    FILL_METHODS,
    LOSSES,
    MAX_SHARDS,
    MODELS,
    SCALERS,
    WINDOW_NORMS,
    DataConfig,
    ModelConfig,
    TrainConfig,
    WindowConfig,
    parse_segment,
)
from lstmcast.console import ExitCode, exit_code_for, make_console, print_error, print_warning
from lstmcast.errors import ArtifactError, ConfigError, DataWarning, LstmcastError, Terminated

if TYPE_CHECKING:
    from pathlib import Path

    from lstmcast.evaluation import EventSettings
    from lstmcast.forecast import Forecaster
    from lstmcast.outputs import Output, Outputs

_DATA, _WINDOW, _MODEL, _TRAIN = DataConfig(), WindowConfig(), ModelConfig(), TrainConfig()


class _SegmentType(click.ParamType):
    """``--segment``: ``auto`` or a whole number of steps."""

    name = "segment"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | str:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            return parse_segment(str(value))
        except LstmcastError as exc:
            self.fail(str(exc), param, ctx)


SEGMENT = _SegmentType()


class _Group(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """The group's own ``--help`` and ``--version`` write while their options are parsed, before
        any command runs: a reader gone there (``lstmcast --help | head -1``) is exit 141, as for a
        command's output, not Click's exit 1."""
        try:
            return super().parse_args(ctx, args)
        except BrokenPipeError:
            _silence_stdout()
            ctx.exit(ExitCode.BROKEN_PIPE)

    def invoke(self, ctx: click.Context) -> Any:
        global _COMMAND_RAN
        _COMMAND_RAN = True
        console = make_console()
        debug = bool(ctx.params.get("debug"))
        with warnings.catch_warnings(), _sigterm_as_interrupt():
            warnings.simplefilter("default")  # the CLI decides what to show: see _show_warning
            warnings.simplefilter("always", DataWarning)
            warnings.showwarning = functools.partial(_show_warning, console, debug)
            try:
                result = super().invoke(ctx)
                _ignore_signals_from_now_on()  # the outputs are written: a late Ctrl-C must not report 130
                return result
            except LstmcastError as exc:
                if debug:
                    raise
                print_error(console, str(exc))
                ctx.exit(exit_code_for(exc))
            except KeyboardInterrupt as exc:
                _ignore_signals_from_now_on()  # a second Ctrl-C must not interrupt the clean exit
                terminated = isinstance(exc, Terminated)
                outputs = ctx.meta.get(_OUTPUTS)
                what = "terminated" if terminated else "interrupted"
                if outputs is not None and outputs.committed:
                    print_error(console, f"{what} after every output was written")
                else:
                    print_error(console, f"{what}; nothing was written")
                ctx.exit(ExitCode.TERMINATED if terminated else ExitCode.INTERRUPTED)
            except BrokenPipeError:
                _silence_stdout()
                ctx.exit(ExitCode.BROKEN_PIPE)
            except (click.exceptions.Exit, click.ClickException, click.Abort):
                raise
            except Exception as exc:
                if debug:
                    raise
                _unexpected(console, ctx, exc)


def _unexpected(console: Any, ctx: click.Context, exc: Exception) -> None:
    """An exception no command anticipated: a full disk under a stdout that nothing staged (a
    command's --help) is an output error; anything else is a bug, said as one."""
    if isinstance(exc, OSError) and exc.errno in _UNWRITABLE:
        print_error(console, f"cannot write the output: {exc.strerror}")
        ctx.exit(ExitCode.OUTPUT)
    print_error(
        console,
        f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback, and please report it)",
    )
    ctx.exit(ExitCode.FAILURE)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a scheduler's or systemd's stop) is handled like Ctrl-C: staged outputs are removed,
    one line is printed and the exit status is 143."""

    def terminate(signum: int, frame: Any) -> None:
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, terminate)
    except ValueError:  # not the main thread (a test runner's worker): leave signals alone
        yield
        return
    try:
        yield
    finally:
        if not _IN_OWN_PROCESS:  # a test runner or notebook gets its handler back; lstmcast's own process exits
            signal.signal(signal.SIGTERM, previous)


def _ignore_signals_from_now_on() -> None:
    """In the lstmcast process itself (not under a test runner): from here on SIGINT and SIGTERM are
    ignored, so the exit status and message stay the ones decided above."""
    if not _IN_OWN_PROCESS:
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signum, signal.SIG_IGN)


# An output that does not fit, or a stdout opened for reading only (1</dev/null): exit 5.
_UNWRITABLE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EBADF)
_COMMAND_RAN = False  # set once a command starts: what reaches main() after that is the command's
_IN_OWN_PROCESS = False  # set by main(), the console script; a notebook or test runner keeps its handlers
_OUTPUTS = "lstmcast.outputs"


def _outputs() -> Outputs:
    """The outputs of the running command: reserved before any work, committed together at the end,
    removed if the command fails (and asked by the interrupt message whether they were written)."""
    from lstmcast.outputs import Outputs

    ctx = click.get_current_context()
    outputs = Outputs()
    ctx.meta[_OUTPUTS] = outputs
    ctx.call_on_close(outputs.discard)
    return outputs


TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".json")


def _table_output(outputs: Outputs, path: str | None, option: str) -> tuple[Output, str] | tuple[None, None]:
    """Reserve a table output whose format is told by its name (CSV on stdout)."""
    from pathlib import Path

    from lstmcast.write import output_format

    if path is None:
        return None, None
    from lstmcast.outputs import resolve

    named = path != "-" and not resolve(path).stream  # a device or pipe has no name to tell a format
    if option == "--per-step" and named and Path(path).suffix.lower() not in TABLE_SUFFIXES:
        raise click.UsageError(f"{option} {path}: name the file .csv, .parquet or .json (or - for stdout)")
    fmt = output_format(path)
    return outputs.file(path), fmt


def _png_output(outputs: Outputs, path: str) -> Output:
    from pathlib import Path

    if Path(path).suffix.lower() != ".png":
        raise click.UsageError(f"{path}: plots are written as PNG; name the file .png")
    return outputs.file(path)


def _forecast_in_numpy(threads: int | None, device: str | None) -> None:
    """Set up a command that forecasts in numpy (predict, plot): its BLAS computes with the --threads
    budget (default 1), which can only be set before numpy is first imported, as a CLI run has not yet
    done; --device is deprecated and says so."""
    import os

    from lstmcast.config import resolve_threads

    count = str(resolve_threads(threads))
    if "numpy" not in sys.modules:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = count
    if device is not None:
        print_warning(
            make_console(),
            "--device is deprecated and has no effect here: the forecast runs in numpy on the CPU",
        )


def _parse_shard(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    number, _, count = value.partition("/")
    try:
        shard = int(number), int(count)
    except ValueError:
        raise click.BadParameter(f"give the shard as I/N, like 2/8; got {value!r}") from None
    if not 1 <= shard[0] <= shard[1]:
        raise click.BadParameter(f"shards are numbered from 1 to N; got {value!r}")
    if shard[1] > MAX_SHARDS:
        raise click.BadParameter(
            f"N is at most {MAX_SHARDS} (an id's shard is its 64-bit hash modulo N); got {value!r}"
        )
    return shard


def _predict_recent(
    forecaster: Forecaster,
    data: str,
    input_format: str | None,
    stdin: IO[bytes] | None = None,
    shard: tuple[int, int] | None = None,
    strict: bool = False,
    skip_unknown: bool = False,
) -> tuple[Any, Any]:
    """The frame predict read and the forecast from it. Only the end of DATA that the lookback needs is
    parsed; if that part fails a check, the whole of DATA is read and checked instead, so the error names
    rows as the file numbers them (and warnings from the first try are not shown twice)."""
    from lstmcast.errors import DataError
    from lstmcast.forecast import SKIP_UNKNOWN_NEEDS_MANY
    from lstmcast.read import read_recent

    if skip_unknown and forecaster.state_.panel is None:
        raise ConfigError(SKIP_UNKNOWN_NEEDS_MANY)  # before reading DATA
    if shard is not None:
        from lstmcast.runtime.frames import check_shard

        check_shard(forecaster.state_, shard)  # so is what the shard and the model alone decide
    if forecaster.state_.panel is not None or shard is not None:  # every series' last rows: the whole table
        from lstmcast.read import read_table

        frame = read_table(data, input_format, stdin, text=forecaster.id_col)
        return frame, forecaster.predict(frame, shard=shard, strict=strict, skip_unknown=skip_unknown)
    columns = forecaster.columns_
    frame, read_whole = read_recent(
        data, forecaster.lookback, input_format, stdin, complete=columns, time_col=forecaster.time_col_
    )
    if frame.attrs["whole"]:
        return frame, forecaster.predict(frame)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            forecast = forecaster.predict(frame)
        except DataError:
            forecast = None
    if forecast is None:  # the end of DATA failed a check: the whole table decides, and only its warnings show
        frame = read_whole()
        return frame, forecaster.predict(frame)
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return frame, forecast


def _event_settings(
    id_col: str | None,
    threshold: str | None,
    event: str | None,
    alert_level: float | None,
    tolerance: int | None,
    tune_alert_level: bool,
    alert_prob: float | None,
    tune_alert_prob: bool,
) -> EventSettings | None:
    """The threshold options, checked before anything is read (exit 2): also that a model of many
    series (``id_col``) can keep them, which needs no data either."""
    from lstmcast.evaluation import EventSettings

    events = EventSettings.from_options(
        threshold, event, alert_level, tolerance, tune_alert_level, alert_prob, tune_alert_prob
    )
    if events is not None and id_col is not None:
        events.check_many_series()
    return events


def _one_stdout(*paths: str | None) -> None:
    if sum(path == "-" for path in paths) > 1:
        raise click.UsageError("only one output can go to stdout (-); send the others to files")


def _show_warning(
    console: Any, debug: bool, message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any
) -> None:
    if issubclass(category, DataWarning) or debug:
        print_warning(console, str(message))


def _silence_stdout() -> None:
    import os

    # Python would otherwise complain again while flushing stdout at exit.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _csv_list(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    if not names:  # `--features ""` must not be taken as no features at all
        option = param.opts[0]
        raise ConfigError(f"{option} is empty; give column names like temperature,humidity, or leave the option out")
    return names


def _given_or_none(ctx: click.Context, param: click.Parameter, value: str | None) -> str | tuple[()]:
    """A list option's text as given, checked by the library (an empty one is an error there); () when absent."""
    return () if value is None else value


def _options(*decorators: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def apply(func: Any) -> Any:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


input_format_option = click.option(
    "--input-format",
    type=click.Choice(["csv", "tsv", "parquet"]),
    default=None,
    help="Format of DATA when its name does not tell (stdin is CSV unless set).",
)
device_option = click.option(
    "--device",
    default=_TRAIN.device,
    show_default=True,
    metavar="auto|cpu|cuda|cuda:N",
    help="Where to run; auto picks CUDA when available.",
)
# predict and plot forecast in numpy on the CPU: --device is kept so scripts that pass it keep working.
legacy_device_option = click.option(
    "--device",
    default=None,
    hidden=True,
    help="Deprecated, without effect: the forecast runs in numpy on the CPU.",
)
threads_option = click.option(
    "--threads",
    type=click.IntRange(min=1, max=1024),
    default=None,
    envvar="LSTMCAST_THREADS",
    show_envvar=True,
    metavar="N",
    help="CPU threads to compute with (torch's, or numpy's for the commands that need no torch; default 1: faster "
    "than more for models this size, and it never collapses when other jobs share the cores).",
)
quiet_option = click.option(
    "-q", "--quiet", is_flag=True, help="No progress or tables on stderr (errors and warnings still show)."
)

level_option = click.option(
    "--level",
    "levels",
    default=None,
    metavar="P1,P2",
    callback=_given_or_none,
    help="Also learn prediction intervals at these levels (percent, like 80,95) from the validation part's "
    "errors; predict then writes lo_P and hi_P columns, and reports score their coverage.",
)

quantiles_option = click.option(
    "--quantiles",
    default=None,
    metavar="Q1,Q2",
    callback=_given_or_none,
    help="Also train a quantile head for these levels (like 0.1,0.5,0.9; pinball loss, calibrated on the "
    "validation part); predict then writes q0.1, q0.5, ... columns, and reports score pinball loss and CRPS.",
)

id_col_option = click.option(
    "--id-col",
    default=None,
    metavar="COL",
    help="DATA is a long table of many series told apart by COL: one model for all, each series scaled by its own "
    "training rows; predict then forecasts every series.",
)

strict_option = click.option(
    "--strict",
    is_flag=True,
    help="Many series: a series too short to use is an error (exit 3), not left out with a warning.",
)

skip_unknown_option = click.option(
    "--skip-unknown",
    is_flag=True,
    help="Many series: leave out series the model was not trained on, with a warning naming them, instead of "
    "failing the whole batch (exit 3).",
)

per_series_option = click.option(
    "--per-series",
    "per_series_path",
    default=None,
    metavar="PATH",
    help="Many series: also write every series' scores (id, origins, MSE, MAE, MASE, ridge MSE, skill, linear "
    "start MSE); CSV, Parquet or JSON by suffix; - is stdout.",
)

data_options = _options(
    click.option("--target", default=None, help="Column to forecast (auto when exactly one numeric column)."),
    click.option("--time-col", default=None, help="Timestamp column (auto: the first that parses as dates)."),
    click.option(
        "--features",
        default=None,
        callback=_csv_list,
        metavar="A,B",
        help="Extra numeric input columns, comma-separated.",
    ),
    click.option(
        "--fill",
        type=click.Choice(FILL_METHODS),
        default=_DATA.fill,
        show_default=True,
        help="Repair missing/infinite values; 'none' makes them an error.",
    ),
    input_format_option,
)
window_options = _options(
    click.option(
        "--lookback", type=int, default=_WINDOW.lookback, show_default=True, help="Past steps the model reads."
    ),
    click.option(
        "--horizon", type=int, default=_WINDOW.horizon, show_default=True, help="Future steps forecast at once."
    ),
    click.option(
        "--val-frac",
        type=float,
        default=_WINDOW.val_frac,
        show_default=True,
        help="Fraction of rows (after train) for early stopping.",
    ),
    click.option(
        "--test-frac",
        type=float,
        default=_WINDOW.test_frac,
        show_default=True,
        help="Fraction of rows at the end held out for the test report; 0 for a production fit.",
    ),
    click.option(
        "--scaler",
        type=click.Choice(SCALERS),
        default=_WINDOW.scaler,
        show_default=True,
        help="Per-column scaling, fitted on the training part only.",
    ),
    click.option(
        "--season",
        type=click.IntRange(min=0),
        default=_WINDOW.season,
        show_default=True,
        metavar="N",
        help="Period of the seasonal-naive baseline and the MASE scale, in steps; 0 infers it from the "
        "frequency (a day of hourly steps, a week of days, ...).",
    ),
)
model_options = _options(
    click.option(
        "--model",
        type=click.Choice(MODELS),
        default=_MODEL.model,
        show_default=True,
        help="Recurrent cell: lstm (torch's), gru, or peephole (an LSTM whose gates see the cell state).",
    ),
    click.option("--hidden", type=int, default=_MODEL.hidden, show_default=True, help="Hidden units per layer."),
    click.option("--layers", type=int, default=_MODEL.layers, show_default=True, help="Stacked recurrent layers."),
    click.option(
        "--dropout",
        type=float,
        default=_MODEL.dropout,
        show_default=True,
        help="Dropout between layers and before the output head.",
    ),
    click.option(
        "--input-dropout",
        type=float,
        default=_MODEL.input_dropout,
        show_default=True,
        help="Dropout on the (normalised) input window.",
    ),
    click.option(
        "--bidirectional/--no-bidirectional",
        default=_MODEL.bidirectional,
        show_default=True,
        help="Read the window in both directions.",
    ),
    click.option(
        "--attention/--no-attention",
        default=_MODEL.attention,
        show_default=True,
        help="Attend over all encoder states; see predict --explain.",
    ),
    click.option(
        "--conv-kernel",
        type=int,
        default=_MODEL.conv_kernel,
        show_default=True,
        metavar="K",
        help="Depthwise-separable causal 1-D convolution of width K before the recurrent layers; 0 is off.",
    ),
    click.option(
        "--segment",
        type=SEGMENT,
        default=_MODEL.segment,
        show_default=True,
        metavar="S|auto",
        help="Embed the window in segments of S steps and run the recurrent cell over lookback/S segments "
        "(SegRNN: many times faster than step by step); the lookback must be a multiple of S. auto: the "
        "season if it cuts the lookback into 3-24 segments, else about 8 segments. 0 reads step by step.",
    ),
    click.option(
        "--window-norm",
        type=click.Choice(WINDOW_NORMS),
        default=_MODEL.window_norm,
        show_default=True,
        help="Normalise each input window by its own statistics and map the forecast back "
        "(last: minus the last value; revin: mean/std with a learnable affine; mean: mean/std).",
    ),
    click.option(
        "--linear/--no-linear",
        default=_MODEL.linear,
        show_default=True,
        help="Add a linear autoregression on the window beside the recurrent network.",
    ),
    click.option(
        "--ensemble",
        type=int,
        default=_MODEL.ensemble,
        show_default=True,
        metavar="K",
        help="Train K networks from different random starts and forecast their mean (K times the compute).",
    ),
)
train_options = _options(
    click.option("--epochs", type=int, default=_TRAIN.epochs, show_default=True, help="Most epochs to train."),
    click.option(
        "--patience",
        type=int,
        default=_TRAIN.patience,
        show_default=True,
        help="Stop after this many epochs without a better validation loss.",
    ),
    click.option(
        "--min-delta",
        type=float,
        default=_TRAIN.min_delta,
        show_default=True,
        help="Smallest drop in validation loss that counts as better.",
    ),
    click.option("--batch-size", type=int, default=_TRAIN.batch_size, show_default=True, help="Windows per step."),
    click.option("--lr", type=float, default=_TRAIN.lr, show_default=True, help="Adam learning rate."),
    click.option(
        "--loss",
        type=click.Choice(LOSSES),
        default=_TRAIN.loss,
        show_default=True,
        help="What training minimises (mae, mse, or huber: quadratic within 1 scaled unit); early stopping "
        "always watches the validation MSE.",
    ),
    click.option(
        "--grad-clip",
        type=float,
        default=_TRAIN.grad_clip,
        show_default=True,
        help="Clip the gradient norm to this; 0 turns clipping off.",
    ),
    click.option(
        "--weight-decay",
        type=float,
        default=_TRAIN.weight_decay,
        show_default=True,
        help="L2 penalty on weight matrices (added to their gradients, as Adam's weight_decay).",
    ),
    click.option(
        "--l1",
        type=float,
        default=_TRAIN.l1,
        show_default=True,
        help="L1 penalty on weight matrices, added to the loss: l1 * sum |w|.",
    ),
    click.option(
        "--seed",
        type=int,
        default=_TRAIN.seed,
        show_default=True,
        help="Seed for weights and batch order: same data + seed = same model on CPU.",
    ),
    click.option(
        "--max-windows-per-series",
        type=int,
        default=_TRAIN.max_windows_per_series,
        show_default=True,
        metavar="N",
        help="Each epoch trains on at most N windows of each series, drawn afresh (so a long series does not "
        "drown short ones); 0: every window.",
    ),
    device_option,
)


threshold_options = _options(
    click.option(
        "--threshold",
        default=None,
        metavar="X|qP",
        help="Score threshold events: values beyond X, or beyond the training part's P-quantile (q0.95).",
    ),
    click.option(
        "--event",
        type=click.Choice(EVENTS),
        default=None,
        help="Which side of --threshold is an event (default: above, or the model's own).",
    ),
    click.option(
        "--alert-level",
        type=float,
        default=None,
        metavar="Y",
        help="Raise alerts when the forecast is beyond Y instead of the threshold (trade precision for recall).",
    ),
    click.option(
        "--tolerance",
        type=click.IntRange(min=0, max=10**7),
        default=None,
        metavar="N",
        help="A forecast event N steps or less from an actual one still matches it (default: 0, or the model's).",
    ),
)
tune_alert_option = click.option(
    "--tune-alert-level",
    is_flag=True,
    help="Pick the alert level with the best event F1 on the validation part; kept with the model.",
)
alert_prob_options = _options(  # train, backtest: alerts from the probability of the event
    click.option(
        "--alert-prob",
        type=float,
        default=None,
        metavar="P",
        help="With --threshold: raise alerts on the steps whose probability of the event is above P (0 < P < 1), "
        "instead of on the forecast beyond the alert level.",
    ),
    click.option(
        "--tune-alert-prob",
        is_flag=True,
        help="With --threshold: raise alerts from the probability, at the P with the best event F1 on the "
        "validation part; kept with the model (backtest: each trained fold its own).",
    ),
)
per_step_option = click.option(
    "--per-step",
    "per_step_path",
    default=None,
    metavar="PATH",
    help="Also write the metrics per horizon step for the model and every baseline (CSV, Parquet or JSON by "
    "suffix; - is stdout).",
)


def _fill_per_step(output: Output | None, fmt: str | None, metrics: dict[str, Any]) -> None:
    if output is None or fmt is None:
        return
    from lstmcast.evaluation import per_step_table
    from lstmcast.write import table_bytes

    output.set(table_bytes(per_step_table(metrics), fmt))


def _fill_per_series(output: Output | None, fmt: str | None, metrics: dict[str, Any]) -> None:
    if output is None or fmt is None:
        return
    import pandas as pd

    from lstmcast.write import table_bytes

    output.set(table_bytes(pd.DataFrame(metrics.get("series", [])), fmt))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="lstmcast")
@click.option("--debug", is_flag=True, envvar="LSTMCAST_DEBUG", help="Show full tracebacks on errors.")
def cli(debug: bool) -> None:
    """Train LSTM forecasters on time series and use them from the shell.

    stdout carries only data (forecasts, --json); progress, tables and errors go to stderr.
    DATA is a CSV, TSV or Parquet file, or - for CSV on stdin.

    \b
    Example:
      lstmcast train sample_data/load.csv --target load -o model/
      lstmcast predict model/ sample_data/load.csv -o -
      lstmcast evaluate model/ sample_data/load.csv --threshold 80
    """


@cli.command()
@click.argument("data")
@click.option(
    "-o",
    "--output",
    "model_dir",
    required=True,
    metavar="MODEL_DIR",
    help="Model directory to write (replaced atomically if it holds an earlier model).",
)
@data_options
@id_col_option
@per_series_option
@strict_option
@level_option
@quantiles_option
@window_options
@model_options
@train_options
@threshold_options
@tune_alert_option
@alert_prob_options
@per_step_option
@quiet_option
@threads_option
@click.option("--json", "as_json", is_flag=True, help="Print the held-out metrics as JSON on stdout.")
def train(
    data: str,
    threads: int | None,
    model_dir: str,
    input_format: str | None,
    threshold: str | None,
    event: str | None,
    alert_level: float | None,
    tolerance: int | None,
    tune_alert_level: bool,
    alert_prob: float | None,
    tune_alert_prob: bool,
    per_step_path: str | None,
    per_series_path: str | None,
    strict: bool,
    quiet: bool,
    as_json: bool,
    **params: Any,
) -> None:
    """Train a forecaster on DATA and save it to MODEL_DIR.

    The rows are split in time order into train / validation / test; the scaler is fitted on the
    training part only, early stopping watches the validation part, and the test part is scored
    against the baselines (naive, seasonal naive, drift, mean, ridge) and the network's untrained linear
    start (saved as MODEL_DIR/metrics.json).
    With --threshold, threshold events are scored too and the settings are kept with the model.

    \b
    Example:
      lstmcast train sample_data/load.csv --target load --horizon 24 -o model/
      lstmcast train sample_data/load.csv --target load -o model/ --threshold q0.95 --tune-alert-level
      lstmcast train sample_data/load.csv --target load -o model/ --threshold q0.95 --tune-alert-prob
      lstmcast train sample_data/load.csv --target load -o model/ --test-frac 0 --quiet   # production refit
    """
    from lstmcast.artifact import check_replaceable, is_model_dir, write_model_files
    from lstmcast.console import alert_level_note, epoch_progress, live_display_allowed, metrics_table, panel_note
    from lstmcast.forecast import Forecaster
    from lstmcast.read import read_table
    from lstmcast.train import use_threads
    from lstmcast.write import json_bytes

    console = make_console()
    use_threads(threads)
    forecaster = Forecaster(**params)
    forecaster.settings()  # settings errors before reading anything
    events = _event_settings(
        forecaster.id_col, threshold, event, alert_level, tolerance, tune_alert_level, alert_prob, tune_alert_prob
    )
    if per_step_path is not None and forecaster.test_frac == 0:
        raise click.UsageError("--per-step scores the test part, and --test-frac 0 leaves none")
    if per_series_path is not None and (forecaster.id_col is None or forecaster.test_frac == 0):
        raise click.UsageError("--per-series scores the test part of every series: it needs --id-col and a test part")
    _one_stdout("-" if as_json else None, per_step_path, per_series_path)
    outputs = _outputs()  # every output checked and reserved before training, not after
    outputs.inputs(data)  # no output may replace what the command reads
    model_output = outputs.directory(model_dir, check=check_replaceable, is_ours=is_model_dir)
    per_step, per_step_format = _table_output(outputs, per_step_path, "--per-step")
    per_series, per_series_format = _table_output(outputs, per_series_path, "--per-series")
    json_output = outputs.file("-") if as_json else None
    frame = read_table(data, input_format, text=forecaster.id_col)
    progress = live_display_allowed(console, quiet)
    with epoch_progress(console, progress, forecaster.epochs, forecaster.loss) as on_epoch:
        forecaster.fit(frame, on_epoch=on_epoch, strict=strict, **(vars(events) if events else {}))
    assert model_output.staging is not None
    write_model_files(model_output.staging, forecaster.model_files(), name=model_dir)
    _fill_per_step(per_step, per_step_format, forecaster.metrics_)
    _fill_per_series(per_series, per_series_format, forecaster.metrics_)
    if json_output is not None:
        json_output.set(json_bytes(forecaster.metrics_))
    outputs.commit()
    if not quiet:
        epochs = len(forecaster.history_)
        best = (
            f"best epoch {forecaster.best_epoch_} of {epochs}"
            if forecaster.best_epoch_
            else f"no epoch of {epochs} beat the starting point on validation, so it was kept"
        )
        console.print(f"Saved model to {model_dir} ({best}).")
        if forecaster.events_:
            alert_level_note(console, forecaster.events_)
        metrics_table(console, forecaster.metrics_, "Held-out test metrics")
        if forecaster.state_.panel is not None:
            panel_note(console, forecaster.metrics_, forecaster.training_)


@cli.command()
@click.argument("model_dir")
@click.argument("data")
@click.option("-o", "--output", default="-", show_default=True, help="Where to write the forecast; - is stdout.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["csv", "parquet", "json"]),
    default=None,
    help="Output format (default: from the file name; CSV on stdout).",
)
@click.option(
    "--explain",
    "explain_path",
    default=None,
    metavar="PATH",
    help="Also write the attention weights over the input window (models trained with --attention); "
    "format from the name, - for stdout.",
)
@click.option(
    "--shard",
    default=None,
    callback=lambda ctx, param, value: _parse_shard(value),
    metavar="I/N",
    help="For a model of many series: forecast only shard I of N (from 1), a share of the ids fixed by a hash of "
    "each id, so N jobs together forecast every series once.",
)
@strict_option
@skip_unknown_option
@input_format_option
@legacy_device_option
@threads_option
def predict(
    model_dir: str,
    threads: int | None,
    data: str,
    output: str,
    output_format: str | None,
    explain_path: str | None,
    shard: tuple[int, int] | None,
    strict: bool,
    skip_unknown: bool,
    input_format: str | None,
    device: str | None,
) -> None:
    """Forecast the HORIZON steps after the last row of DATA.

    Writes one row per step: the future timestamp (continuing DATA's frequency), the step number
    and the forecast, in the target's units. Files are written atomically. With --explain, the
    attention weights say which past steps the forecast drew on.

    \b
    Example:
      lstmcast predict model/ sample_data/load.csv -o forecast.csv
      (head -n 1 new.csv; tail -n 200 new.csv) | lstmcast predict model/ - -o forecast.csv
      lstmcast predict model/ sample_data/load.csv -o forecast.csv --explain attention.csv
    """
    _forecast_in_numpy(threads, device)
    from lstmcast.write import output_format as resolve_format

    if explain_path == "-" and output == "-":
        raise click.UsageError("--explain and --output cannot both be stdout; send one of them to a file")
    fmt = resolve_format(output, output_format, format_option="--format")
    explain_fmt = resolve_format(explain_path) if explain_path is not None else None
    outputs = _outputs()
    outputs.inputs(data, model_dir)  # no output may replace what the command reads
    forecast_output = outputs.file(output)
    explain_output = outputs.file(explain_path) if explain_path is not None else None
    payload, stdin_data = None, None
    if fmt == "csv" and explain_output is None and shard is None and not skip_unknown:  # a clean CSV, no pandas
        from lstmcast import quick
        from lstmcast.artifact import read_state

        payload, stdin_data = quick.predict_source(read_state(model_dir, check_frequency=False), data, input_format)
    if payload is None:
        import io

        from lstmcast.forecast import Forecaster
        from lstmcast.write import table_bytes

        forecaster = Forecaster.load(model_dir)
        stdin = io.BytesIO(stdin_data) if stdin_data is not None else None
        frame, forecast = _predict_recent(forecaster, data, input_format, stdin, shard, strict, skip_unknown)
        payload = table_bytes(forecast, fmt)
        if explain_output is not None and explain_fmt is not None:
            explain_output.set(table_bytes(forecaster.explain(frame), explain_fmt))
    forecast_output.set(payload)
    outputs.commit()


@cli.command()
@click.argument("model_dir")
@click.argument("data")
@threshold_options
@click.option("--stride", type=int, default=1, show_default=True, help="Steps between forecast origins.")
@per_step_option
@per_series_option
@strict_option
@skip_unknown_option
@click.option("-o", "--output", default=None, help="Also write the metrics as JSON to this file.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON on stdout.")
@input_format_option
@device_option
@threads_option
@quiet_option
def evaluate(
    model_dir: str,
    threads: int | None,
    data: str,
    threshold: str | None,
    event: str | None,
    alert_level: float | None,
    tolerance: int | None,
    stride: int,
    per_step_path: str | None,
    per_series_path: str | None,
    strict: bool,
    skip_unknown: bool,
    output: str | None,
    as_json: bool,
    input_format: str | None,
    device: str,
    quiet: bool,
) -> None:
    """Score a model on DATA from every rolling origin, against the baselines.

    Every STRIDE-th origin whose inputs and whole horizon lie in DATA is forecast; MSE, RMSE, MAE,
    MAPE, sMAPE, MASE and R² are reported for the model and the baselines (naive, seasonal naive,
    drift, mean, ridge) and its linear start, with the model's skill against each. With --threshold (or a model trained
    with one), threshold events are scored point by point and as events, with lead times.

    \b
    Example:
      lstmcast evaluate model/ new.csv --threshold 80 --json > metrics.json
      lstmcast evaluate model/ new.csv --threshold q0.99 --alert-level 75 --tolerance 2
      lstmcast evaluate model/ new.csv --per-step steps.csv
    """
    from lstmcast.console import metrics_table
    from lstmcast.forecast import SKIP_UNKNOWN_NEEDS_MANY, Forecaster, check_stride
    from lstmcast.read import read_table
    from lstmcast.train import resolve_device, use_threads
    from lstmcast.write import json_bytes

    console = make_console()
    use_threads(threads)
    check_stride(stride)
    resolve_device(device)  # a device that is not here fails before anything is read
    _one_stdout(output, "-" if as_json else None, per_step_path, per_series_path)
    outputs = _outputs()
    outputs.inputs(data, model_dir)  # no output may replace what the command reads
    json_file = outputs.file(output) if output is not None else None
    per_step, per_step_format = _table_output(outputs, per_step_path, "--per-step")
    per_series, per_series_format = _table_output(outputs, per_series_path, "--per-series")
    json_output = outputs.file("-") if as_json else None
    forecaster = Forecaster.load(model_dir, device=device)
    if per_series_path is not None and forecaster.state_.panel is None:
        raise click.UsageError("--per-series scores every series of a model of many series (train --id-col)")
    if skip_unknown and forecaster.state_.panel is None:
        raise ConfigError(SKIP_UNKNOWN_NEEDS_MANY)  # before reading DATA
    forecaster.check_event_options(threshold, event, alert_level, tolerance)  # so is what the model decides
    frame = read_table(data, input_format, text=forecaster.id_col)
    metrics = forecaster.evaluate(
        frame,
        threshold,
        event,
        stride,
        alert_level=alert_level,
        tolerance=tolerance,
        strict=strict,
        skip_unknown=skip_unknown,
    )
    for report in (json_file, json_output):
        if report is not None:
            report.set(json_bytes(metrics))
    _fill_per_step(per_step, per_step_format, metrics)
    _fill_per_series(per_series, per_series_format, metrics)
    outputs.commit()
    if not quiet:
        metrics_table(console, metrics, f"Evaluation on {data if data != '-' else '<stdin>'}")
        if "series" in metrics:
            from lstmcast.console import panel_note

            count = len(metrics["series"])
            panel_note(console, metrics, {"series": count, "series_fitted": count}, "every origin of")


@cli.command()
@click.argument("data")
@data_options
@id_col_option
@level_option
@quantiles_option
@window_options
@model_options
@train_options
@click.option(
    "--folds", type=click.IntRange(min=1), default=5, show_default=True, help="Walk-forward folds (test blocks)."
)
@click.option(
    "--retrain/--no-retrain",
    default=True,
    show_default=True,
    help="Train a fresh model for each fold on every row before it, or roll the first fold's model over all.",
)
@click.option(
    "--stride", type=click.IntRange(min=1), default=1, show_default=True, help="Steps between forecast origins."
)
@threshold_options
@tune_alert_option
@alert_prob_options
@per_step_option
@per_series_option
@strict_option
@click.option("-o", "--output", default=None, help="Also write the report (with every fold's) as JSON to this file.")
@click.option(
    "--plot",
    "plot_path",
    default=None,
    metavar="PNG",
    help="Also draw the error per horizon step and per fold (needs lstmcast[plot]).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@quiet_option
@threads_option
def backtest(
    data: str,
    threads: int | None,
    input_format: str | None,
    folds: int,
    retrain: bool,
    stride: int,
    threshold: str | None,
    event: str | None,
    alert_level: float | None,
    tolerance: int | None,
    tune_alert_level: bool,
    alert_prob: float | None,
    tune_alert_prob: bool,
    per_step_path: str | None,
    per_series_path: str | None,
    strict: bool,
    output: str | None,
    plot_path: str | None,
    as_json: bool,
    quiet: bool,
    **params: Any,
) -> None:
    """Walk-forward backtest: how these settings would have forecast DATA's past.

    The last --test-frac of the rows is cut into --folds consecutive blocks. For each block a model
    is trained (with early stopping on its own validation part) on every row before the block only,
    and forecasts from each origin in it; --no-retrain trains once, before the first block. Scores
    are pooled over all folds and given per fold, against the same baselines as `train`. Nothing is
    saved but the reports you ask for.

    \b
    Example:
      lstmcast backtest sample_data/load.csv --target load --folds 5 --test-frac 0.3
      lstmcast backtest load.csv --target load --folds 4 --no-retrain --threshold q0.95 --json > bt.json
      lstmcast backtest load.csv --target load --threshold q0.95 --tune-alert-prob   # each fold tunes its own P
      lstmcast backtest load.csv --target load --plot backtest.png --per-step steps.csv
    """
    from lstmcast import backtest as backtesting
    from lstmcast.console import backtest_tables, fold_line
    from lstmcast.forecast import Forecaster
    from lstmcast.read import read_table
    from lstmcast.train import use_threads
    from lstmcast.write import json_bytes

    console = make_console()
    use_threads(threads)
    template = Forecaster(**params)
    template.settings()
    _event_settings(
        template.id_col, threshold, event, alert_level, tolerance, tune_alert_level, alert_prob, tune_alert_prob
    )  # checked here, before DATA and the outputs; backtest takes the options themselves
    if plot_path is not None:
        from lstmcast.plot import require_matplotlib

        require_matplotlib()
    if per_series_path is not None and template.id_col is None:
        raise click.UsageError("--per-series scores every series of a long table: it needs --id-col")
    _one_stdout(output, "-" if as_json else None, per_step_path, per_series_path)
    outputs = _outputs()
    outputs.inputs(data)  # no output may replace what the command reads
    json_file = outputs.file(output) if output is not None else None
    per_step, per_step_format = _table_output(outputs, per_step_path, "--per-step")
    per_series, per_series_format = _table_output(outputs, per_series_path, "--per-series")
    png = _png_output(outputs, plot_path) if plot_path is not None else None
    json_output = outputs.file("-") if as_json else None
    frame = read_table(data, input_format, text=template.id_col)
    on_fold = None if quiet else (lambda result: console.print(fold_line(result), markup=False))
    report = backtesting.backtest(
        template,
        frame,
        folds,
        retrain=retrain,
        stride=stride,
        threshold=threshold,
        event=event,
        alert_level=alert_level,
        tolerance=tolerance,
        tune_alert_level=tune_alert_level,
        alert_prob=alert_prob,
        tune_alert_prob=tune_alert_prob,
        on_fold=on_fold,
        strict=strict,
    )
    for report_output in (json_file, json_output):
        if report_output is not None:
            report_output.set(json_bytes(report))
    _fill_per_step(per_step, per_step_format, report)
    _fill_per_series(per_series, per_series_format, report)
    if png is not None:
        from lstmcast.plot import plot_backtest

        plot_backtest(png, report, title=f"Backtest of {data if data != '-' else '<stdin>'}")
    outputs.commit()
    if not quiet:
        backtest_tables(console, report, f"Backtest on {data if data != '-' else '<stdin>'}")
        if "series" in report:
            from lstmcast.console import panel_note

            count = len(report["series"])
            panel_note(console, report, {"series": count, "series_fitted": count}, "the folds of")


@cli.command()
@click.argument("model_dir")
@click.argument("data")
@click.option(
    "--level",
    "levels",
    default=None,
    metavar="P1,P2",
    callback=_given_or_none,
    help="The levels to learn (percent, like 80,95); default: the model's.",
)
@click.option(
    "--last",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Only the N most recent forecast origins of DATA (of each series); default: every one.",
)
@click.option(
    "--since",
    default=None,
    metavar="TIME|validation",
    help="Only the origins whose forecast rows start at or after TIME, or after the start of the model's "
    "validation part (validation: what the benchmarks found best to calibrate on); default: every one.",
)
@click.option(
    "--half-life",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SEASONS",
    help="Weigh recent errors more: an origin's weight halves every SEASONS seasons (days of hourly data) "
    "before the newest; default: every origin alike.",
)
@skip_unknown_option
@input_format_option
@threads_option
@quiet_option
def calibrate(
    model_dir: str,
    data: str,
    levels: str | tuple[()],
    last: int | None,
    since: str | None,
    half_life: float | None,
    skip_unknown: bool,
    input_format: str | None,
    threads: int | None,
    quiet: bool,
) -> None:
    """Refresh MODEL_DIR's prediction intervals and event probabilities from its errors on recent DATA.

    Every origin of DATA with a whole lookback and horizon (or the --last N) is forecast with the
    stored network; the bands of each level are taken again from those errors, as training took
    them from the validation part, and so are the error paths of a model trained with --threshold
    (its prob and prob_any) and the conformal corrections of a model trained with --quantiles.
    Nothing else changes (the network's weights stay as they are); the model
    directory is replaced atomically. DATA should be rows the model has not trained on (a warning
    says when it has).

    \b
    Example:
      lstmcast calibrate model/ data.csv --since validation
      lstmcast calibrate model/ recent.csv --level 80,95,99 --last 500
    """
    _forecast_in_numpy(threads, None)
    from lstmcast.artifact import is_model_dir, read_state, write_recalibrated
    from lstmcast.calibration import calibrate as recalibrate
    from lstmcast.calibration import check_options, describe, describe_paths, describe_quantiles
    from lstmcast.intervals import parse_levels
    from lstmcast.read import read_table

    console = make_console()
    wanted = parse_levels(levels)  # a bad level before any work; none given: the model's
    outputs = _outputs()
    outputs.inputs(data)  # no output may replace what the command reads
    if os.path.exists(model_dir) and not os.path.isdir(model_dir):  # before resolve refuses it as an output
        raise ArtifactError(f"{model_dir}: not a model directory (it is a file)")
    model_output = outputs.directory(model_dir, check=_check_recalibratable, is_ours=is_model_dir)
    state = read_state(model_dir)
    check_options(state, wanted, last, since, half_life, skip_unknown)  # the model alone decides, before DATA
    frame = read_table(data, input_format, text=state.data.id_col)
    result = recalibrate(state, frame, wanted, last, since, half_life, skip_unknown)
    assert model_output.staging is not None
    write_recalibrated(model_output.staging, model_dir, result.state)
    outputs.commit()
    if not quiet:
        where = data if data != "-" else "<stdin>"
        console.print(f"Recalibrated {model_dir} on {result.origins} forecast origins of {where}.", markup=False)
        if result.state.intervals is not None:  # refreshed: the model had them, or --level asked
            for line in describe(state.intervals, result.state.intervals):
                console.print(line, markup=False)
        if result.state.paths is not None:  # a threshold model's, refreshed too
            console.print(describe_paths(state.paths, result.state.paths) + ".", markup=False)
        if state.quantiles is not None and result.state.quantiles is not None:
            console.print(describe_quantiles(state.quantiles, result.state.quantiles) + ".", markup=False)


def _check_recalibratable(dest: Path, given: str) -> None:
    """calibrate's model directory is its input before it is its output: one that is not a model (a
    file, a foreign folder, a damaged manifest) is a model error, exit 4, as it is for predict; a model
    holding other files is still one that cannot be replaced, exit 5."""
    from lstmcast.artifact import check_replaceable, is_model_dir, read_manifest

    if not is_model_dir(dest):
        read_manifest(given)  # raises the model's own error
    check_replaceable(dest, given)


@cli.command()
@click.argument("model_dir")
@click.option("--json", "as_json", is_flag=True, help="Print the whole manifest as JSON on stdout.")
def info(model_dir: str, as_json: bool) -> None:
    """Describe the model in MODEL_DIR: settings, columns, training and held-out metrics.

    \b
    Example:
      lstmcast info model/
      lstmcast info model/ --json | jq .metrics.mse
    """
    from lstmcast.artifact import read_manifest
    from lstmcast.console import info_table
    from lstmcast.write import write_json

    manifest = read_manifest(model_dir)
    if as_json:
        write_json(manifest, "-")
    else:
        try:
            info_table(make_console(), manifest)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ArtifactError(f"{model_dir}: manifest.json is incomplete ({exc})") from None


def _parse_size(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in value.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"give the size as WIDTHxHEIGHT in pixels, like 1200x600; got {value!r}") from None
    from lstmcast.plot import check_size

    return check_size((width, height))  # before any work


@cli.command()
@click.argument("model_dir")
@click.argument("data", required=False)
@click.option("-o", "--output", required=True, metavar="PNG", help="The PNG file to write (atomically).")
@click.option(
    "--history",
    "show_history",
    is_flag=True,
    help="Draw the training and validation loss per epoch, with the early-stopping point, instead of a "
    "forecast (takes no DATA).",
)
@click.option(
    "--origin",
    default=None,
    metavar="TIME|ROW",
    help="Forecast from this row (a time of DATA's time column, or a row number from 1), so the actual values "
    "show beside the forecast; default: after the last row.",
)
@click.option(
    "--series",
    "series_id",
    default=None,
    metavar="ID",
    help="For a model of many series: the id of the series to plot (its rows of DATA).",
)
@click.option(
    "--reliability",
    is_flag=True,
    help="Draw a reliability diagram of the event probabilities over every origin of DATA instead of a forecast "
    "(a model trained with --threshold).",
)
@click.option(
    "--context",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Observed rows to draw before the origin (default: the lookback).",
)
@click.option(
    "--threshold",
    default=None,
    metavar="X|qP",
    help="Draw this threshold and mark its events (default: the one the model was trained with, if any).",
)
@click.option(
    "--event",
    type=click.Choice(EVENTS),
    default=None,
    help="Which side of --threshold is an event (default: the model's, else above).",
)
@click.option("--alert-level", type=float, default=None, metavar="Y", help="Mark forecast steps beyond Y as alerts.")
@click.option(
    "--size", default="1200x600", show_default=True, callback=_parse_size, metavar="WxH", help="Image size in pixels."
)
@input_format_option
@legacy_device_option
@threads_option
def plot(
    model_dir: str,
    threads: int | None,
    data: str | None,
    output: str,
    show_history: bool,
    origin: str | None,
    series_id: str | None,
    reliability: bool,
    context: int | None,
    threshold: str | None,
    event: str | None,
    alert_level: float | None,
    size: tuple[int, int],
    input_format: str | None,
    device: str | None,
) -> None:
    """Draw a forecast of DATA (or, with --history, the model's loss curves) as a PNG.

    The forecast plot shows the last observed values, the forecast, the actual values where DATA
    has them (see --origin), the threshold and alert level, the rows beyond the threshold and the
    forecast steps that raise an alert. Needs the plot extra: pip install 'lstmcast[plot]'.

    \b
    Example:
      lstmcast plot model/ sample_data/load.csv -o forecast.png
      lstmcast plot model/ sample_data/load.csv --origin "2024-03-01 00:00" --threshold 80 -o check.png
      lstmcast plot --history model/ -o loss.png
    """
    _forecast_in_numpy(threads, device)
    from lstmcast import plot as plotting

    plotting.require_matplotlib()
    drawn = (data, origin, threshold, series_id, event, alert_level, context, input_format)
    if show_history and any(value is not None for value in drawn):
        raise click.UsageError(
            "--history draws the loss curves only: it takes no DATA, --origin, --series, --threshold, --event, "
            "--alert-level, --context or --input-format"
        )
    if not show_history and data is None:
        raise click.UsageError("give DATA to forecast from (or --history for the loss curves)")
    given = (origin, threshold, series_id, event, alert_level, context)
    if reliability and (show_history or any(value is not None for value in given)):
        raise click.UsageError(
            "--reliability draws the model's own event probabilities over all of DATA: not with --history, --origin, "
            "--series, --threshold, --event, --alert-level or --context"
        )
    outputs = _outputs()
    outputs.inputs(data, model_dir)  # no output may replace what the command reads
    png = _png_output(outputs, output)
    if show_history:
        from lstmcast.artifact import read_manifest, start_val_loss

        manifest = read_manifest(model_dir)
        training = manifest.get("training", {})
        plotting.plot_history(
            png,
            manifest["history"],
            int(training.get("best_epoch", 0)),
            start_val_loss=start_val_loss(manifest),
            title=f"Training of {model_dir}",
            size=size,
        )
        outputs.commit()
        return
    from lstmcast.forecast import Forecaster
    from lstmcast.read import read_table

    forecaster = Forecaster.load(model_dir)
    forecaster.check_plot_options(  # before DATA
        threshold, event, alert_level, series_id, reliability=reliability, origin=origin
    )
    if reliability:
        scores = forecaster.reliability(read_table(data, input_format, text=forecaster.id_col))
        event = forecaster.events_ or {}
        side = ">" if event.get("event") == "above" else "<"
        where = data if data != "-" else "<stdin>"
        threshold = event.get("threshold")
        level = f"{threshold:g}" if threshold is not None else f"its series' q{event.get('quantile') or 0:g}"
        name = f"{forecaster.columns_[0]} {side} {level}"
        plotting.plot_reliability(png, scores["reliability"], title=f"Reliability of P({name}) on {where}", size=size)
        outputs.commit()
        return
    frame = read_table(data, input_format, text=forecaster.id_col)
    history, forecast, actual = forecaster.forecast_context(frame, origin, context, series_id)
    settings = forecaster.event_settings(threshold, event, alert_level, series=series_id)
    bands = forecaster.forecast_bands(frame, origin, series_id)
    alerts = forecaster.forecast_alerts(frame, origin, series_id) if threshold is None and alert_level is None else None
    about = f"{data if data != '-' else '<stdin>'}" + (f" ({forecaster.id_col} {series_id})" if series_id else "")
    plotting.plot_forecast(
        png,
        history,
        forecast,
        actual,
        threshold=settings.level if settings else None,
        event=settings.event if settings else "above",
        alert_level=settings.alert_level if settings else None,
        title=f"{forecaster.columns_[0]}: forecast of {about} by {model_dir}",
        size=size,
        bands=bands,
        alerts=alerts,
    )
    outputs.commit()


@cli.command("tune")
@click.argument("data")
@click.option(
    "-o",
    "--output",
    "model_dir",
    required=True,
    metavar="MODEL_DIR",
    help="Where to save the best trial's model (replaced atomically if it holds an earlier model).",
)
@click.option(
    "--grid",
    multiple=True,
    required=True,
    metavar="NAME=V1,V2|LOW..HIGH",
    help="Values to try for one setting (repeatable); LOW..HIGH or log:LOW..HIGH is a range for --random.",
)
@click.option(
    "--random",
    "n_random",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Try N settings sampled from the grid and ranges instead of every combination.",
)
@click.option(
    "--budget",
    default=None,
    metavar="DURATION",
    help="Stop the search after this long (90s, 10m, 1.5h or seconds); the trial running keeps its best epoch.",
)
@click.option(
    "--trials",
    "trials_path",
    default=None,
    metavar="PATH",
    help="Also write the trials table (CSV, Parquet or JSON by suffix; - is stdout).",
)
@data_options
@id_col_option
@level_option
@quantiles_option
@threshold_options
@tune_alert_option
@alert_prob_options
@window_options
@model_options
@train_options
@quiet_option
@threads_option
@click.option(
    "--json", "as_json", is_flag=True, help="Print the best settings, the trials and the test metrics as JSON."
)
@click.pass_context
def tune_command(
    ctx: click.Context,
    threads: int | None,
    data: str,
    model_dir: str,
    grid: tuple[str, ...],
    n_random: int | None,
    budget: str | None,
    trials_path: str | None,
    input_format: str | None,
    quiet: bool,
    as_json: bool,
    seed: int,
    threshold: str | None,
    event: str | None,
    alert_level: float | None,
    tolerance: int | None,
    tune_alert_level: bool,
    alert_prob: float | None,
    tune_alert_prob: bool,
    **params: Any,
) -> None:
    """Search model and training settings on DATA; save the best model to MODEL_DIR.

    Every combination of the --grid values is trained (or N samples with --random N), starting from
    the other options, each with early stopping. Trials are ranked by validation MSE only; the best
    is kept as trained, its held-out test part is scored, and it is saved like a `train` model.
    With --threshold, every trial keeps the threshold events (and tunes its alert level or
    probability when asked), so the saved model alerts as a `train --threshold` model does.

    \b
    Example:
      lstmcast tune load.csv --target load --grid hidden=32,64 --grid layers=1,2 -o best-model/
      lstmcast tune load.csv --target load --grid model=lstm,gru --grid lr=log:1e-4..1e-2 \\
          --random 20 --budget 10m --trials trials.csv -o best-model/
    """
    from lstmcast import tune as tuning
    from lstmcast.artifact import check_replaceable, is_model_dir, write_model_files
    from lstmcast.console import announce_search, print_trial, search_report
    from lstmcast.read import read_table
    from lstmcast.train import use_threads
    from lstmcast.write import json_bytes, table_bytes

    console = make_console()
    use_threads(threads)
    if as_json and trials_path == "-":
        raise click.UsageError("--json and --trials - both want stdout; write the trials to a file")
    space = tuning.parse_grid(grid)
    params["events"] = _event_settings(
        params.get("id_col"), threshold, event, alert_level, tolerance, tune_alert_level, alert_prob, tune_alert_prob
    )
    budget_seconds = tuning.parse_duration(budget) if budget is not None else None
    plan = tuning.plan_trials(space, params, n_random, seed)  # every value checked before any work
    outputs = _outputs()
    outputs.inputs(data)  # no output may replace what the command reads
    model_output = outputs.directory(model_dir, check=check_replaceable, is_ours=is_model_dir)
    trials_output, trials_format = _table_output(outputs, trials_path, "--trials")
    json_output = outputs.file("-") if as_json else None
    frame = read_table(data, input_format, text=params.get("id_col"))
    if not quiet:
        announce_search(console, plan, n_random, budget)
    on_trial = None if quiet else functools.partial(print_trial, console, list(space), len(plan.settings))
    result = tuning.tune(
        frame, space, params, n_random=n_random, budget_seconds=budget_seconds, seed=seed, on_trial=on_trial
    )
    assert model_output.staging is not None
    write_model_files(model_output.staging, result.forecaster.model_files(), name=model_dir)
    if trials_output is not None and trials_format is not None:
        trials_output.set(table_bytes(result.trials, trials_format))
    if json_output is not None:
        json_output.set(json_bytes(result.to_dict()))
    outputs.commit()
    if not quiet:
        search_report(console, result, model_dir, budget)
        if result.forecaster.state_.panel is not None:
            from lstmcast.console import panel_note

            panel_note(console, result.forecaster.metrics_, result.forecaster.training_)
    if result.stopped in ("interrupted", "terminated"):
        done = f"{len(result.trial_list)} of {len(result.plan.settings)}"
        print_warning(
            console,
            f"the search was {result.stopped} at trial {done}; saved the best so far (trial {result.best_trial}) "
            f"to {model_dir}",
        )
        ctx.exit(ExitCode.TERMINATED if result.stopped == "terminated" else ExitCode.INTERRUPTED)


def main() -> None:
    """The console script (through ``lstmcast.entry``). Click's own errors (a bad option: exit 2)
    are shown here rather than by Click, so that a stderr that cannot take the message (a full
    disk, a reader gone, closed) leaves the exit status as it is and never lands on stdout, as for
    every other message; and the group's ``--help`` or ``--version`` that cannot be written is exit
    5, not a traceback. (Click itself turns a broken pipe there into exit 1.)"""
    global _IN_OWN_PROCESS
    _IN_OWN_PROCESS = True
    try:
        code = cli.main(prog_name="lstmcast", standalone_mode=False)
    except click.ClickException as exc:
        if sys.stderr is not None:  # closed (2>&-): Click would print it on stdout instead
            with contextlib.suppress(OSError):
                exc.show()
        sys.exit(exc.exit_code)
    except OSError as exc:
        if _COMMAND_RAN:  # --debug: a command's own error, re-raised for its traceback
            raise
        with contextlib.suppress(OSError):
            print_error(make_console(), f"cannot write the output: {exc.strerror or exc}")
        sys.exit(ExitCode.OUTPUT)
    except click.Abort:  # Ctrl-C at a prompt; lstmcast asks none, but Click may raise it
        sys.exit(ExitCode.INTERRUPTED)
    sys.exit(code if isinstance(code, int) else 0)
