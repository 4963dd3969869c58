import io
from pathlib import Path

import pandas as pd
import pytest

from lstmcast import DataError, read_table
from lstmcast.read import infer_format


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
