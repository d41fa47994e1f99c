"""What a sale earns and spends under the ``loyalty:`` rules (pure, no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bridge.loyalty.rules import LoyaltyRules, Original
from bridge.mapping.loyaltyspec import LoyaltySpec
from bridge.model import Money, Sale, SaleLine, SaleStatus, Tender, TicketKey, TicketLink
from bridge.model.sale import LoyaltyEntry

DAY = date(2026, 11, 23)


def spec(**kw: object) -> LoyaltySpec:
    return LoyaltySpec.model_validate(
        {"currency": "EUR", "points_per_unit": "1", "exclude": {"categories": ["gift"]}, **kw}
    )


def rules(**kw: object) -> LoyaltyRules:
    return LoyaltyRules(spec(**kw), {"GIFT-CARD": "gift"})


def line(no: str, sku: str, qty: str, amount: str, link: TicketLink | None = None) -> SaleLine:
    return SaleLine(
        line_no=no,
        sku=sku,
        quantity=Decimal(qty),
        amount=Money(amount=amount, currency="EUR"),
        is_return=Decimal(qty) < 0,
        link=link,
    )


def sale(*lines: SaleLine, seq: str = "1", **kw: object) -> Sale:
    return Sale(
        key=TicketKey(store="1001", workstation="01", business_day=DAY, sequence=seq),
        status=kw.pop("status", SaleStatus.COMPLETED),
        currency=kw.pop("currency", "EUR"),
        lines=lines,
        **kw,
    )


def points(changes: list) -> list[tuple[str, str, Decimal]]:
    return [(c.ref, c.kind, c.points) for c in changes]


def test_each_line_earns_its_amount_rounded_down_and_exclusions_earn_nothing() -> None:
    changes, notes = rules().for_sale(
        "tills",
        sale(line("1", "TSHIRT", "1", "19.99"), line("2", "GIFT-CARD", "1", "50.00")),
    )
    assert points(changes) == [("line:1", "earn", Decimal(19))]
    assert changes[0].basis == Decimal("19.99") and changes[0].quantity == 1
    assert notes == []


def test_rate_places_and_rounding_mode_apply_per_line() -> None:
    r = rules(points_per_unit="0.1", rounding={"places": 1, "mode": "half_up"})
    changes, _ = r.for_sale("tills", sale(line("1", "A", "1", "19.99"), line("2", "B", "1", "5")))
    assert points(changes) == [
        ("line:1", "earn", Decimal("2.0")),
        ("line:2", "earn", Decimal("0.5")),
    ]


def test_cancelled_sales_other_channels_and_currencies_earn_nothing_with_a_reason() -> None:
    r = rules(channels=["store"])
    one = line("1", "A", "1", "10")
    for s, why in [
        (sale(one, status=SaleStatus.CANCELLED), "cancelled"),
        (sale(one, channel="web"), "channel 'web'"),
        (sale(line("1", "A", "1", "10"), currency="SEK"), "SEK"),
    ]:
        changes, notes = r.for_sale("tills", s)
        assert changes == [] and why in notes[0]


def test_an_unlinked_return_takes_back_what_its_refund_would_earn() -> None:
    changes, _ = rules().for_sale("tills", sale(line("1", "TSHIRT", "-1", "-19.99")))
    assert points(changes) == [("line:1", "return", Decimal(-19))]


def test_linked_returns_take_back_the_original_line_prorated_and_never_more() -> None:
    link = TicketLink(store="1001", workstation="01", business_day=DAY, sequence="1", line="3")
    r = rules()
    seen: list[tuple[str, str]] = []

    def original(ticket: str, line_no: str) -> Original:
        seen.append((ticket, line_no))
        return Original(earned=Decimal(5), quantity=Decimal(3), reversed=Decimal(0))

    changes, _ = r.for_sale("tills", sale(line("1", "A", "-1", "-9.99", link), seq="9"), original)
    assert seen == [("1001/01/2026-11-23/1", "3")]
    assert points(changes) == [("line:1", "return", Decimal(-1))]  # 5 x 1/3 rounded down
    assert changes[0].link_key == "1001/01/2026-11-23/1#3"

    # The last unit back takes exactly what is left, whatever earlier rounding did.
    def after_two(ticket: str, line_no: str) -> Original:
        return Original(
            earned=Decimal(5), quantity=Decimal(3), reversed=Decimal(-3), returned=Decimal(2)
        )

    changes, _ = r.for_sale("tills", sale(line("1", "A", "-1", "-9.99", link), seq="10"), after_two)
    assert points(changes) == [("line:1", "return", Decimal(-2))]

    def all_back(ticket: str, line_no: str) -> Original:
        return Original(
            earned=Decimal(5), quantity=Decimal(3), reversed=Decimal(-5), returned=Decimal(3)
        )

    changes, _ = r.for_sale("tills", sale(line("1", "A", "-1", "-9.99", link), seq="11"), all_back)
    assert points(changes) == [("line:1", "return", Decimal(0))]  # kept: its quantity counts


def test_returns_ignore_leaves_the_points() -> None:
    changes, _ = rules(returns="ignore").for_sale("tills", sale(line("1", "A", "-1", "-10")))
    assert changes == []


def test_loyalty_tenders_spend_points_worth_their_value_rounded_up() -> None:
    r = rules(redeem={"tenders": ["loyalty"], "point_value": "0.10"})
    s = sale(
        line("1", "A", "1", "20.00"),
        tenders=(
            Tender(kind="loyalty", amount=Money(amount="1.05", currency="EUR")),
            Tender(kind="cash", amount=Money(amount="18.95", currency="EUR")),
        ),
    )
    changes, _ = r.for_sale("tills", s)
    assert points(changes) == [
        ("line:1", "earn", Decimal(20)),
        ("tender:1", "redeem", Decimal(-11)),
    ]
    refund = sale(
        tenders=(Tender(kind="loyalty", amount=Money(amount="1", currency="EUR"), refund=True),)
    )
    assert points(r.for_sale("tills", refund)[0]) == [("tender:1", "redeem", Decimal(10))]


def test_stated_tills_are_believed_and_computed_ones_still_take_their_stated_redemptions() -> None:
    stated = (
        LoyaltyEntry(kind="earned", points=Decimal("12"), line_no="7", card="C1"),
        LoyaltyEntry(kind="redeemed", points=Decimal("30"), line_no="8"),
    )
    s = sale(line("1", "A", "1", "100"), loyalty=stated)
    r = rules(points_from={"tills": "stated"}, redeem={"tenders": ["loyalty"], "point_value": "1"})
    assert points(r.for_sale("tills", s)[0]) == [
        ("stated:7:earned", "earn", Decimal(12)),
        ("stated:8:redeemed", "redeem", Decimal(-30)),
    ]
    assert points(r.for_sale("other", s)[0]) == [
        ("line:1", "earn", Decimal(100)),
        ("stated:8:redeemed", "redeem", Decimal(-30)),
    ]
