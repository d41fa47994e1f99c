"""``make bench`` keeps running: the parse benchmark in its quick form (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support import REPO


def test_parse_benchmark_runs_and_reports_a_ratio() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "parse"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "x bare" in done.stdout and "connectors.poslog.parser" in done.stdout
    report = json.loads((REPO / "var/bench/report.json").read_text())
    assert "parse" in json.dumps(report)
