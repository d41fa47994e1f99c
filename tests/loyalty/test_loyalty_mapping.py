"""The ``loyalty:`` section of a mapping: a good one loads, a broken one says where it broke."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bridge.mapping.loader import load_plan
from tests.test_yaml_errors import at, mapping_problems, single, write

GOOD = """\
version: 1
products:
  categories: {inline: {GIFT-CARD: gift}}
loyalty:
  currency: eur
  points_per_unit: "0.5"
  rounding: {places: 1, mode: half_up}
  channels: [store]
  exclude: {skus: ["00123"], categories: [gift]}
  points_from: {tills: stated}
  redeem: {tenders: [loyalty], point_value: "0.01"}
  returns: ignore
  publish: [webshop, odoo]
"""


def test_a_good_section_loads_with_exact_values(tmp_path: Path) -> None:
    spec = load_plan(write(tmp_path, "mapping.yaml", GOOD)).spec.loyalty
    assert spec is not None
    assert spec.currency == "EUR"
    assert spec.points_per_unit == Decimal("0.5")
    assert spec.exclude.skus == ("00123",)  # leading zeros survive
    assert spec.points_from == {"tills": "stated"}
    assert spec.redeem.point_value == Decimal("0.01")
    assert spec.publish == ("webshop", "odoo")


def test_no_section_is_no_program(tmp_path: Path) -> None:
    assert load_plan(write(tmp_path, "mapping.yaml", "version: 1\n")).spec.loyalty is None


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            'loyalty:\n  points_per_unit: "1"\n  rounding: {places: 0, mod: down}\n',
            (3, 25),
            "unknown key 'mod' (did you mean 'mode'?)",
        ),
        (
            'loyalty:\n  points_per_unit: "1"\n  publsh: [webshop]\n',
            (3, 3),
            "unknown key 'publsh' (did you mean 'publish'?)",
        ),
        (
            "loyalty:\n  points_per_unit: 0.5\n",
            (2, 20),
            "loyalty.points_per_unit: float 0.5 refused: send money and quantities as a string "
            "or Decimal (e.g. '0.5') so no precision is lost (got 0.5)",
        ),
        (
            'loyalty:\n  points_per_unit: "0"\n',
            (2, 20),
            "loyalty.points_per_unit: points_per_unit must be above 0 (got 0)",
        ),
        (
            "loyalty:\n  currency: EUR\n",
            (1, 1),
            "loyalty: missing required key 'points_per_unit'",
        ),
        (
            'loyalty:\n  points_per_unit: "1"\n  points_from: {tills: trusted}\n',
            (3, 24),
            "loyalty.points_from.tills: Input should be 'stated' or 'computed' (got 'trusted') "
            "(did you mean 'stated'?)",
        ),
        (
            'loyalty:\n  points_per_unit: "1"\n  redeem:\n    tenders: [loyalty]\n',
            (4, 5),
            "loyalty.redeem.tenders: redeeming through tenders needs point_value (what one "
            'point is worth, e.g. "0.01")',
        ),
        (
            'loyalty:\n  points_per_unit: "1"\n  redeem: {tenders: [x], point_value: "-1"}\n',
            (3, 39),
            "loyalty.redeem.point_value: point_value must be above 0 (got -1)",
        ),
        (
            'loyalty:\n  points_per_unit: "1"\n  publish: [webshop, odoo, webshop]\n',
            (3, 28),
            "loyalty.publish.2: 'webshop' is listed twice",
        ),
        (
            'loyalty:\n  points_per_unit: "1"\n  rounding: {places: 6}\n',
            (3, 22),
            "loyalty.rounding.places: Input should be less than or equal to 4 (got 6)",
        ),
        (
            'loyalty:\n  points_per_unit: "1"\n  channels: []\n',
            (3, 3),
            "loyalty.channels: no channel earns: list store, web or both",
        ),
    ],
    ids=[
        "misspelt-key",
        "unknown-top-key",
        "float-rate",
        "zero-rate",
        "no-rate",
        "unknown-mode",
        "tender-without-value",
        "negative-value",
        "duplicate-publish",
        "too-many-places",
        "no-channel",
    ],
)
def test_a_broken_section_is_reported_at_its_line_and_column(
    tmp_path: Path, text: str, where: tuple[int, int], message: str
) -> None:
    p = single(mapping_problems(tmp_path, text))
    assert (at(p), p.message) == (where, message)
