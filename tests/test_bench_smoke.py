"""``make bench`` keeps running: the parse benchmark in its quick form, the mapping benchmark on
a few records, the Shopify push benchmark on a tiny catalogue (no timing asserted)."""

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


def test_shopify_push_benchmark_runs_end_to_end_and_reports_its_figures() -> None:
    """A 200-SKU catalogue against two sandbox subprocesses: Brique's large push and 1%
    change, the naive script beside them; the report's structure, no timing asserted."""
    from benchmarks import shopify_push

    result = shopify_push.run(quick=True, skus=200, naive_tail=5)
    text = result.pop("table")
    assert "Shopify push: 200 SKUs, 2 changed (1%)" in text and "x fewer calls" in text
    assert "Shopify large push" in text and "budget used" in text
    assert (result["skus"], result["changed_skus"]) == (200, 2)
    assert result["sandbox_bucket"]["maximum"] > 0 and result["sandbox_bucket"]["restore_rate"] > 0
    large, change, naive = result["large_push"], result["brique_change"], result["naive"]
    assert large["movements"] == 200 and large["levels_written"] == 200
    assert change["movements"] == 2 and change["levels_written"] == 2
    for phase in (large, change):
        assert phase["import_calls"] == 0 and phase["throttled"] == 0
        assert 1 <= phase["mutations"] <= phase["calls"] and phase["points_used"] > 0
        assert 0 < phase["push_budget_share"] <= 1 and phase["seconds"] > 0
    assert naive["skus"] == 200 and 0 < naive["skus_measured"] <= 200
    assert naive["calls"] >= naive["skus"] and naive["points_per_call"] > 0
    assert naive["extrapolated"] == (naive["skus_measured"] < 200)
    assert change["calls"] < naive["calls"]
    assert result["naive_over_brique_calls"] > 1 and result["naive_over_brique_seconds"] > 0
    assert result["zero_throttled"] is True and result["verdict"] == "ok"
    assert result["client_saw_throttled"] == 0
    json.dumps(result)  # it goes into var/bench/report.json as is
