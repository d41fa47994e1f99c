"""The judge of one SKU, without a database: the common basis, baselines, intended
differences, what shops hold and what tills ring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bridge.mapping.loader import load_plan
from bridge.parity.evaluate import Evaluator, Held, Ring
from bridge.parity.policy import compile_policy
from tests.test_yaml_errors import write

D = Decimal
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

BASE = """\
version: 1
locations:
  - {code: A, region: FR}
  - {code: B, region: FR, price_list: b}
  - {code: C, region: FR, price_list: c}
prices:
  currency: EUR
  tax_included: TAX
  lists: {b: {}, c: {}, web: {}, was: {fallback: null}}
  channels:
    web: {price_list: web, compare_at_list: was, tax_included: true}
  parity:
PARITY
taxes:
  rates: {standard: "20"}
  default: standard
"""


def judge(tmp_path: Path, parity: str, tax_included: bool = True) -> Evaluator:
    text = BASE.replace("TAX", str(tax_included).lower()).replace("PARITY", parity)
    plan = load_plan(write(tmp_path, "mapping.yaml", text))
    return Evaluator(plan, compile_policy(plan, ["web"]))


def findings(result) -> list[tuple[str, str, str | None, str | None]]:
    return [(f.rule, f.member, str(f.observed), str(f.expected)) for f in result.findings]


def test_tax_excluded_lists_are_compared_tax_included(tmp_path: Path) -> None:
    judge_ = judge(tmp_path, "    groups: {all: {channels: ['*'], stores: ['*']}}", False)
    result = judge_.evaluate("SKU", {"default": D("16.67")})  # 20.004 tax included
    assert {k: str(q.price) for k, q in result.quotes.items()} == {
        "channel:web": "20.00", "store:A": "20.00", "store:B": "20.00", "store:C": "20.00",
    }  # fmt: skip
    assert result.quotes["store:A"].native == D("16.67")
    assert result.verdict == "ok" and result.findings == []


def test_without_a_reference_the_majority_price_is_the_baseline(tmp_path: Path) -> None:
    judge_ = judge(tmp_path, "    groups: {all: {channels: ['*'], stores: ['*']}}")
    result = judge_.evaluate("SKU", {"default": D("20"), "c": D("18")})
    assert findings(result) == [("group:all", "store:C", "18.00", "20.00")]
    assert "the price of 3 of 4 members" in result.findings[0].message
    # A tie goes to the first member in group order (channels, then stores as declared).
    result = judge_.evaluate("SKU", {"default": D("20"), "b": D("18"), "c": D("18"),
                                     "web": D("20")})  # fmt: skip
    assert [f.member for f in result.findings] == ["store:B", "store:C"]


def test_a_dearer_allowance_has_an_upper_bound(tmp_path: Path) -> None:
    parity = (
        "    groups: {all: {stores: ['*'], lists: [default], reference: 'list:default'}}\n"
        '    allow: [{store: C, dearer_by: "5"}]'
    )
    judge_ = judge(tmp_path, parity)
    ok = judge_.evaluate("SKU", {"default": D("20"), "c": D("21")})
    assert ok.verdict == "allowed" and ok.findings == []
    assert ok.allowed == [
        "store:C at 21.00 is 5.0% above 20.00 in group 'all' (intended: up to 0% cheaper, "
        "5% dearer)"
    ]
    assert findings(judge_.evaluate("SKU", {"default": D("20"), "c": D("21.50")})) == [
        ("group:all", "store:C", "21.50", "20.00")
    ]
    # Cheaper is not covered by a dearer allowance.
    assert findings(judge_.evaluate("SKU", {"default": D("20"), "c": D("19")})) == [
        ("group:all", "store:C", "19.00", "20.00")
    ]


def test_a_percent_tolerance_scales_with_the_price(tmp_path: Path) -> None:
    judge_ = judge(tmp_path, '    tolerance: {percent: "1"}\n    groups: {all: {stores: ["*"]}}')
    assert judge_.evaluate("SKU", {"default": D("200"), "c": D("198.50")}).findings == []
    assert judge_.evaluate("SKU", {"default": D("20"), "c": D("19.50")}).findings != []


def test_a_stale_compare_at_price_is_a_shop_divergence(tmp_path: Path) -> None:
    judge_ = judge(tmp_path, "    groups: {all: {channels: ['*'], lists: [default]}}")
    prices = {"default": D("20"), "was": D("25")}
    current = Held("published", D("20.00"), D("25.00"), NOW)
    assert judge_.evaluate("SKU", prices, held={"web": current}).findings == []
    stale = Held("published", D("20.00"), D("30.00"), NOW)
    (finding,) = judge_.evaluate("SKU", prices, held={"web": stale}).findings
    assert finding.rule == "shop_holds"
    assert finding.message.startswith(
        "web holds the compare-at price 30.00, the mapping computes 20.00 (compare-at 25.00)"
    )
    pending = judge_.evaluate("SKU", prices, held={"web": Held("pending")})
    assert pending.findings == [] and ("shop_holds", "channel:web") in pending.unsure
    never = judge_.evaluate("SKU", prices, held={"web": Held("never")})
    assert never.findings[0].observed is None and "never sent" in never.findings[0].message


def test_till_rings_are_judged_only_when_they_can_be(tmp_path: Path) -> None:
    judge_ = judge(
        tmp_path, '    tills: {grace: 1h, within: 7d}\n    groups: {all: {stores: ["*"]}}'
    )
    prices, changed = {"default": D("20")}, {"default": NOW - timedelta(days=2)}

    def ring(amount: str, ago: timedelta, currency: str = "EUR") -> dict[str, Ring]:
        return {"A": Ring(D(amount), currency, "A/1/2026-11-23/7", "tills", NOW - ago)}

    flagged = judge_.evaluate("SKU", prices, changed, rings=ring("18", timedelta(hours=1)), now=NOW)
    assert findings(flagged) == [("till", "store:A", "18.00", "20.00")]
    assert flagged.rings["store:A"]["judged"] is True
    for rings in (
        ring("18", timedelta(days=8)),  # older than `within`
        ring("18", timedelta(hours=1), "USD"),  # another currency
        ring("20", timedelta(hours=1)),  # the list price
    ):
        assert judge_.evaluate("SKU", prices, changed, rings=rings, now=NOW).findings == []
    recent = {"default": NOW - timedelta(minutes=30)}  # the list changed half an hour ago
    late = judge_.evaluate("SKU", prices, recent, rings=ring("18", timedelta(minutes=5)), now=NOW)
    assert late.findings == [] and late.rings["store:A"]["judged"] is False


def test_a_sku_without_a_tax_rate_is_an_error_not_a_verdict(tmp_path: Path) -> None:
    text = BASE.replace("TAX", "false").replace("PARITY", "    groups: {all: {stores: ['*']}}")
    text = text.replace("  default: standard\n", "")
    plan = load_plan(write(tmp_path, "mapping.yaml", text))
    result = Evaluator(plan, compile_policy(plan, [])).evaluate("SKU", {"default": D("10")})
    assert result.verdict == "error" and not result.judged
    assert result.errors == [
        "no tax rate for SKU 'SKU': its prices cannot be compared tax included"
    ]


def test_excluded_skus_match_patterns(tmp_path: Path) -> None:
    judge_ = judge(
        tmp_path, '    exclude: {skus: ["GIFT-*", EXACT]}\n    groups: {all: {stores: ["*"]}}'
    )
    prices = {"default": D("20"), "c": D("1")}
    assert judge_.evaluate("GIFT-10", prices).verdict == "excluded"
    assert judge_.evaluate("EXACT", prices).verdict == "excluded"
    assert judge_.evaluate("EXACTLY", prices).verdict == "divergent"
