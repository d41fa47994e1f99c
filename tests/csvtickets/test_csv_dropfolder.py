"""The CSV connector's drop folder: claim, done/, rejected/ with .error.txt, never overwrite."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bridge.errors import ConfigError, DataError
from tests.csvtickets.support import COLUMNS, DATA, commit, make, put


def test_check(drop: Path, tmp_path: Path) -> None:
    make(drop_folder=drop).check()
    with pytest.raises(ConfigError, match="not an existing folder"):
        make(drop_folder=tmp_path / "missing").check()
    with pytest.raises(ConfigError, match="no drop_folder"):
        make().check()


def test_streams_and_unknown_stream(drop: Path) -> None:
    conn = make(drop_folder=drop)
    assert tuple(conn.streams()) == ("sales",)
    with pytest.raises(DataError):
        list(conn.read("stock"))
    with pytest.raises(ConfigError):
        list(make().read("sales"))


def test_a_file_pages_its_tickets_then_moves_to_done(drop: Path) -> None:
    path = put(drop, "bad-rows.csv")
    conn = make(drop_folder=drop)
    (page,) = list(conn.read("sales"))
    assert [e.key for e in page.events] == ["1001/-/-/1", "1001/-/-/4"]
    assert [r.source for r in page.rejections] == ["bad-rows.csv:3", "bad-rows.csv:4"]
    assert page.cursor is None
    assert not path.exists(), "claimed: no other poller reads it"
    (claimed,) = (drop / "processing").iterdir()
    assert claimed.name.endswith("__bad-rows.csv")
    commit(page)
    assert not claimed.exists()
    assert (drop / "done" / "bad-rows.csv").read_bytes() == (DATA / "bad-rows.csv").read_bytes()
    assert list(conn.read("sales")) == []


def test_a_file_with_a_missing_column_goes_to_rejected_with_its_error(drop: Path) -> None:
    put(drop, "missing-column.csv")
    conn = make(
        drop_folder=drop,
        columns={"store": "Store", "ticket": "Receipt", "sku": "Item", "quantity": "Qty"},
    )
    (page,) = list(conn.read("sales"))
    assert page.events == []
    (rejection,) = page.rejections
    assert rejection.source == "missing-column.csv"
    expected = (
        "missing-column.csv:1: missing column 'Qty' (quantity); "
        "header found: ['Store', 'Receipt', 'Item', 'Quantity']"
    )
    assert rejection.error == expected
    commit(page)
    rejected = drop / "rejected"
    assert (rejected / "missing-column.csv").read_bytes() == (
        DATA / "missing-column.csv"
    ).read_bytes()
    assert (rejected / "missing-column.csv.error.txt").read_text() == expected + "\n"
    assert not (drop / "processing").exists() or not list((drop / "processing").iterdir())


def test_the_same_file_dropped_twice_gives_the_same_keys(drop: Path) -> None:
    conn = make(drop_folder=drop, columns=COLUMNS)
    keys = []
    for name in ("tickets.csv", "tickets.csv", "resent-by-the-till.csv"):
        put(drop, "tickets.csv", as_name=name)
        (page,) = list(conn.read("sales"))
        keys.append([e.key for e in page.events])
        commit(page)
    assert keys[0] == keys[1] == keys[2] and len(keys[0]) == 4
    assert sorted(p.name for p in (drop / "done").iterdir()) == [
        "resent-by-the-till.csv",
        "tickets.csv",
        "tickets~1.csv",
    ], "nothing overwritten"


def test_two_pollers_never_read_the_same_file(drop: Path) -> None:
    put(drop, "bad-rows.csv")
    first, second = make(drop_folder=drop), make(drop_folder=drop)
    pages = first.read("sales")
    page = next(pages)
    assert list(second.read("sales")) == []
    commit(page)
    assert list(pages) == []
    assert [p.name for p in (drop / "done").iterdir()] == ["bad-rows.csv"]


def test_a_claim_abandoned_by_a_killed_poller_is_read_again(drop: Path) -> None:
    put(drop, "bad-rows.csv", as_name="till__export.csv")  # a dropped name holding "__"
    conn = make(drop_folder=drop, claim_timeout=60)
    next(conn.read("sales"))  # the poller dies here: no commit
    (claimed,) = (drop / "processing").iterdir()
    assert list(conn.read("sales")) == [], "a fresh claim belongs to its poller"
    os.utime(claimed, (time.time() - 120, time.time() - 120))
    (page,) = list(conn.read("sales"))
    assert len(page.events) == 2
    commit(page)
    assert [p.name for p in (drop / "done").iterdir()] == ["till__export.csv"]


def test_young_files_wait_for_stable_seconds(drop: Path) -> None:
    path = put(drop, "bad-rows.csv", age=0)
    conn = make(drop_folder=drop, stable_seconds=30)
    assert list(conn.read("sales")) == []
    old = time.time() - 31
    os.utime(path, (old, old))
    assert len(list(conn.read("sales"))) == 1


def test_order_suffixes_hidden_files_and_subfolders(drop: Path) -> None:
    put(drop, "bad-rows.csv", as_name="b.csv", age=100)
    put(drop, "bad-rows.csv", as_name="a.csv", age=50)
    put(drop, "bad-rows.csv", as_name="c.CSV", age=100)
    put(drop, "bad-rows.csv", as_name="d.txt", age=100)
    put(drop, "bad-rows.csv", as_name=".partial.csv", age=100)
    for sub in ("done", "rejected"):
        (drop / sub).mkdir()
        put(drop / sub, "bad-rows.csv", as_name="old.csv")
    pages = list(make(drop_folder=drop).read("sales"))
    assert len(pages) == 3
    for page in pages:
        commit(page)
    assert sorted(p.name for p in (drop / "done").iterdir()) == [
        "a.csv",
        "b.csv",
        "c.CSV",
        "old.csv",
    ]
    assert len(list(make(drop_folder=drop, suffixes=[".txt"]).read("sales"))) == 1


def test_oversized_files_are_rejected_unread(drop: Path) -> None:
    put(drop, "bad-rows.csv")
    (page,) = list(make(drop_folder=drop, max_bytes=20).read("sales"))
    assert page.events == [] and "max_bytes=20" in page.rejections[0].error
    commit(page)
    assert (drop / "rejected" / "bad-rows.csv.error.txt").exists()


def test_a_file_removed_before_commit_is_harmless(drop: Path) -> None:
    put(drop, "bad-rows.csv")
    (page,) = list(make(drop_folder=drop).read("sales"))
    for claimed in (drop / "processing").iterdir():
        claimed.unlink()  # an admin removes it meanwhile
    commit(page)
    assert not (drop / "done").exists() or not list((drop / "done").iterdir())
