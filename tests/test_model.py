"""The canonical model is strict: no floats, no int identifiers, no mixed currencies."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bridge.model import (
    Envelope,
    Location,
    Money,
    Price,
    Sale,
    SaleBody,
    SaleLine,
    SaleStatus,
    StockLevel,
    StockMovement,
    TicketKey,
)
from bridge.sync.ledger import from_e4, to_e4


def key(seq: str = "42") -> TicketKey:
    return TicketKey(store="1001", workstation="01", business_day=date(2026, 11, 23), sequence=seq)


def line(no: str, qty: str, **kw: object) -> SaleLine:
    return SaleLine(line_no=no, sku=f"SKU-{no}", quantity=qty, **kw)


def only_error(exc: pytest.ExceptionInfo[ValidationError]) -> dict:
    errors = exc.value.errors()
    assert len(errors) == 1, errors
    return errors[0]


# -- decimals and identifiers -------------------------------------------------------------


@pytest.mark.parametrize("value", [19.99, 0.1, 1.0])
def test_float_price_is_refused_with_a_message_naming_float(value: float) -> None:
    with pytest.raises(ValidationError) as exc:
        Money(amount=value, currency="EUR")
    err = only_error(exc)
    assert err["loc"] == ("amount",)
    assert "float" in err["msg"]
    assert "string or Decimal" in err["msg"]


def test_float_quantity_in_json_is_refused_too() -> None:
    with pytest.raises(ValidationError, match="float"):
        SaleLine.model_validate_json('{"line_no": "1", "sku": "A", "quantity": 1.5}')


@pytest.mark.parametrize("value", ["19.99", Decimal("19.99"), 19])
def test_string_decimal_and_int_amounts_are_exact(value: object) -> None:
    money = Money(amount=value, currency="EUR")
    assert isinstance(money.amount, Decimal)
    assert money.amount == Decimal(str(value))


def test_boolean_amount_is_refused() -> None:
    with pytest.raises(ValidationError, match="boolean"):
        Money(amount=True, currency="EUR")


def test_not_a_number_is_refused() -> None:
    with pytest.raises(ValidationError, match="not a decimal number"):
        Money(amount="12,50", currency="EUR")


def test_int_sku_is_refused_with_a_hint_to_quote_it() -> None:
    with pytest.raises(ValidationError) as exc:
        SaleLine(line_no="1", sku=123, quantity="1")
    err = only_error(exc)
    assert err["loc"] == ("sku",)
    assert "identifiers must be strings" in err["msg"]
    assert "quote it" in err["msg"] and "'123'" in err["msg"]


@pytest.mark.parametrize("value", [True, 3.0, Decimal("7")])
def test_other_non_string_identifiers_are_refused(value: object) -> None:
    with pytest.raises(ValidationError, match="quote it"):
        Location(code=value)


def test_string_sku_keeps_leading_zeros_and_is_stripped() -> None:
    assert SaleLine(line_no="1", sku=" 00123 ", quantity="1").sku == "00123"


@pytest.mark.parametrize("blank", ["", "  ", "\t"])
def test_empty_or_blank_identifier_is_refused(blank: str) -> None:
    with pytest.raises(ValidationError) as exc:
        SaleLine(line_no="1", sku=blank, quantity="1")
    assert only_error(exc)["loc"] == ("sku",)


def test_blank_optional_identifier_means_none() -> None:
    assert TicketKey(store="1001", sequence=" 7 ", workstation="  ").workstation is None
    with pytest.raises(ValidationError, match="sequence number or a transaction id"):
        TicketKey(store="1001", sequence="  ")


# -- currencies ---------------------------------------------------------------------------


@pytest.mark.parametrize("given_code", ["eur", "Eur", " eur "])
def test_currency_is_upper_cased(given_code: str) -> None:
    assert Money(amount="1", currency=given_code).currency == "EUR"


@pytest.mark.parametrize("bad", ["EU", "EURO", "E1R", "", "€"])
def test_invalid_currency_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError) as exc:
        Money(amount="1", currency=bad)
    assert only_error(exc)["loc"] == ("currency",)


def test_money_arithmetic_in_one_currency() -> None:
    a = Money(amount="10.10", currency="EUR")
    b = Money(amount="0.20", currency="EUR")
    assert (a + b).amount == Decimal("10.30")
    assert (a - b).amount == Decimal("9.90")
    assert a.times(Decimal(3)).amount == Decimal("30.30")
    assert Money(amount="2.345", currency="EUR").rounded().amount == Decimal("2.35")
    assert Money(amount="2.345", currency="EUR").rounded(mode="half_even").amount == Decimal("2.34")


def test_cross_currency_arithmetic_is_refused() -> None:
    eur = Money(amount="10", currency="EUR")
    usd = Money(amount="10", currency="USD")
    with pytest.raises(ValueError, match="cannot combine EUR with USD"):
        eur + usd
    with pytest.raises(ValueError, match="cannot combine EUR with USD"):
        eur - usd


def test_price_requires_tax_included() -> None:
    with pytest.raises(ValidationError, match="tax_included"):
        Price(amount="1", currency="EUR")
    assert Price(amount="1", currency="EUR", tax_included=True).tax_included


# -- JSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("0.1", "0.1"),
        ("19.90", "19.90"),
        ("-0.0001", "-0.0001"),
        ("1E+3", "1000"),
        ("123456789012345678.123456789", "123456789012345678.123456789"),
    ],
)
def test_decimal_serialises_to_json_as_an_exact_string(amount: str, text: str) -> None:
    data = json.loads(Money(amount=amount, currency="EUR").model_dump_json())
    assert data == {"amount": text, "currency": "EUR"}
    assert Money(amount=amount, currency="EUR").model_dump(mode="json")["amount"] == text


def test_decimal_stays_decimal_in_python_dump() -> None:
    assert Money(amount="0.1", currency="EUR").model_dump()["amount"] == Decimal("0.1")


def test_records_are_frozen_and_forbid_unknown_fields() -> None:
    money = Money(amount="1", currency="EUR")
    with pytest.raises(ValidationError):
        money.amount = Decimal(2)  # type: ignore[misc]
    with pytest.raises(ValidationError, match="Extra inputs"):
        Money(amount="1", currency="EUR", cents=100)


# -- tickets ------------------------------------------------------------------------------


def test_ticket_key_needs_a_sequence_or_a_transaction_id() -> None:
    with pytest.raises(ValidationError, match="sequence number or a transaction id"):
        TicketKey(store="1001", workstation="01", business_day=date(2026, 11, 23))
    assert key("7").as_string() == "1001/01/2026-11-23/7"
    assert TicketKey(store="shop", transaction_id="99").as_string() == "shop/tx/99"
    assert TicketKey(store="1001", sequence="3").as_string() == "1001/-/-/3"


def test_empty_transaction_id_does_not_count() -> None:
    with pytest.raises(ValidationError, match="sequence number or a transaction id"):
        TicketKey(store="1001", transaction_id="")


def test_return_line_with_positive_quantity_is_refused() -> None:
    with pytest.raises(ValidationError, match="line 2: a return line carries a negative"):
        line("2", "1", is_return=True)
    assert line("2", "-1", is_return=True).quantity == -1


def test_stock_lines_skip_voided_and_zero_lines() -> None:
    sale = Sale(
        key=key(),
        status=SaleStatus.COMPLETED,
        currency="EUR",
        lines=(line("1", "2"), line("2", "1", voided=True), line("3", "0"), line("4", "-1")),
    )
    assert [x.line_no for x in sale.stock_lines()] == ["1", "4"]


@pytest.mark.parametrize(
    "status",
    [
        SaleStatus.CANCELLED,
        SaleStatus.VOIDED,
        SaleStatus.SUSPENDED,
        SaleStatus.TRAINING,
        SaleStatus.OTHER,
    ],
)
def test_tickets_that_are_not_completed_move_no_stock(status: SaleStatus) -> None:
    sale = Sale(key=key(), status=status, currency="EUR", lines=(line("1", "2"), line("2", "1")))
    assert sale.stock_lines() == ()


def test_stock_level_available_never_goes_below_zero() -> None:
    level = StockLevel(sku="A", location="P", on_hand="3", reserved="1", safety_buffer="1")
    assert level.available == 1
    assert StockLevel(sku="A", location="P", on_hand="1", safety_buffer="2").available == 0


def test_stock_movement_reason_is_checked() -> None:
    with pytest.raises(ValidationError):
        StockMovement(sku="A", location="P", delta="1", reason="theft")


# -- envelopes ----------------------------------------------------------------------------


def sale_body(price: object = "19.90", sku: str = "00123") -> SaleBody:
    return SaleBody(
        sale=Sale(
            key=key(),
            status="completed",
            currency="eur",
            lines=(
                SaleLine(
                    line_no="1",
                    sku=sku,
                    quantity="1",
                    unit_price=Money(amount=price, currency="EUR"),
                ),
            ),
        )
    )


def test_envelope_hash_is_equal_for_equal_bodies_and_differs_otherwise() -> None:
    a = Envelope.wrap("tills", "k1", sale_body("19.90"))
    b = Envelope.wrap("webshop", "other-key", sale_body(Decimal("19.90")))
    c = Envelope.wrap("tills", "k1", sale_body("19.91"))
    d = Envelope.wrap("tills", "k1", sale_body(sku="00124"))
    assert len(a.content_hash) == 64
    assert a.content_hash == b.content_hash  # provenance is not content
    assert len({a.content_hash, c.content_hash, d.content_hash}) == 3


@pytest.mark.parametrize(("a", "b"), [("19.9", "19.90"), ("20", "2E+1"), ("0", "-0.00")])
def test_equal_amounts_written_differently_hash_alike(a: str, b: str) -> None:
    assert sale_body(a) == sale_body(b)  # pydantic compares Decimals by value
    assert Envelope.wrap("tills", "k", sale_body(a)).content_hash == (
        Envelope.wrap("webshop", "k", sale_body(b)).content_hash
    )


def test_hash_tells_identifiers_from_numbers() -> None:
    assert Envelope.wrap("t", "k", sale_body(sku="0123")).content_hash != (
        Envelope.wrap("t", "k", sale_body(sku="123")).content_hash
    )


def test_envelope_round_trips_through_json() -> None:
    env = Envelope.wrap("tills", "k1", sale_body("19.90"))
    again = Envelope.model_validate_json(env.model_dump_json())
    assert again == env
    assert isinstance(again.body, SaleBody)
    assert again.body.sale.lines[0].unit_price.amount == Decimal("19.90")


# -- properties ---------------------------------------------------------------------------

quantities = st.decimals(
    min_value=Decimal("-100000000000000"),
    max_value=Decimal("100000000000000"),
    places=4,
    allow_nan=False,
    allow_infinity=False,
)


@given(quantities)
def test_quantities_with_four_places_round_trip_through_the_ledger(qty: Decimal) -> None:
    e4 = to_e4(qty)
    assert isinstance(e4, int)
    assert from_e4(e4) == qty
    assert to_e4(from_e4(e4)) == e4


@given(st.decimals(min_value=-1000, max_value=1000, places=5, allow_nan=False))
def test_more_than_four_places_are_refused_by_the_ledger(qty: Decimal) -> None:
    if qty == qty.quantize(Decimal("0.0001")):
        assert from_e4(to_e4(qty)) == qty
    else:
        with pytest.raises(ValueError, match="more than 4 decimals"):
            to_e4(qty)


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=None),
    st.sampled_from(["EUR", "usd", "SEK"]),
)
def test_money_json_round_trip_preserves_the_amount_exactly(amount: Decimal, cur: str) -> None:
    money = Money(amount=amount, currency=cur)
    text = money.model_dump_json()
    assert isinstance(json.loads(text)["amount"], str)
    again = Money.model_validate_json(text)
    assert again.amount == amount
    assert again == money
