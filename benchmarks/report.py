"""Printing and saving results.

Every benchmark returns plain dicts; this module turns them into aligned text tables (so a
run can be read in a terminal or CI log without extra tools) and one JSON file
(``var/bench/report.json``) so runs can be compared by a script later.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "var" / "bench"
REPORT = OUT / "report.json"
LOGS = OUT / "logs"


def logs_dir(bench: str, label: str) -> Path:
    """Where one measurement's process logs are kept (``var/bench/logs/BENCH-LABEL``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    return LOGS / f"{bench}-{slug}"


def fmt(value: Any) -> str:
    """Numbers with a sensible number of digits; None as a dash."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table; the first column is left-aligned, numbers right-aligned."""
    cells = [[fmt(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.ljust(w) if n == 0 else v.rjust(w)
            for n, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [f"\n== {title}", line(headers), rule, *(line(r) for r in cells)]
    return "\n".join(out)


def emit(text: str) -> None:
    print(text, flush=True)


def note(text: str) -> None:
    """Progress and skip reasons, on stderr so stdout holds only the tables."""
    print(f"  .. {text}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def save(results: dict[str, Any], path: Path = REPORT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.part")
    tmp.write_text(json.dumps(results, indent=2, default=str) + "\n")
    tmp.replace(path)
    return path
