"""``make bench`` keeps running: the parse benchmark in its quick form, the mapping benchmark on
a few records (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_mapping_benchmark_paths_agree_and_report_a_ratio(tmp_path: Path) -> None:
    """A few hundred records: both paths give the same native records; no timing asserted."""
    from benchmarks import mapping

    stock, prices = mapping.records(400)
    plan, category = mapping.load(tmp_path), mapping.categories()
    by_plan, by_hand = mapping.plan_stock(plan, stock), mapping.hand_stock(category, stock)
    assert repr(by_plan) == repr(by_hand)
    assert repr(mapping.plan_prices(plan, prices)) == repr(mapping.hand_prices(category, prices))
    by_hand[0] = {**by_hand[0], "quantity": -1}  # the check run() relies on does see a difference
    with pytest.raises(RuntimeError, match="stock record 0"):
        mapping.compare("stock", by_plan, by_hand, stock)

    result = mapping.run(quick=True, records_count=2000, repeats=1)
    text = result.pop("table")
    assert "compiled plan" in text and "hand-written" in text and "x hand" in text
    assert result["outputs_identical"] is True
    assert (result["records"], result["stock_records"], result["price_records"]) == (
        2000,
        1000,
        1000,
    )
    assert all(count > 0 for count in result["coverage"].values()), result["coverage"]
    for kind in ("stock", "price"):
        assert set(result[kind]) == {"plan_seconds", "hand_seconds", "plan_over_hand"}
    assert result["plan_over_hand"] > 0 and result["plan_records_per_s"] > 0
    assert result["hand_records_per_s"] > 0
    assert result["goal_plan_over_hand"] == 1.5 and isinstance(result["meets_goal"], bool)
    json.dumps(result)  # it goes into var/bench/report.json as is
