import numpy as np
import pandas as pd
import pytest

from lstmcast import DataConfig, DataError, DataWarning, Forecaster
from lstmcast.validate import format_rows, validate_frame


def table(**columns) -> pd.DataFrame:
    frame = pd.DataFrame(columns)
    frame.attrs["source"] = "data.csv"
    return frame


TIMES = ["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 02:00", "2024-01-01 03:00", "2024-01-01 04:00"]


def test_time_column_and_single_numeric_target_are_found_without_flags() -> None:
    series = validate_frame(table(when=TIMES, load=[1, 2, 3, 4, 5]), DataConfig())
    assert series.time_col == "when"
    assert series.columns == ("load",)
    assert series.frequency == "h"
    assert series.values.dtype == np.float32
    assert series.values[:, 0].tolist() == [1, 2, 3, 4, 5]


def test_several_numeric_columns_need_target_and_the_error_lists_them() -> None:
    with pytest.raises(DataError, match=r"^data\.csv: several numeric columns; pass --target, one of: a, b$"):
        validate_frame(table(time=TIMES, a=[1.0] * 5, b=[2.0] * 5), DataConfig())


def test_features_come_after_the_target() -> None:
    frame = table(time=TIMES, a=[1.0] * 5, b=[2.0, 3.0, 4.0, 5.0, 6.0])
    series = validate_frame(frame, DataConfig(target="b", features=("a",)))
    assert series.columns == ("b", "a")
    assert series.values[0].tolist() == [2.0, 1.0]


def test_a_table_without_timestamps_uses_row_order() -> None:
    series = validate_frame(table(y=[1.0, 2.0, 3.0]), DataConfig())
    assert series.index is None and series.frequency is None


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (DataConfig(target="nope"), r"^data\.csv: target column 'nope' not found; columns are: time, y$"),
        (DataConfig(time_col="when"), r"^data\.csv: time column 'when' not found; columns are: time, y$"),
        (DataConfig(target="y", features=("z",)), r"^data\.csv: feature column 'z' not found"),
    ],
)
def test_unknown_columns_are_named_with_the_available_ones(config: DataConfig, message: str) -> None:
    with pytest.raises(DataError, match=message):
        validate_frame(table(time=TIMES, y=[1.0] * 5), config)


def test_non_numeric_target_names_column_rows_and_value() -> None:
    frame = table(time=TIMES, y=["1", "2", "n/a?", "oops", "5"])
    with pytest.raises(DataError, match=r"^data\.csv: column 'y', rows 3-4: not a number \(e\.g\. 'n/a\?'\)$"):
        validate_frame(frame, DataConfig(target="y"))


def test_unparsable_timestamps_name_the_rows() -> None:
    frame = table(time=[*TIMES[:3], "yesterday", TIMES[4]], y=[1.0] * 5)
    with pytest.raises(DataError, match=r"^data\.csv: column 'time', row 4: not a timestamp \(e\.g\. 'yesterday'\)$"):
        validate_frame(frame, DataConfig())


def test_duplicate_timestamps_name_every_copy() -> None:
    frame = table(time=[TIMES[0], TIMES[1], TIMES[1], TIMES[3], TIMES[4]], y=[1.0] * 5)
    with pytest.raises(DataError, match=r"^data\.csv: column 'time', rows 2-3: duplicate timestamp 2024-01-01 01:00"):
        validate_frame(frame, DataConfig())


def test_missing_values_are_an_error_by_default_suggesting_fill() -> None:
    frame = table(time=TIMES, y=[1.0, np.nan, 3.0, np.nan, 5.0])
    with pytest.raises(DataError, match=r"column 'y', rows 2, 4: missing value; pass --fill interpolate\|ffill\|drop"):
        validate_frame(frame, DataConfig())


def test_infinite_values_are_named_as_such() -> None:
    frame = table(time=TIMES, y=[1.0, np.inf, 3.0, 4.0, 5.0])
    with pytest.raises(DataError, match=r"column 'y', row 2: infinite value"):
        validate_frame(frame, DataConfig())


@pytest.mark.parametrize(
    ("fill", "expected"),
    [("interpolate", [1, 2, 3, 4, 5]), ("ffill", [1, 1, 3, 3, 5]), ("drop", [1, 3, 5])],
)
def test_fill_repairs_gaps_with_a_warning(fill: str, expected: list[float]) -> None:
    frame = table(time=TIMES, y=[1.0, np.nan, 3.0, np.inf, 5.0])
    with pytest.warns(DataWarning, match=r"(filled|dropped) 2 rows"):
        series = validate_frame(frame, DataConfig(fill=fill))
    assert series.values[:, 0].tolist() == expected


def test_unsorted_timestamps_are_sorted_with_a_warning() -> None:
    frame = table(time=[TIMES[2], TIMES[0], TIMES[1], TIMES[4], TIMES[3]], y=[3.0, 1.0, 2.0, 5.0, 4.0])
    with pytest.warns(DataWarning, match="not in order; sorted them"):
        series = validate_frame(frame, DataConfig())
    assert series.values[:, 0].tolist() == [1, 2, 3, 4, 5]
    assert series.index.is_monotonic_increasing


def test_irregular_spacing_warns_and_uses_the_typical_step() -> None:
    times = pd.date_range("2024-01-01", periods=10, freq="h").delete(4)
    frame = table(time=times.astype(str), y=np.arange(9.0))
    with pytest.warns(DataWarning, match="irregular spacing: 1 of 8 gaps differ from the typical step of 0 days 01:00"):
        series = validate_frame(frame, DataConfig())
    assert series.frequency == "h"


@pytest.mark.parametrize("freq", ["D", "ME", "MS", "W-SUN", "15min", "B"])
def test_calendar_frequencies_are_inferred(freq: str) -> None:
    times = pd.date_range("2024-01-01", periods=12, freq=freq)
    series = validate_frame(table(time=times.astype(str), y=np.arange(12.0)), DataConfig())
    assert pd.tseries.frequencies.to_offset(series.frequency) == pd.tseries.frequencies.to_offset(freq)


def test_format_rows_groups_runs_and_counts_the_rest() -> None:
    assert format_rows(np.array([4])) == "row 5"
    assert format_rows(np.array([1, 2, 3, 7, 9, 10, 20, 30])) == "rows 2-4, 8, 10-11 and 2 more"


def test_missing_values_are_named_by_file_row_even_when_the_file_is_unsorted() -> None:
    frame = table(time=TIMES[::-1], y=[5.0, np.nan, 3.0, 2.0, 1.0])
    with pytest.raises(DataError, match=r"column 'y', row 2: missing value"):
        validate_frame(frame, DataConfig())


def test_values_beyond_32_bit_floats_are_a_clear_error() -> None:
    with pytest.raises(DataError, match=r"column 'y', row 3: value too large for 32-bit floats"):
        validate_frame(table(time=TIMES, y=[1.0, 2.0, 1e39, 4.0, 5.0]), DataConfig())


def test_mixed_utc_offsets_across_a_clock_change_parse_as_utc() -> None:
    times = ["2024-03-31 00:00+01:00", "2024-03-31 01:00+01:00", "2024-03-31 03:00+02:00", "2024-03-31 04:00+02:00"]
    series = validate_frame(table(time=times, y=[1.0, 2.0, 3.0, 4.0]), DataConfig())
    assert series.time_col == "time" and series.frequency == "h"
    assert str(series.index.tz) == "UTC"


def test_a_datetime_index_is_used_as_the_time_column() -> None:
    frame = pd.DataFrame({"y": [1.0, 2.0, 3.0]}, index=pd.date_range("2024-01-01", periods=3, freq="D"))
    series = validate_frame(frame, DataConfig())
    assert series.time_col == "time" and series.frequency == "D"


def test_a_long_list_of_columns_is_cut_to_the_first_ten_and_a_count() -> None:
    frame = pd.DataFrame(np.zeros((2, 10_000)), columns=[f"sensor_{i}" for i in range(10_000)])
    frame.attrs["source"] = "wide.csv"
    with pytest.raises(DataError) as caught:
        validate_frame(frame, DataConfig(target="load"))
    message = str(caught.value)
    first_ten = ", ".join(f"sensor_{i}" for i in range(10))
    assert message == f"wide.csv: target column 'load' not found; columns are: {first_ten}, ... and 9,990 more"


def test_a_close_match_is_suggested() -> None:
    with pytest.raises(DataError, match=r"^data\.csv: target column 'lod' not found \(did you mean 'load'\?\); "):
        validate_frame(table(time=TIMES, load=[1.0] * 5), DataConfig(target="lod"))


def test_very_long_column_names_are_shortened_in_messages() -> None:
    long = "x" * 500
    with pytest.raises(DataError, match=rf"columns are: time, {'x' * 57}\.\.\.$"):
        validate_frame(table(**{"time": TIMES, long: [1.0] * 5}), DataConfig(target="y"))


def test_the_list_of_numeric_columns_to_choose_from_is_cut_too() -> None:
    frame = pd.DataFrame(np.arange(60.0).reshape(2, 30), columns=[f"c{i}" for i in range(30)])
    with pytest.raises(DataError, match=r"pass --target, one of: c0, c1, .*, c9, \.\.\. and 20 more$"):
        validate_frame(frame, DataConfig())


def test_a_time_column_with_many_unparsable_values_is_an_error_not_ignored() -> None:
    # 4 of 9 values parse: under half, so the column is not taken as the time column, and ignoring
    # it would silently train on row order.
    times = [*TIMES[:2], "soon", "n/a", "later", "??", "never", *TIMES[2:4]]
    frame = table(time=times, load=[1.0, 2, 3, 4, 5, 6, 7, 8, 9])
    with pytest.raises(
        DataError,
        match=r"^data\.csv: column 'time', rows 3-7: not a timestamp \(e\.g\. 'soon'\), so the column was not "
        r"taken as the time column; fix those values, or name the time column with --time-col$",
    ):
        validate_frame(frame, DataConfig())
    with pytest.raises(DataError, match=r"^data\.csv: column 'time', rows 3-7: not a timestamp \(e\.g\. 'soon'\)$"):
        validate_frame(frame, DataConfig(time_col="time"))


def test_a_text_column_where_few_values_look_like_dates_is_not_a_time_column() -> None:
    notes = ["ok"] * 19 + ["May"]  # 'May' parses as a date: one in twenty is no time column
    series = validate_frame(table(note=notes, load=np.arange(20.0)), DataConfig(target="load"))
    assert series.time_col is None


def test_a_constant_target_warns_that_the_forecast_can_only_repeat_it() -> None:
    message = r"^data\.csv: column 'load' is constant \(every value is 5\); the forecast can only repeat it$"
    with pytest.warns(DataWarning, match=message):
        validate_frame(table(time=TIMES, load=[5.0] * 5), DataConfig())


def test_a_flat_stretch_to_forecast_from_need_not_warn() -> None:
    series = validate_frame(table(time=TIMES, load=[0.0] * 5), DataConfig(), warn_constant=False)
    assert series.values[:, 0].tolist() == [0.0] * 5


@pytest.mark.parametrize(
    ("values", "holds"),
    [
        (pd.to_datetime(TIMES), "timestamps, not numbers"),  # pandas counted them as nanoseconds
        (pd.to_timedelta([1, 2, 3, 4, 5], unit="s"), "durations, not numbers"),
        (np.arange(5) + 1j, "complex numbers, not real ones"),  # the imaginary part was dropped
        (pd.period_range("2024-01", periods=5, freq="M"), "periods, not numbers"),
    ],
)
def test_a_column_of_times_durations_or_complex_numbers_is_not_a_target_or_feature(values, holds: str) -> None:
    with pytest.raises(DataError, match=rf"^data\.csv: column 'y' holds {holds}$"):
        validate_frame(table(time=TIMES, y=values), DataConfig(target="y"))
    with pytest.raises(DataError, match=rf"^data\.csv: column 'y' holds {holds}$"):
        validate_frame(table(time=TIMES, load=[1.0] * 5, y=values), DataConfig(target="load", features=("y",)))


def test_a_frame_naming_a_column_twice_is_a_data_error() -> None:
    frame = table(time=TIMES, load=[1.0] * 5, x=[2.0] * 5).set_axis(["time", "load", "load"], axis=1)
    with pytest.raises(DataError, match=r"^data\.csv: column name 'load' appears 2 times; rename them$"):
        validate_frame(frame, DataConfig(target="load"))
    frame = table(time=TIMES, load=[1.0] * 5, x=TIMES).set_axis(["time", "load", "time"], axis=1)
    with pytest.raises(DataError, match=r"^data\.csv: column name 'time' appears 2 times; rename them$"):
        validate_frame(frame, DataConfig(target="load", time_col="time"))


@pytest.mark.parametrize("frame", [pd.Series([1.0, 2.0]), np.ones((5, 2)), None, {"load": [1.0]}])
def test_anything_but_a_data_frame_is_a_data_error_naming_its_type(frame) -> None:
    with pytest.raises(DataError, match=r"^expected a pandas DataFrame \(read_table reads one from a file\); got "):
        validate_frame(frame, DataConfig(target="load"))
    with pytest.raises(DataError, match=r"^expected a pandas DataFrame"):  # not an AttributeError from inside
        Forecaster(target="load").fit(frame)


@pytest.mark.parametrize("frame", [pd.DataFrame(), pd.DataFrame(index=range(3))], ids=["empty", "rows-only"])
@pytest.mark.parametrize("settings", [{"target": "load"}, {}, {"target": "load", "id_col": "store"}])
def test_a_table_of_no_columns_says_so_rather_than_listing_none(frame: pd.DataFrame, settings: dict) -> None:
    with pytest.raises(DataError, match=r"^<frame>: the table has no columns$"):
        Forecaster(**settings).fit(frame)
