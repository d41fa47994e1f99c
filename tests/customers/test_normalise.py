"""Normalisation of an observed customer into identity keys (no database)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bridge.customers import ObservedCustomer, normalise
from bridge.customers.model import fold, fold_postcode


def rec(**kw: object) -> ObservedCustomer:
    return ObservedCustomer(source=kw.pop("source", "tills"), source_id="1", **kw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Jean.Dupont@Example.FR ", "jean.dupont@example.fr"),
        ("jean.dupont+promo@gmail.com", "jean.dupont+promo@gmail.com"),
        ("A@B", "a@b"),
    ],
)
def test_emails_are_stripped_and_lowered(raw: str, expected: str) -> None:
    assert normalise(rec(email=raw)).email == expected


@pytest.mark.parametrize("raw", ["not an email", "jean@", "@example.fr", "a@b@c", "a b@c.fr"])
def test_an_invalid_email_drops_the_key_not_the_record(raw: str) -> None:
    norm = normalise(rec(email=raw, loyalty_card="C1"))
    assert norm.email is None
    assert norm.keys == (("channel", "tills:1"), ("loyalty", "C1"))
    assert len(norm.notes) == 1 and "e-mail key dropped" in norm.notes[0]


def test_a_blank_email_is_no_email_and_no_note() -> None:
    norm = normalise(rec(email="   "))
    assert norm.email is None and norm.notes == ()


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("+33 (0)6 12 34 56 78", None, "+33612345678"),
        ("0033612345678", "FR", "+33612345678"),
        ("07911 123456", "GB", "+447911123456"),
        ("+44 7911 123456", "FR", "+447911123456"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("0690 12 34 56", "GP", "+590690123456"),
    ],
)
def test_phones_become_e164_in_the_given_region(raw: str, region: str, expected: str) -> None:
    assert normalise(rec(phone=raw), region).phone == expected


def test_the_record_region_wins_over_the_store_region() -> None:
    # DOM-TOM: the same digits are invalid in FR and valid in GP.
    assert normalise(rec(phone="0690123456", region="gp"), "FR").phone == "+590690123456"
    norm = normalise(rec(phone="0690123456"), "FR")
    assert norm.phone is None and "phone key dropped" in norm.notes[0]


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("06 12 34 56 78", None),  # national number, no region to read it in
        ("12", "FR"),
        ("not a phone", "FR"),
        ("07911 123456", "FR"),  # a UK mobile read as French
    ],
)
def test_an_invalid_phone_drops_the_key_with_a_note(raw: str, region: str | None) -> None:
    norm = normalise(rec(phone=raw, email="a@b.fr"), region)
    assert norm.phone is None
    assert norm.email == "a@b.fr"
    assert len(norm.notes) == 1 and norm.notes[0].startswith("phone:")


def test_loyalty_card_is_exact_after_strip() -> None:
    assert normalise(rec(loyalty_card="  00123 ")).loyalty_card == "00123"
    assert normalise(rec(loyalty_card="ab12")).loyalty_card == "ab12"  # case is kept
    assert normalise(rec(loyalty_card="  ")).loyalty_card is None


def test_channel_keys_include_the_record_and_its_cross_references() -> None:
    norm = normalise(
        ObservedCustomer(source="webshop", source_id="9", channel_ids={"tills": " 42 "})
    )
    assert norm.keys == (("channel", "tills:42"), ("channel", "webshop:9"))


def test_names_and_postcodes_fold_for_weak_matching_only() -> None:
    assert fold("  Éloïse   DE LA   Tour-Pin ") == "eloise de la tour pin"
    assert fold("STRASSE") == fold("Straße")
    assert fold_postcode("sw1a 1aa") == fold_postcode(" SW1A1AA ") == "sw1a1aa"
    norm = normalise(rec(first_name="Zoé", last_name="Müller", postcode="75 011"))
    assert norm.name_key == "zoe muller" and norm.postcode_key == "75011"
    assert all(kind != "name" for kind, _ in norm.keys)
    assert normalise(rec(first_name="Zoé")).name_key is None  # a full name needs both


def test_the_model_is_strict() -> None:
    with pytest.raises(ValidationError, match="identifiers must be strings"):
        ObservedCustomer(source="tills", source_id=42)
    with pytest.raises(ValidationError):
        ObservedCustomer(source="tills", source_id="1", phone=612345678)
    with pytest.raises(ValidationError, match="unknown phone region"):
        ObservedCustomer(source="tills", source_id="1", region="XX")
    with pytest.raises(ValidationError, match="country"):
        ObservedCustomer(source="tills", source_id="1", country="France")
    with pytest.raises(ValidationError, match="Extra inputs"):
        ObservedCustomer(source="tills", source_id="1", nickname="JD")
    with pytest.raises(ValidationError, match="timezone"):
        ObservedCustomer(source="tills", source_id="1", observed_at="2026-11-23T10:00:00")
