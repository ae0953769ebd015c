"""ChannelAttribution-style paths files: layouts users have, both input forms, clear errors."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxlab.channels import Paths, attribute, read_paths
from cxlab.channels.parse import split_paths

CA_SAMPLE = """path;total_conversions;total_conversion_value;total_null
eta > iota > alpha > eta;1;0.244;3
iota > iota > iota > iota;2;3.195;6
alpha>iota;1;7.6;0
beta > beta;0;0;2
alpha > iota;0;0;1
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_the_ca_sample_layout_and_merges_equal_paths(tmp_path: Path) -> None:
    p = read_paths(write(tmp_path / "Data.csv", CA_SAMPLE))
    t = p.to_frame().set_index("path")
    assert p.channels == ("alpha", "beta", "eta", "iota")
    assert sorted(t.index) == [
        "alpha > iota",
        "beta > beta",
        "eta > iota > alpha > eta",
        "iota > iota > iota > iota",
    ]
    assert t.loc["alpha > iota"].tolist() == [1.0, 7.6, 1.0]
    assert t.loc["iota > iota > iota > iota"].tolist() == [2.0, 3.195, 6.0]
    assert p.source == str(tmp_path / "Data.csv")


def test_value_and_null_columns_are_optional_and_gzip_and_parquet_work(tmp_path: Path) -> None:
    plain = read_paths(write(tmp_path / "p.csv", "path,total_conversions\na > b,3\nb,1\n"))
    assert plain.value.tolist() == [0.0, 0.0] and plain.nulls.tolist() == [0.0, 0.0]
    gz = tmp_path / "p.csv.gz"
    gz.write_bytes(gzip.compress(CA_SAMPLE.encode()))
    pq = tmp_path / "p.parquet"
    pd.read_csv(write(tmp_path / "s.csv", CA_SAMPLE), sep=";").to_parquet(pq)
    a, b = read_paths(gz).to_frame(), read_paths(pq).to_frame()
    pd.testing.assert_frame_equal(a, b)


def test_one_row_per_journey_equals_aggregated_paths(tmp_path: Path, random_paths: Any) -> None:
    agg = random_paths(3, n=150)
    rows = []  # expand every path into its journeys: one converting row per conversion, one per null
    for r in agg.itertuples():
        each = r.total_conversion_value / r.total_conversions if r.total_conversions else 0.0
        rows += [(r.path, 1, each, 0)] * int(r.total_conversions) + [(r.path, 0, 0.0, 1)] * int(r.total_null)
    per_journey = pd.DataFrame(
        rows, columns=["path", "total_conversions", "total_conversion_value", "total_null"]
    )
    per_journey = per_journey.sample(frac=1.0, random_state=0)
    agg.to_csv(tmp_path / "agg.csv", index=False)
    per_journey.to_csv(tmp_path / "each.csv", index=False)
    a, b = read_paths(tmp_path / "agg.csv"), read_paths(tmp_path / "each.csv")
    pd.testing.assert_frame_equal(
        a.to_frame().sort_values("path", ignore_index=True),
        b.to_frame().sort_values("path", ignore_index=True),
        check_exact=False,
        rtol=1e-9,
    )
    for model in ("linear", "markov", "shapley"):
        np.testing.assert_allclose(
            attribute(a, model).table["conversions"], attribute(b, model).table["conversions"], rtol=1e-9
        )
    again = read_paths(tmp_path / "each.csv")  # the same file gives bit-identical paths and counts
    assert again.to_frame().equals(b.to_frame())


def test_data_frames_are_accepted() -> None:
    df = pd.DataFrame({"path": ["x > y", "y"], "total_conversions": [1, 2], "total_null": [5, 0]})
    p = read_paths(df)
    assert p.channels == ("x", "y") and p.nulls.tolist() == [5.0, 0.0]
    assert Paths.from_frame(df).to_frame().equals(p.to_frame())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "path,conversions\na,1\n",
            "p.csv: missing required column 'total_conversions' (columns are: path, conversions)",
        ),
        ("path,total_conversions\na,1\nb,two\n", "p.csv:3: total_conversions: not a number: 'two'"),
        (
            "path,total_conversions,total_null\na,1,0\nb,1,-2\n",
            "p.csv:3: total_null: must be a finite number >= 0, got '-2'",
        ),
        ("path,total_conversions\na,1\n > ,1\n", "p.csv:3: path: no channel in the path"),
        ("path,total_conversions\na,1\n,1\n", "p.csv:3: path: missing value: a journey needs a path"),
    ],
)
def test_bad_rows_name_file_row_and_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError) as e:
        read_paths(write(tmp_path / "p.csv", text))
    assert str(e.value) == f"{tmp_path}/{message}"


def test_missing_or_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_paths(tmp_path / "nope.csv")
    with pytest.raises(ValueError, match="unknown file type"):
        read_paths(write(tmp_path / "p.xlsx", "x"))


token = st.lists(
    st.sampled_from([*"ab _éø\t日|→", "\u00a0", "\u3000", "a_very_long_channel_name_over_16_bytes"]),
    max_size=6,
).map("".join)


def as_arrow(paths: list[str], form: str) -> pa.Array | pa.ChunkedArray:
    """The same strings as Arrow holds them in the forms the splitter meets."""
    if form == "string":
        return pa.array(paths, pa.string())
    if form == "large_string":
        return pa.array(paths, pa.large_string())
    if form == "chunked":
        half = len(paths) // 2
        return pa.chunked_array([pa.array(paths[:half], pa.string()), pa.array(paths[half:], pa.string())])
    return pa.array(["x > y", *paths, "z"], pa.string()).slice(1, len(paths))  # an offset into the buffers


@settings(max_examples=150, deadline=None)
@given(
    tokens=st.lists(st.lists(token, min_size=1, max_size=6), min_size=1, max_size=20),
    sep=st.sampled_from([">", "|", " >", "→", ">>"]),
    form=st.sampled_from(["string", "large_string", "chunked", "sliced"]),
)
def test_splitter_equals_splitting_string_by_string(tokens: list[list[str]], sep: str, form: str) -> None:
    """One-byte separators (split on the raw bytes) and longer ones (Arrow's split) both equal Python's
    split and strip, whatever the Arrow layout of the strings."""
    paths = [sep.join(t) for t in tokens]
    lengths, codes, names = split_paths(as_arrow(paths, form), sep)
    expected = [[t.strip() for t in p.split(sep) if t.strip()] for p in paths]
    assert lengths.tolist() == [len(e) for e in expected]
    assert names == sorted({t for e in expected for t in e})
    assert [names[c] for c in codes] == [t for e in expected for t in e]


@pytest.mark.parametrize(
    ("path", "channels"),
    [
        ("a>b", ["a", "b"]),
        ("  a   >   b  ", ["a", "b"]),
        ("a >> b", ["a", "b"]),
        ("> a > > b >", ["a", "b"]),
        ("a", ["a"]),
        ("  a  ", ["a"]),
        ("café > 日本 > søk", ["café", "日本", "søk"]),
        ("paid search > e mail", ["paid search", "e mail"]),
        ("a\t>\u00a0b", ["a", "b"]),
    ],
)
def test_path_strings_split_into_trimmed_channels(tmp_path: Path, path: str, channels: list[str]) -> None:
    f = tmp_path / "p.csv"
    pd.DataFrame({"path": [path], "total_conversions": [1]}).to_csv(f, index=False)
    for source in (f, pd.read_csv(f)):
        assert read_paths(source).path_strings(" > ") == [" > ".join(channels)]


def test_a_path_column_of_numbers_is_channel_names(tmp_path: Path) -> None:
    p = read_paths(write(tmp_path / "p.csv", "path,total_conversions\n1,1\n2,0\n1,3\n"))
    assert p.channels == ("1", "2") and p.conversions.tolist() == [4.0, 0.0]


@pytest.mark.parametrize("repeated", [False, True])
def test_an_empty_path_names_its_first_row(tmp_path: Path, repeated: bool) -> None:
    """Whether equal strings are summed before splitting (rows that repeat paths) or not, a path with no
    channel is reported at the first row that holds it."""
    rows = ["a > b"] * (40 if repeated else 1) + [f"c{i}" for i in range(0 if repeated else 40)]
    rows[7:7] = [" > >", "x", " > >"]
    f = tmp_path / "p.csv"
    pd.DataFrame({"path": rows, "total_conversions": 1}).to_csv(f, index=False)
    with pytest.raises(ValueError) as e:
        read_paths(f)
    assert str(e.value) == f"{f}:9: path: no channel in the path"


def test_rows_repeating_paths_are_summed_as_if_split_one_by_one(random_paths: Any) -> None:
    """Summing equal strings first (rows that repeat paths) gives the same paths and counts as splitting
    every row and merging equal channel sequences."""
    agg = random_paths(8, n=40)
    rows = agg.loc[np.repeat(agg.index, 25)].sample(frac=1.0, random_state=1).reset_index(drop=True)
    direct = Paths.from_frame(rows).unique()
    summed = read_paths(rows)
    key = ["path"]
    pd.testing.assert_frame_equal(
        summed.to_frame().sort_values(key, ignore_index=True),
        direct.to_frame().sort_values(key, ignore_index=True),
        check_exact=False,
        rtol=1e-12,
    )
    assert summed.channels == direct.channels


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.lists(st.sampled_from("abc"), min_size=1, max_size=4), st.integers(0, 3), st.integers(0, 3)
        ),
        min_size=1,
        max_size=30,
    )
)
def test_unique_merges_equal_paths_exactly(rows: list[tuple[list[str], int, int]]) -> None:
    spaced = [(" > " if i % 2 else ">").join(p) for i, (p, _, _) in enumerate(rows)]
    p = Paths.from_strings(
        spaced, [c for _, c, _ in rows], [2.5 * c for _, c, _ in rows], [n for *_, n in rows]
    )
    u = p.unique()
    strings = u.path_strings()
    assert len(strings) == len(set(strings)) == len({" > ".join(r[0]) for r in rows})
    assert (u.total_conversions, u.total_value, u.nulls.sum()) == (
        p.total_conversions,
        p.total_value,
        p.nulls.sum(),
    )
    for model in ("linear", "markov", "shapley"):
        a, b = attribute(p, model).table, attribute(u, model).table
        np.testing.assert_allclose(a["conversions"], b["conversions"], atol=1e-9)


@pytest.mark.parametrize(
    "text",
    [
        'path,total_conversions\na > b,1\n"c > d,2\ne,3\n',  # an unterminated quote swallows the rest
        "path,total_conversions\na > b,1\nc,2,9\ne,3\n",  # a field too many
    ],
)
def test_a_row_the_csv_reader_cannot_split_is_named(tmp_path: Path, text: str) -> None:
    """Read by the store's one reader: the error names the file, the row and that the row is malformed."""
    with pytest.raises(ValueError) as e:
        read_paths(write(tmp_path / "p.csv", text))
    assert str(e.value).startswith(f"{tmp_path}/p.csv:3: (row): malformed CSV row: ")
