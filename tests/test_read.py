import io
from pathlib import Path

import pandas as pd
import pytest

from lstmcast import DataError, read_table
from lstmcast.read import infer_format, read_recent


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.csv", "csv"),
        ("a.CSV", "csv"),
        ("a.csv.gz", "csv"),
        ("a.tsv", "tsv"),
        ("a.parquet", "parquet"),
        ("a.pq", "parquet"),
        ("-", "csv"),
    ],
)
def test_format_comes_from_the_suffix(name: str, expected: str) -> None:
    assert infer_format(name) == expected


def test_an_unknown_suffix_asks_for_the_format_flag() -> None:
    with pytest.raises(
        DataError, match=r"^data\.xlsx: cannot tell the format .* pass --input-format csv\|tsv\|parquet"
    ):
        infer_format("data.xlsx")


def test_csv_parquet_and_stdin_read_the_same_table(tmp_path: Path, frame: pd.DataFrame) -> None:
    frame.to_csv(tmp_path / "s.csv", index=False)
    frame.to_parquet(tmp_path / "s.parquet", index=False)
    from_csv = read_table(tmp_path / "s.csv")
    from_parquet = read_table(tmp_path / "s.parquet")
    from_stdin = read_table("-", stdin=io.BytesIO((tmp_path / "s.csv").read_bytes()))
    pd.testing.assert_frame_equal(from_csv, from_parquet, check_dtype=False)
    pd.testing.assert_frame_equal(from_csv, from_stdin)
    assert from_stdin.attrs["source"] == "<stdin>"


def test_compressed_csv_is_read(tmp_path: Path, frame: pd.DataFrame) -> None:
    frame.to_csv(tmp_path / "s.csv.gz", index=False)
    assert len(read_table(tmp_path / "s.csv.gz")) == len(frame)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "the file is empty"),
        (b"time,y\n", "the file has no data rows"),
        (b"time,y\n2024-01-01,1\n2024-01-02,2,3,4\n", "not a readable CSV table"),
        ("time,y\n2024-01-01,caf\xe9\n".encode("latin-1"), "not UTF-8 text"),
    ],
)
def test_unreadable_input_is_a_data_error_naming_the_file(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=rf"^{path}: {message}"):
        read_table(path)


def test_a_corrupt_parquet_file_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataError, match=r"bad\.parquet: not a readable PARQUET file"):
        read_table(path)


def test_a_directory_is_not_a_data_file(tmp_path: Path) -> None:
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(DataError, match="is a directory"):
        read_table(tmp_path / "d.csv")


def test_a_missing_file_without_suffix_is_named_missing_not_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"export: no such file$"):
        read_table(tmp_path / "export")
    (tmp_path / "adir").mkdir()
    with pytest.raises(DataError, match=r"adir: is a directory"):
        read_table(tmp_path / "adir")


def test_a_closed_standard_input_is_a_data_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Python sets sys.stdin to None when descriptor 0 is closed, as in `lstmcast train - <&-`.
    monkeypatch.setattr("sys.stdin", None)
    with pytest.raises(DataError, match=r"^<stdin>: standard input is closed; pipe the data in or give a file$"):
        read_table("-")


def test_standard_input_that_fails_to_read_is_a_data_error() -> None:
    class Unreadable(io.RawIOBase):
        def read(self, size: int = -1) -> bytes:
            raise OSError(5, "Input/output error")

    with pytest.raises(DataError, match=r"^<stdin>: cannot read standard input \(Input/output error\)"):
        read_table("-", stdin=Unreadable())


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("data.csv", b"time,load,temperature,load\n2024-01-01,1,2,3\n"),
        ("data.csv", b'time,load,temperature,"load"\n2024-01-01,1,2,3\n'),  # quoting does not hide it
        ("data.csv", b"time, load,temperature,load\n2024-01-01,1,2,3\n"),  # nor a space after the comma
        ("data.tsv", b"time\tload\ttemperature\tload\n2024-01-01\t1\t2\t3\n"),
    ],
)
def test_a_repeated_column_name_is_an_error_not_a_silent_rename(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    message = r"column name 'load' appears 2 times \(columns 2 and 4\); rename them$"
    with pytest.raises(DataError, match=rf"^{path}: {message}"):
        read_table(path)


def test_repeated_names_are_found_in_compressed_files_and_on_stdin(tmp_path: Path) -> None:
    frame = pd.DataFrame([[1, 2, 3, 4]], columns=["time", "y", "y", "y"])
    frame.to_csv(tmp_path / "d.csv.gz", index=False)
    message = r"column name 'y' appears 3 times \(columns 2, 3 and 4\); rename them$"
    with pytest.raises(DataError, match=rf"^{tmp_path / 'd.csv.gz'}: {message}"):
        read_table(tmp_path / "d.csv.gz")
    with pytest.raises(DataError, match=rf"^<stdin>: {message}"):
        read_table("-", stdin=io.BytesIO(b"time,y,y,y\n1,2,3,4\n"))


def test_the_error_counts_the_other_repeated_names(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b"a,b,a,b,c,c\n1,2,3,4,5,6\n")
    with pytest.raises(DataError, match=r"'a' appears 2 times \(columns 1 and 3\); 2 other names repeat too; rename"):
        read_table(path)


def test_a_column_really_named_like_a_renamed_copy_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b"time,load,load.1\n2024-01-01,1,2\n")
    assert list(read_table(path).columns) == ["time", "load", "load.1"]


def test_a_parquet_file_with_a_repeated_column_name_is_named_as_such(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "d.parquet"
    pq.write_table(pa.table([pa.array([1.0]), pa.array([2.0]), pa.array([3.0])], names=["y", "x", "y"]), path)
    with pytest.raises(DataError, match=r"d\.parquet: column name 'y' appears 2 times \(columns 1 and 3\); rename"):
        read_table(path)
    with pytest.raises(DataError, match=r"^<stdin>: column name 'y' appears 2 times"):
        read_table("-", format="parquet", stdin=io.BytesIO(path.read_bytes()))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("d.csv", b"time,load,temperature\n2024-01-01,1,10,\n2024-01-02,2,20,\n"),  # a trailing comma on every row
        ("d.csv", b"time,load,temperature\n2024-01-01,1,10,\n2024-01-02,2,20\n"),  # on the first row only
        ("d.tsv", b"time\tload\ttemperature\n2024-01-01\t1\t10\t\n2024-01-02\t2\t20\t\n"),
    ],
)
def test_a_trailing_separator_leaves_every_column_under_its_own_name(tmp_path: Path, name: str, content: bytes) -> None:
    # pandas takes a first row one field longer than the header as a row index: every value would move one
    # column to the left, 'load' reading the temperatures, with no error.
    path = tmp_path / name
    path.write_bytes(content)
    expected = pd.DataFrame({"time": ["2024-01-01", "2024-01-02"], "load": [1, 2], "temperature": [10, 20]})
    for frame in (read_table(path), read_table("-", format=name[2:], stdin=io.BytesIO(content))):
        pd.testing.assert_frame_equal(frame.reset_index(drop=True), expected)
    assert list(read_table(path, text="load").columns) == ["time", "load", "temperature"]


@pytest.mark.parametrize(
    "content",
    [
        b"time,load\n2024-01-01,1,10\n2024-01-02,2,20\n",  # every row one value more than the header names
        b"time,load\n2024-01-01,1,10\n2024-01-02,2\n",
        b"time,load\n2024-01-01,1,,\n2024-01-02,2,,\n",
    ],
)
def test_rows_longer_than_the_header_are_an_error_not_a_shift(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=rf"^{path}: not a readable CSV table \(rows have more fields than the header"):
        read_table(path)


# -- reading only the recent end of a table (what predict needs) -----------------------------------


def long_frame(rows: int = 5000) -> pd.DataFrame:
    times = pd.date_range("2020-01-01", periods=rows, freq="h")
    return pd.DataFrame({"time": times.astype(str), "y": (pd.Series(range(rows)) % 24).astype(float)})


def test_the_last_rows_of_a_csv_are_read_without_the_rest(tmp_path: Path) -> None:
    long_frame().to_csv(tmp_path / "s.csv", index=False)
    recent = read_table(tmp_path / "s.csv", last_rows=50)
    assert recent.attrs["whole"] is False and len(recent) == 50
    whole = read_table(tmp_path / "s.csv")
    pd.testing.assert_frame_equal(recent, whole.tail(50).reset_index(drop=True))


def test_stdin_gives_the_same_last_rows_as_the_file(tmp_path: Path) -> None:
    long_frame().to_csv(tmp_path / "s.csv", index=False)
    from_stdin = read_table("-", stdin=io.BytesIO((tmp_path / "s.csv").read_bytes()), last_rows=50)
    pd.testing.assert_frame_equal(from_stdin, read_table(tmp_path / "s.csv", last_rows=50))


@pytest.mark.parametrize(
    ("name", "write"),
    [
        ("short.csv", lambda frame, path: frame.head(40).to_csv(path, index=False)),
        ("packed.csv.gz", lambda frame, path: frame.to_csv(path, index=False)),
        ("quoted.csv", lambda frame, path: frame.assign(note="a\nb").to_csv(path, index=False)),
        ("one-group.parquet", lambda frame, path: frame.to_parquet(path, index=False)),
    ],
    ids=["not longer", "compressed", "a quoted line break", "one row group"],
)
def test_a_table_that_cannot_be_cut_safely_is_read_whole(tmp_path: Path, name: str, write) -> None:
    write(long_frame(), tmp_path / name)
    recent = read_table(tmp_path / name, last_rows=50)
    assert recent.attrs["whole"] is True
    pd.testing.assert_frame_equal(recent, read_table(tmp_path / name))


def test_the_last_row_groups_of_a_parquet_file_are_read(tmp_path: Path) -> None:
    long_frame().to_parquet(tmp_path / "s.parquet", index=False, row_group_size=1000)
    recent = read_table(tmp_path / "s.parquet", last_rows=1500)
    assert recent.attrs["whole"] is False and len(recent) == 2000  # the last two groups of 1000
    whole = read_table(tmp_path / "s.parquet")
    pd.testing.assert_frame_equal(recent, whole.tail(2000).reset_index(drop=True))


def test_the_recent_part_grows_until_gaps_can_be_filled_from_before_them(tmp_path: Path) -> None:
    frame = long_frame()
    frame.loc[4940:4960, "y"] = None  # a gap across the 50th row from the end
    frame.to_csv(tmp_path / "s.csv", index=False)
    recent, _ = read_recent(tmp_path / "s.csv", 50, complete=["y"], time_col="time")
    assert not recent.attrs["whole"] and len(recent) == 200  # 50, then 4 x 50: its first row is complete
    assert recent["y"].notna().iloc[0]


def test_timestamps_out_of_order_make_the_whole_table_the_recent_part(tmp_path: Path) -> None:
    long_frame().iloc[::-1].to_csv(tmp_path / "s.csv", index=False)  # newest first: the end is the oldest
    recent, _ = read_recent(tmp_path / "s.csv", 50, complete=["y"], time_col="time")
    assert recent.attrs["whole"] and len(recent) == 5000
