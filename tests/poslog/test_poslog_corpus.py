"""Real files from real tills (../shared/corpus/poslog): what the README counts, we must find.

The expected counts are the corpus README's table; they are checked three ways: against a
plain lxml count of the file (so the table itself is right), against ``ParseStats``, and
against the canonical sales the parser produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from bridge.model import SaleStatus


@dataclass(frozen=True)
class Expected:
    transactions: int
    retail: int
    control: int
    sale_lines: int
    tenders: int
    void_flagged: int
    currency: str
    change_tenders: int = 0
    """Refund tenders made from TenderChange (not counted as ``Tender`` by the README)."""
    reversed_lines: int = 0
    """Original lines cancelled by an NCR void line (voided too, though not flagged)."""


ROQQIO = Expected(1, 1, 0, 1, 1, 0, "EUR")
VISMA_SALE = Expected(1, 1, 1, 1, 2, 0, "SEK")

README = {
    "ncr-acs-v21-51-transactions.xml": Expected(51, 42, 9, 552, 51, 4, "USD", reversed_lines=4),
    "ncr-acs-v21-small.xml": Expected(2, 1, 1, 1, 1, 0, "USD"),
    "retalix-r10-v6-sales.xml": Expected(1, 1, 0, 3, 1, 0, "GBP"),
    "roqqio-v6-return.xml": ROQQIO,
    "roqqio-v6-sale-customer-loyalty.xml": ROQQIO,
    "roqqio-v6-sale-tender-change.xml": Expected(1, 1, 0, 1, 1, 0, "EUR", change_tenders=1),
    "visma-v6-cancelled.xml": Expected(1, 1, 0, 1, 0, 0, "SEK"),
    "visma-v6-sale-1.xml": VISMA_SALE,
    "visma-v6-sale-2.xml": VISMA_SALE,
    "visma-v6-sale-3.xml": VISMA_SALE,
    "visma-v6-sale-5.xml": Expected(1, 1, 1, 1, 1, 0, "SEK"),
}


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _plain_counts(path: Path) -> tuple[int, int, int, int, int, int]:
    """The README's own method: count elements by local name with lxml."""
    tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    names = [_local(el) for el in tree.iter()]
    line_items = [el for el in tree.iter("{*}LineItem")]
    sale_lines = sum(1 for li in line_items if any(_local(c) == "Sale" for c in li))
    voided = sum(1 for li in line_items if li.get("VoidFlag") == "true")
    return (
        names.count("Transaction"),
        names.count("RetailTransaction"),
        names.count("ControlTransaction"),
        sale_lines,
        names.count("Tender"),
        voided,
    )


def test_every_corpus_file_has_expectations(corpus: Path) -> None:
    assert sorted(p.name for p in corpus.glob("*.xml")) == sorted(README)


@pytest.mark.parametrize("name", sorted(README))
def test_readme_table_matches_the_file(corpus: Path, name: str) -> None:
    exp = README[name]
    assert _plain_counts(corpus / name) == (
        exp.transactions,
        exp.retail,
        exp.control,
        exp.sale_lines,
        exp.tenders,
        exp.void_flagged,
    )


@pytest.mark.parametrize("name", sorted(README))
def test_counts_from_stats_and_canonical_output(corpus: Path, parse_file, name: str) -> None:
    exp = README[name]
    sales, rejections, stats = parse_file(corpus / name)

    assert rejections == []
    assert stats.transactions == exp.transactions
    assert stats.retail == exp.retail
    assert stats.control == exp.control
    assert stats.lines == exp.sale_lines
    assert stats.tenders == exp.tenders
    assert stats.voided_lines == exp.void_flagged
    assert stats.reversed_lines == exp.reversed_lines
    assert stats.tender_changes == exp.change_tenders
    assert stats.sales == len(sales) == exp.retail
    assert sum(stats.skipped.values()) == exp.transactions - exp.retail

    lines = [line for sale in sales for line in sale.lines]
    assert len(lines) == exp.sale_lines
    assert sum(line.voided for line in lines) == exp.void_flagged + exp.reversed_lines
    assert sum(len(sale.tenders) for sale in sales) == exp.tenders + exp.change_tenders
    assert {sale.currency for sale in sales} == {exp.currency}
    assert all(isinstance(line.quantity, Decimal) for line in lines)
    assert len({sale.key.as_string() for sale in sales}) == len(sales)


@pytest.mark.parametrize("name", sorted(README))
def test_tenders_add_up_to_the_total(corpus: Path, parse_file, name: str) -> None:
    """Change, refunds and cash rounding are signed so that the payments equal the ticket."""
    sales, _, _ = parse_file(corpus / name)
    for sale in sales:
        paid = sum(
            ((-t.amount.amount if t.refund else t.amount.amount) for t in sale.tenders),
            Decimal(0),
        )
        if sale.total is not None:
            assert paid == sale.total.amount, sale.key.as_string()
        elif sale.tenders:  # Visma writes no TransactionGrandAmount
            assert paid == sum((line.amount.amount for line in sale.lines), Decimal(0))


def test_roqqio_return_is_a_negative_return_line(corpus: Path, parse_file) -> None:
    (sale,), _, _ = parse_file(corpus / "roqqio-v6-return.xml")
    (line,) = sale.lines
    assert line.quantity == Decimal(-1)
    assert line.is_return is True
    assert line.sku == "4025929673704"
    assert line.description.startswith("He.-Regenponcho")
    assert line.amount is not None and line.amount.amount == Decimal("-2.990")
    assert sum(ln.amount.amount for ln in sale.lines if ln.amount) == sale.total.amount
    assert sale.stock_lines() == (line,)
    (tender,) = sale.tenders
    assert tender.refund is True and tender.kind == "Cash"
    assert sale.total is not None and sale.total.amount == Decimal("-2.990")
    assert sale.customer is not None
    assert sale.customer.customer_id == "22000129"
    assert sale.customer.loyalty_card == "T220001293"
    assert sale.customer.name == "Erika Mustermann"
    # The bogus Currency="XXX" on ExtendedDiscountAmount is ignored (and the zero dropped).
    assert line.discount is None
    assert line.unit_price is not None and line.unit_price.currency == "EUR"


def test_visma_cancelled_moves_no_stock(corpus: Path, parse_file) -> None:
    (sale,), _, _ = parse_file(corpus / "visma-v6-cancelled.xml")
    assert sale.status is SaleStatus.CANCELLED
    assert sale.tenders == ()
    assert len(sale.lines) == 1
    assert sale.stock_lines() == ()


def test_visma_sku_is_the_item_code_and_gtin_the_barcode(corpus: Path, parse_file) -> None:
    (sale,), _, _ = parse_file(corpus / "visma-v6-cancelled.xml")
    (line,) = sale.lines
    assert (line.sku, line.barcode) == ("12302", "7046265478027")
    # Quantity Units="0.00" must not multiply the quantity away.
    assert line.quantity == Decimal("1.00000")
    assert sale.key.transaction_id == "1907220000300049014037042000"


def test_visma_rounding_tender(corpus: Path, parse_file) -> None:
    (sale,), _, _ = parse_file(corpus / "visma-v6-sale-1.xml")
    kinds = [(t.kind, t.amount.amount) for t in sale.tenders]
    assert kinds == [("Cash", Decimal("22042.00000")), ("rounding", Decimal("-0.12000"))]


def test_retalix_fix_version_1_parses(corpus: Path, parse_file) -> None:
    (sale,), _, _ = parse_file(corpus / "retalix-r10-v6-sales.xml")
    assert sale.key.store == "0610"
    assert sale.key.transaction_id == "119EKZ37QD"
    assert sale.total is not None and sale.total.amount == Decimal("6.57")
    assert [(line.sku, line.barcode) for line in sale.lines] == [
        ("7583599", "48"),
        ("1329421", "123"),
        ("3545058", "321"),
    ]
    assert isinstance(sale.occurred_at, datetime) and sale.occurred_at.utcoffset() is not None


def test_ncr_weighed_quantities_stay_exact(corpus: Path, parse_file) -> None:
    (sale,), _, _ = parse_file(corpus / "ncr-acs-v21-small.xml")
    (line,) = sale.lines
    assert line.quantity == Decimal("0.42") and str(line.quantity) == "0.42"
    assert sale.customer is not None
    assert sale.customer.loyalty_card == "0000000000000040000066677"
    assert sale.occurred_at is not None and sale.occurred_at.tzinfo is None  # naive: till time


def test_ncr_void_lines_cancel_the_line_they_void(corpus: Path, parse_file) -> None:
    sales, _, _ = parse_file(corpus / "ncr-acs-v21-51-transactions.xml")
    sale = next(s for s in sales if s.key.sequence == "115")
    braeburn = [line for line in sale.lines if line.sku == "00000000062367"]
    assert [(line.quantity, line.voided, line.is_return) for line in braeburn] == [
        (Decimal("1.47"), True, False),
        (Decimal("-1.47"), True, False),
    ]
    assert all(line.sku != "00000000062367" for line in sale.stock_lines())
    assert not any(line.is_return for s in sales for line in s.lines)
