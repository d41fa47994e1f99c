"""POSLog parsing throughput, as a ratio to the cheapest possible streaming read of the file.

End-of-day exports hold tens of thousands of transactions, so the parser must keep up with
the disk and keep memory flat. An absolute "Sales/s" depends on the machine; the ratio to a
bare ``lxml.etree.iterparse`` over the same bytes, with the same secure flags, visiting and
clearing every element, does not (much): it is the price of Brique's mapping and validation
on top of libxml2. Both are timed best of 3, interleaved so that drift hits both alike.
Peak RSS growth per pass is read from ``VmHWM`` after resetting it (``/proc/self/clear_refs``),
which is cheap and measures each pass on its own rather than the whole process's peak.
"""

from __future__ import annotations

import gc
import re
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lxml import etree

from benchmarks.report import note, table
from connectors.poslog.samples import Line, document, transaction

STORES = ("1001", "1002", "1003")


def write_poslog(path: Path, transactions: int) -> int:
    """A realistic end-of-day file: 1-7 lines per ticket, some returns, 500 SKUs."""

    def tickets() -> Any:
        for n in range(1, transactions + 1):
            lines = [
                Line(
                    f"SKU-{(n * 7 + k * 13) % 500:05d}",
                    str(1 + (n + k) % 3),
                    returned=(n + k) % 10 == 0,
                    price=f"{5 + (n * k) % 90}.{n % 100:02d}",
                )
                for k in range(1 + n % 7)
            ]
            yield transaction(STORES[n % len(STORES)], n, lines, workstation=f"{n % 4:02d}")

    data = document(tickets())
    path.write_bytes(data)
    return len(data)


def bare_iterparse(path: Path) -> int:
    """The floor: libxml2 streaming with the parser's secure flags, nothing mapped."""
    elements = 0
    with path.open("rb") as fh:
        for _, el in etree.iterparse(
            fh,
            events=("end",),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
        ):
            elements += 1
            parent = el.getparent()
            el.clear(keep_tail=True)
            if parent is not None and parent.getparent() is None:
                while el.getprevious() is not None:  # keep memory flat, as the parser does
                    del parent[0]
    return elements


def brique_parse(path: Path) -> int:
    from bridge.model import Sale
    from connectors.poslog.parser import parse

    sales = 0
    with path.open("rb") as fh:
        reader = parse(fh, path.name, default_currency="EUR")
        for item in reader:
            if not isinstance(item, Sale):
                raise RuntimeError(f"unexpected rejection: {item}")
            sales += 1
    return sales


def _rss_kib(field: str) -> int | None:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) if found else None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def timed(fn: Callable[[Path], int], path: Path) -> tuple[float, int, int | None]:
    """(seconds, result, peak RSS growth in KiB or None when the OS cannot tell us cheaply)."""
    gc.collect()
    resettable = _reset_peak()
    before = _rss_kib("VmRSS") if resettable else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    result = fn(path)
    seconds = time.perf_counter() - start
    after = _rss_kib("VmHWM") if resettable else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    growth = None if before is None or after is None else max(0, after - before)
    return seconds, result, growth


def run(quick: bool) -> dict[str, Any]:
    transactions = 2000 if quick else 20000
    repeats = 3
    with tempfile.TemporaryDirectory(prefix="brique-bench-") as tmp:
        path = Path(tmp) / "end-of-day.xml"
        size = write_poslog(path, transactions)
        note(f"parse: {transactions} transactions, {size / 1e6:.1f} MB, best of {repeats}")
        bare: list[tuple[float, int, int | None]] = []
        brique: list[tuple[float, int, int | None]] = []
        for _ in range(repeats):
            bare.append(timed(bare_iterparse, path))
            brique.append(timed(brique_parse, path))
    if any(sales != transactions for _, sales, _ in brique):
        raise RuntimeError("the parser did not return one sale per transaction")
    t_bare = min(t for t, _, _ in bare)
    t_parser = min(t for t, _, _ in brique)
    mb = size / 1e6

    def peak(runs: list[tuple[float, int, int | None]]) -> float | None:
        values = [g for _, _, g in runs if g is not None]
        return max(values) / 1024 if values else None

    result = {
        "transactions": transactions,
        "bytes": size,
        "elements": bare[0][1],
        "bare_seconds": t_bare,
        "parser_seconds": t_parser,
        "bare_mb_per_s": mb / t_bare,
        "parser_mb_per_s": mb / t_parser,
        "parser_sales_per_s": transactions / t_parser,
        "parser_over_bare": t_parser / t_bare,
        "bare_peak_rss_growth_mib": peak(bare),
        "parser_peak_rss_growth_mib": peak(brique),
    }
    result["table"] = table(
        f"POSLog parse: {transactions:,} transactions, {mb:.1f} MB (best of {repeats})",
        ["reader", "seconds", "MB/s", "Sales/s", "x bare", "peak RSS +MiB"],
        [
            [
                "bare lxml iterparse",
                t_bare,
                mb / t_bare,
                None,
                1.0,
                result["bare_peak_rss_growth_mib"],
            ],
            [
                "connectors.poslog.parser",
                t_parser,
                mb / t_parser,
                transactions / t_parser,
                t_parser / t_bare,
                result["parser_peak_rss_growth_mib"],
            ],
        ],
    )
    return result
