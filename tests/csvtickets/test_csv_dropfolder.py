"""The CSV connector's files in its drop folder: pages, done/, rejected/ with .error.txt.

The folder itself (claims, abandoned claims, races, names) is ``tests/test_dropfolder.py``'s.
"""

from __future__ import annotations

from pathlib import Path

from tests.csvtickets.support import COLUMNS, DATA, commit, make, put


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


def test_the_suffixes_setting_chooses_the_files_read(drop: Path) -> None:
    put(drop, "bad-rows.csv", as_name="a.csv")
    put(drop, "bad-rows.csv", as_name="b.TXT")
    (page,) = list(make(drop_folder=drop, suffixes=[".txt"]).read("sales"))
    assert [r.source for r in page.rejections] == ["b.TXT:3", "b.TXT:4"]
    assert (drop / "a.csv").exists()
