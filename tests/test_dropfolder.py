"""The shared drop folder: claim, done/, rejected/ with .error.txt, abandoned claims, races;
and the file-drop connectors (POSLog, CSV) handing it their settings and their parser."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pytest

from bridge.connector import Connector, ConnectorContext, InboundEvent, Rejection
from bridge.dropfolder import DropFolder, dropped_name
from bridge.errors import ConfigError, DataError
from connectors.csvtickets import CsvConfig, CsvTicketsConnector
from connectors.poslog import PosLogConfig, PosLogConnector

TESTS = Path(__file__).parent


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder


def folder(drop: Path, **settings: object) -> DropFolder:
    options: dict[str, object] = {"suffixes": (".xml",), "name": "test", **settings}
    return DropFolder(drop, **options)  # type: ignore[arg-type]


def put(drop: Path, name: str, data: bytes = b"<ticket/>", *, age: float = 60) -> Path:
    """Write a file ``age`` seconds old into ``drop``."""
    path = drop / name
    path.write_bytes(data)
    age_file(path, age)
    return path


def age_file(path: Path, age: float) -> None:
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))


def names(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir()) if path.is_dir() else []


def parse_ok(source: str, stream: BinaryIO) -> Iterable[InboundEvent | Rejection]:
    data = stream.read()
    if b"bad" in data:
        raise DataError(f"{source}:1: not a ticket")
    return [
        InboundEvent(key=f"{source}/1", kind="sale", payload={"data": data.decode()}),
        Rejection(source=f"{source}:2", error="a bad line"),
    ]


# --------------------------------------------------------------------------- check


def test_check(drop: Path, tmp_path: Path) -> None:
    folder(drop).check()
    with pytest.raises(ConfigError, match=r"test: drop_folder .* is not an existing folder"):
        folder(tmp_path / "missing").check()
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(ConfigError, match="not an existing folder"):
        folder(a_file).check()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_check_refuses_a_read_only_folder(drop: Path) -> None:
    drop.chmod(0o555)
    try:
        with pytest.raises(ConfigError, match="not writable"):
            folder(drop).check()
    finally:
        drop.chmod(0o755)


def test_from_settings_needs_a_folder(drop: Path) -> None:
    class Settings:
        drop_folder: Path | None = drop
        stable_seconds = 5.0
        claim_timeout = 60.0
        max_bytes = 1000

    made = DropFolder.from_settings(Settings(), suffixes=(".CSV",), name="csv")
    assert (made.folder, made.suffixes, made.name) == (drop, (".csv",), "csv")
    assert (made.stable_seconds, made.claim_timeout, made.max_bytes) == (5.0, 60.0, 1000)
    Settings.drop_folder = None
    with pytest.raises(ConfigError, match="csv: no drop_folder configured"):
        DropFolder.from_settings(Settings(), suffixes=(".csv",), name="csv")


def test_a_missing_folder_is_a_config_error_when_read(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        list(folder(tmp_path / "missing").claims())


# --------------------------------------------------------------------------- claims


def test_a_ready_file_is_claimed_into_processing(drop: Path) -> None:
    path = put(drop, "sale.xml")
    (claimed,) = folder(drop).claims()
    assert not path.exists(), "claimed: no other poller reads it"
    assert claimed.parent == drop / "processing"
    assert claimed.name.endswith("__sale.xml") and dropped_name(claimed) == "sale.xml"
    assert claimed.read_bytes() == b"<ticket/>"
    assert time.time() - claimed.stat().st_mtime < 30, "a claim is fresh, not abandoned"
    assert list(folder(drop).claims()) == [], "a fresh claim belongs to its poller"


def test_claims_oldest_first_matching_suffixes_only(drop: Path) -> None:
    put(drop, "b.xml", age=100)
    put(drop, "a.xml", age=50)
    put(drop, "c.XML", age=100)
    put(drop, "notes.txt", age=100)
    put(drop, ".partial.xml", age=100)
    (drop / "sub.xml").mkdir()
    for sub in ("done", "rejected"):
        (drop / sub).mkdir()
        put(drop / sub, "old.xml")
    claimed = [dropped_name(p) for p in folder(drop).claims()]
    assert claimed == ["b.xml", "c.XML", "a.xml"]
    assert names(drop) == [".partial.xml", "done", "notes.txt", "processing", "rejected", "sub.xml"]
    assert [dropped_name(p) for p in folder(drop, suffixes=[".TXT"]).claims()] == ["notes.txt"]


def test_young_files_wait_for_stable_seconds(drop: Path) -> None:
    path = put(drop, "sale.xml", age=0)
    assert list(folder(drop, stable_seconds=30).claims()) == []
    assert path.exists()
    age_file(path, 31)
    assert len(list(folder(drop, stable_seconds=30).claims())) == 1


def test_two_files_of_the_same_name_never_overwrite_each_other(drop: Path) -> None:
    put(drop, "sale.xml", b"first")
    (first,) = folder(drop).claims()
    put(drop, "sale.xml", b"second")
    (second,) = folder(drop).claims()
    assert first != second and first.read_bytes() == b"first" and second.read_bytes() == b"second"
    dropfolder = folder(drop)
    assert dropfolder.done(first) == drop / "done" / "sale.xml"
    assert dropfolder.done(second) == drop / "done" / "sale~1.xml"
    assert (drop / "done" / "sale.xml").read_bytes() == b"first"


def test_a_file_taken_meanwhile_is_left_out(drop: Path) -> None:
    put(drop, "a.xml", age=100)
    put(drop, "b.xml", age=50)
    claims = folder(drop).claims()
    first = next(claims)
    (drop / "b.xml").rename(drop / "elsewhere")  # another poller took it
    assert list(claims) == []
    assert dropped_name(first) == "a.xml"


# --------------------------------------------------------------------------- done / rejected


def test_done_moves_the_claim_under_its_dropped_name(drop: Path) -> None:
    put(drop, "sale.xml")
    dropfolder = folder(drop)
    (claimed,) = dropfolder.claims()
    moved = dropfolder.done(claimed)
    assert moved == drop / "done" / "sale.xml" and moved.read_bytes() == b"<ticket/>"
    assert names(drop / "processing") == []
    assert dropfolder.done(claimed) is None, "gone already: nothing to move"


def test_rejected_keeps_the_file_and_writes_its_error(drop: Path) -> None:
    dropfolder = folder(drop)
    for _ in range(2):
        put(drop, "sale.xml")
        (claimed,) = dropfolder.claims()
        dropfolder.rejected(claimed, "sale.xml:7: tag mismatch")
    assert names(drop / "rejected") == [
        "sale.xml",
        "sale.xml.error.txt",
        "sale~1.xml",
        "sale~1.xml.error.txt",
    ]
    assert (drop / "rejected" / "sale~1.xml.error.txt").read_text() == "sale.xml:7: tag mismatch\n"


def test_a_name_taken_by_an_error_text_alone_is_not_reused(drop: Path) -> None:
    (drop / "rejected").mkdir()
    (drop / "rejected" / "sale.xml.error.txt").write_text("an older file's error\n")
    put(drop, "sale.xml")
    dropfolder = folder(drop)
    (claimed,) = dropfolder.claims()
    assert dropfolder.rejected(claimed, "new error") == drop / "rejected" / "sale~1.xml"
    assert (drop / "rejected" / "sale.xml.error.txt").read_text() == "an older file's error\n"


def test_a_claim_removed_by_an_admin_is_harmless(drop: Path) -> None:
    put(drop, "sale.xml")
    dropfolder = folder(drop)
    (claimed,) = dropfolder.claims()
    claimed.unlink()
    assert dropfolder.done(claimed) is None
    assert dropfolder.rejected(claimed, "error") is None
    assert names(drop / "done") == [] and names(drop / "rejected") == []


# --------------------------------------------------------------------------- dropped names


@pytest.mark.parametrize("name", ["till__export.xml", "__x.xml", "1-2__a.xml", "a__b__c.xml"])
def test_a_dropped_name_holding_double_underscores_survives(drop: Path, name: str) -> None:
    put(drop, name)
    dropfolder = folder(drop)
    (claimed,) = dropfolder.claims()
    assert dropped_name(claimed) == name
    assert dropfolder.done(claimed) == drop / "done" / name
    put(drop, name)
    (claimed,) = dropfolder.claims()
    assert dropfolder.rejected(claimed, "error") == drop / "rejected" / name


def test_till_export_survives_an_abandoned_claim_and_pages(drop: Path) -> None:
    put(drop, "till__export.xml")
    (claimed,) = folder(drop).claims()  # the poller dies here
    age_file(claimed, 120)
    (page,) = folder(drop, claim_timeout=60).pages(parse_ok)
    assert [e.key for e in page.events] == ["till__export.xml/1"]
    assert [r.source for r in page.rejections] == ["till__export.xml:2"]
    assert page.on_committed is not None
    page.on_committed()
    assert names(drop / "done") == ["till__export.xml"]


# --------------------------------------------------------------------------- abandoned claims


def test_an_abandoned_claim_is_claimed_again_after_claim_timeout(drop: Path) -> None:
    put(drop, "sale.xml")
    (claimed,) = folder(drop, claim_timeout=60).claims()  # the poller dies here
    assert list(folder(drop, claim_timeout=60).claims()) == []
    age_file(claimed, 120)
    put(drop, "later.xml", age=200)
    again = list(folder(drop, claim_timeout=60).claims())
    assert [dropped_name(p) for p in again] == ["sale.xml", "later.xml"], "abandoned first"
    assert not claimed.exists() and again[0] != claimed, "claimed again under a new name"
    assert time.time() - again[0].stat().st_mtime < 30
    folder(drop).done(again[0])
    assert names(drop / "done") == ["sale.xml"]


def test_a_file_an_admin_put_in_processing_is_read_too(drop: Path) -> None:
    (drop / "processing").mkdir()
    put(drop / "processing", "stray.xml", age=1000)
    (claimed,) = folder(drop).claims()
    assert dropped_name(claimed) == "stray.xml"


# --------------------------------------------------------------------------- sizes and pages


def test_open_is_bounded_by_max_bytes(drop: Path) -> None:
    put(drop, "big.xml", b"x" * 21)
    dropfolder = folder(drop, max_bytes=20)
    (claimed,) = dropfolder.claims()
    with pytest.raises(DataError, match=r"^big.xml: 21 bytes is larger than max_bytes=20$"):
        dropfolder.open(claimed)
    with folder(drop, max_bytes=21).open(claimed) as handle:
        assert handle.read() == b"x" * 21
    with folder(drop).open(claimed) as handle:  # no bound
        assert len(handle.read()) == 21


def test_pages_one_per_file_moved_once_committed(drop: Path) -> None:
    put(drop, "a.xml", b"good", age=100)
    put(drop, "b.xml", b"bad", age=50)
    put(drop, "c.xml", b"x" * 100, age=10)
    pages = list(folder(drop, max_bytes=50).pages(parse_ok))
    assert [[e.key for e in p.events] for p in pages] == [["a.xml/1"], [], []]
    assert [[r.error for r in p.rejections] for p in pages] == [
        ["a bad line"],
        ["b.xml:1: not a ticket"],
        ["c.xml: 100 bytes is larger than max_bytes=50"],
    ]
    assert [r.source for r in pages[1].rejections + pages[2].rejections] == ["b.xml", "c.xml"]
    assert names(drop / "done") == [] and names(drop / "rejected") == [], "moved once committed"
    for page in pages:
        assert page.on_committed is not None and page.cursor is None
        page.on_committed()
    assert names(drop / "done") == ["a.xml"]
    assert names(drop / "rejected") == ["b.xml", "b.xml.error.txt", "c.xml", "c.xml.error.txt"]
    assert (drop / "rejected" / "b.xml.error.txt").read_text() == "b.xml:1: not a ticket\n"
    assert names(drop / "processing") == []


def test_a_claim_gone_before_it_is_read_gives_no_page(drop: Path) -> None:
    put(drop, "a.xml", age=100)
    put(drop, "b.xml", age=50)

    class AdminRemovesB(DropFolder):
        def claims(self) -> Iterator[Path]:
            for claimed in super().claims():
                if dropped_name(claimed) == "b.xml":
                    claimed.unlink()  # removed by an admin before it is read
                yield claimed

    pages = list(AdminRemovesB(drop, suffixes=[".xml"]).pages(parse_ok))
    assert [[e.key for e in p.events] for p in pages] == [["a.xml/1"]]


# --------------------------------------------------------------------------- races


def _claim_in_thread(drop: Path, barrier: threading.Barrier, won: list[Path]) -> None:
    dropfolder = folder(drop, claim_timeout=60)
    barrier.wait()
    won.extend(dropfolder.claims())


@pytest.mark.parametrize("abandoned", [False, True], ids=["ready", "abandoned"])
def test_two_threads_racing_for_one_file_one_wins(drop: Path, abandoned: bool) -> None:
    for round_ in range(50):
        if abandoned:
            (drop / "processing").mkdir(exist_ok=True)
            put(drop / "processing", f"1-1__sale{round_}.xml", age=120)
        else:
            put(drop, f"sale{round_}.xml")
        barrier = threading.Barrier(2)
        won: list[Path] = []
        threads = [
            threading.Thread(target=_claim_in_thread, args=(drop, barrier, won)) for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(won) == 1, f"round {round_}: {won}"
        assert dropped_name(won[0]) == f"sale{round_}.xml" and won[0].exists()
        folder(drop).done(won[0])
    assert len(names(drop / "done")) == 50


def _claim_in_process(drop: str, barrier: object, results: object) -> None:
    dropfolder = folder(Path(drop), claim_timeout=60)
    barrier.wait()  # type: ignore[attr-defined]
    results.put([str(p) for p in dropfolder.claims()])  # type: ignore[attr-defined]


@pytest.mark.parametrize("abandoned", [False, True], ids=["ready", "abandoned"])
def test_two_processes_racing_for_one_file_one_wins(drop: Path, abandoned: bool) -> None:
    context = multiprocessing.get_context("spawn")
    if abandoned:
        (drop / "processing").mkdir()
        put(drop / "processing", "1-1__till__export.xml", age=120)
    else:
        put(drop, "till__export.xml")
    barrier = context.Barrier(2)
    results = context.Queue()
    workers = [
        context.Process(target=_claim_in_process, args=(str(drop), barrier, results))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    claimed = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    winners = [Path(p) for found in claimed for p in found]
    assert len(winners) == 1, claimed
    assert winners[0].exists() and dropped_name(winners[0]) == "till__export.xml"
    assert folder(drop).done(winners[0]) == drop / "done" / "till__export.xml"


# --------------------------------------------------------------------------- the connectors


@dataclass(frozen=True)
class Source:
    """A file-drop connector, a sample file it reads, and the suffix it claims."""

    name: str
    make: Callable[..., Connector]
    sample: Path
    suffix: str
    events: int
    """Events read from ``sample``."""

    def put(self, drop: Path, name: str, *, age: float = 60) -> Path:
        return put(drop, name + self.suffix, self.sample.read_bytes(), age=age)


SOURCES = [
    Source(
        "poslog",
        lambda **s: PosLogConnector(PosLogConfig(**s), ConnectorContext(connection="store-1")),
        TESTS / "poslog" / "data" / "invalid-among-valid.xml",
        ".xml",
        2,
    ),
    Source(
        "csv",
        lambda **s: CsvTicketsConnector(CsvConfig(**s), ConnectorContext(connection="tills")),
        TESTS / "csvtickets" / "data" / "bad-rows.csv",
        ".csv",
        2,
    ),
]


@pytest.fixture(params=SOURCES, ids=[s.name for s in SOURCES])
def source(request: pytest.FixtureRequest) -> Source:
    return request.param  # type: ignore[no-any-return]


def test_connector_streams_and_folder_errors(source: Source, drop: Path, tmp_path: Path) -> None:
    conn = source.make(drop_folder=drop)
    conn.check()
    assert tuple(conn.streams()) == ("sales",)
    with pytest.raises(DataError):
        list(conn.read("stock"))
    with pytest.raises(ConfigError, match=f"^{source.name}: "):
        list(source.make().read("sales"))
    with pytest.raises(ConfigError, match=f"^{source.name}: "):
        source.make().check()
    missing = source.make(drop_folder=tmp_path / "missing")
    with pytest.raises(ConfigError, match=rf"^{source.name}: drop_folder .* not an existing"):
        missing.check()
    with pytest.raises(ConfigError, match=rf"^{source.name}: drop_folder .* does not exist"):
        list(missing.read("sales"))


def test_connector_pages_ready_files_and_moves_them_once_committed(
    source: Source, drop: Path
) -> None:
    source.put(drop, "till__export")
    young = source.put(drop, "young", age=0)
    other = put(drop, "notes.txt")
    conn = source.make(drop_folder=drop, stable_seconds=30)
    (page,) = list(conn.read("sales"))
    assert len(page.events) == source.events
    assert page.rejections and all(r.source.startswith("till__export") for r in page.rejections)
    (claimed,) = (drop / "processing").iterdir()
    assert dropped_name(claimed) == "till__export" + source.suffix
    assert names(drop / "done") == []
    assert page.on_committed is not None
    page.on_committed()
    assert names(drop / "done") == ["till__export" + source.suffix]
    assert young.exists() and other.exists(), "too young, not a suffix read"
    assert list(conn.read("sales")) == []


def test_connector_reads_an_abandoned_claim_again(source: Source, drop: Path) -> None:
    source.put(drop, "sale")
    conn = source.make(drop_folder=drop, claim_timeout=60)
    next(iter(conn.read("sales")))  # the poller dies here: no commit
    (claimed,) = (drop / "processing").iterdir()
    assert list(conn.read("sales")) == [], "a fresh claim belongs to its poller"
    age_file(claimed, 120)
    (page,) = list(conn.read("sales"))
    assert len(page.events) == source.events


def test_connector_rejects_files_over_max_bytes(source: Source, drop: Path) -> None:
    source.put(drop, "big")
    (page,) = list(source.make(drop_folder=drop, max_bytes=20).read("sales"))
    assert page.events == []
    (rejection,) = page.rejections
    assert rejection.source == "big" + source.suffix and "max_bytes=20" in rejection.error
    assert page.on_committed is not None
    page.on_committed()
    assert names(drop / "rejected") == [f"big{source.suffix}", f"big{source.suffix}.error.txt"]
