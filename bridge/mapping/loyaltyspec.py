"""The ``loyalty:`` section of a mapping file: how sales earn and spend points.

Everything here is data an admin writes; ``bridge.loyalty.rules`` applies it to a sale. A
mapping without the section runs no loyalty program (sales earn nothing, nothing is pushed).

Example::

    loyalty:
      currency: EUR
      points_per_unit: "1"        # one point per euro spent
      rounding: {places: 0, mode: down}
      channels: [store, web]
      exclude: {skus: [GIFT-CARD], categories: [tobacco]}
      points_from: {tills: stated}  # trust what these tills computed; others: these rules
      redeem: {tenders: [loyalty], point_value: "0.01"}
      returns: reverse
      publish: [webshop, odoo]
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from bridge.mapping.basespec import Spec
from bridge.model.types import CurrencyCode, Dec, Identifier
from bridge.yamlio import LocatedError

ROUNDING = Literal["half_up", "half_even", "half_down", "up", "down", "floor", "ceiling"]
MAX_PLACES = 4
"""Points are stored in units of 1/10,000 (exact sums on every database)."""


class PointsRounding(Spec):
    """How the points of one line are rounded. ``down`` (the usual rule) rounds the
    magnitude toward zero, so a returned line takes back exactly what it earned."""

    places: int = Field(0, ge=0, le=MAX_PLACES)
    mode: ROUNDING = "down"


class LoyaltyExclusions(Spec):
    """Lines that earn nothing (gift cards, tobacco, deposits...)."""

    skus: tuple[Identifier, ...] = ()
    categories: tuple[Identifier, ...] = ()
    """Categories as ``products.categories`` gives them."""


class RedeemSpec(Spec):
    """Points spent through payments: a tender of one of these kinds (after the mapping's
    ``tenders`` table) pays with points worth ``point_value`` each."""

    tenders: tuple[Identifier, ...] = ()
    point_value: Dec | None = None
    """What one point is worth in the sale's currency, e.g. ``"0.01"``."""

    @field_validator("point_value")
    @classmethod
    def _positive(cls, value: Any) -> Any:
        if value is not None and value <= 0:
            raise LocatedError(f"point_value must be above 0 (got {value})", ())
        return value

    @model_validator(mode="after")
    def _value_for_tenders(self) -> RedeemSpec:
        if self.tenders and self.point_value is None:
            raise LocatedError(
                "redeeming through tenders needs point_value (what one point is worth, "
                'e.g. "0.01")',
                ("tenders",),
                on_key=True,
            )
        return self


class LoyaltySpec(Spec):
    """One points program across channels: earned on sales, spent on redemptions."""

    currency: CurrencyCode | None = None
    """Sales in another currency earn nothing (logged); unset: any currency."""
    points_per_unit: Dec
    """Points earned per one unit of currency spent (``"1"``: a point per euro; ``"0.1"``: a
    point per ten euros), on each line's amount as the till or shop recorded it."""
    rounding: PointsRounding = Field(default_factory=PointsRounding)
    channels: tuple[Identifier, ...] = ("store", "web")
    """Sale channels that earn (``store`` tickets, ``web`` orders)."""
    exclude: LoyaltyExclusions = Field(default_factory=LoyaltyExclusions)
    points_from: dict[Identifier, Literal["stated", "computed"]] = Field(default_factory=dict)
    """Connection -> ``stated`` (the points the till recorded on the ticket are the truth,
    earned and redeemed) or ``computed`` (the default: these rules compute them)."""
    redeem: RedeemSpec = Field(default_factory=RedeemSpec)
    returns: Literal["reverse", "ignore"] = "reverse"
    """``reverse``: a returned line takes back the points its sale earned (the original
    line's, prorated, when the return links to it; else computed from the refund)."""
    publish: tuple[Identifier, ...] = ()
    """Connections the balance is pushed to (their connector must write loyalty)."""

    @field_validator("points_per_unit")
    @classmethod
    def _rate(cls, value: Any) -> Any:
        if value <= 0:
            raise LocatedError(f"points_per_unit must be above 0 (got {value})", ())
        return value

    @model_validator(mode="after")
    def _sane(self) -> LoyaltySpec:
        for field in ("channels", "publish"):
            seen: set[str] = set()
            for index, name in enumerate(getattr(self, field)):
                if name in seen:
                    raise LocatedError(f"{name!r} is listed twice", (field, index))
                seen.add(name)
        if not self.channels:
            raise LocatedError("no channel earns: list store, web or both", ("channels",))
        return self
