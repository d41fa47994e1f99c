"""The mappings shipped in ``mappings/`` are valid and say what the tills really send."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.mapping.loader import load_plan
from bridge.model import Sale
from connectors.poslog.parser import parse

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "mappings").rglob("*.yaml"))
CORPUS = REPO.parent / "shared" / "corpus" / "poslog"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(REPO)))
def test_shipped_mapping_is_valid(path: Path) -> None:
    plan = load_plan(path)
    assert len(plan.version) == 16


def test_the_default_poslog_mapping_knows_every_tender_and_unit_of_the_corpus() -> None:
    plan = load_plan(REPO / "mappings" / "defaults" / "poslog-shopify.yaml")
    tenders, units = set(), set()
    for path in sorted(CORPUS.glob("*.xml")):
        with path.open("rb") as stream:
            sales = [s for s in parse(stream, path.name, default_currency="EUR")]
        for sale in sales:
            if not isinstance(sale, Sale):
                continue
            tenders |= {t.kind for t in sale.tenders}
            units |= {line.unit for line in sale.lines if line.unit}
    assert tenders, "the corpus has tenders"
    known = {"cash", "card", "cheque", "voucher", "gift_card", "coupon", "loyalty"}
    unmapped = {t for t in tenders if plan.tender_in("tills", t) not in known}
    # POSLog files name tenders by TenderType; some vendors leave it out ("unknown") or
    # write only a rounding line: those are Brique's own kinds already.
    assert unmapped <= {"unknown", "rounding", "change"}, unmapped
    assert {plan.unit_in("tills", u) for u in units} <= {"each", "kg", "g", "l", "m"}
