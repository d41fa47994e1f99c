"""The POSLog reader fills ``Sale.loyalty`` from LoyaltyReward / LoyaltyRedemption lines."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from bridge.connector import Rejection
from bridge.model import Money, Sale
from bridge.model.sale import LoyaltyEntry
from connectors.poslog.parser import parse
from tests.support import CORPUS, need

TICKET = """\
<POSLog xmlns="http://www.nrf-arts.org/IXRetail/namespace/" xmlns:x="urn:vendor">
  <Transaction>
    <BusinessUnit><UnitID>1001</UnitID></BusinessUnit>
    <WorkstationID>01</WorkstationID>
    <SequenceNumber>42</SequenceNumber>
    <CurrencyCode>EUR</CurrencyCode>
    <RetailTransaction>
      <LineItem>
        <Sale><ItemID>TSHIRT</ItemID><ExtendedAmount>19.99</ExtendedAmount>
          <Quantity>1</Quantity></Sale>
        <SequenceNumber>1</SequenceNumber>
      </LineItem>
      <LineItem>
        <LoyaltyReward>
          <LoyaltyID>CARD-77</LoyaltyID>
          <LoyaltyProgramID>CLUB</LoyaltyProgramID>
          <PointsAwarded>19</PointsAwarded>
        </LoyaltyReward>
        <SequenceNumber>2</SequenceNumber>
      </LineItem>
      <LineItem>
        <LoyaltyRedemption>
          <LoyaltyAccount><LoyaltyCard><PrimaryAccountNumber>CARD-77</PrimaryAccountNumber>
          </LoyaltyCard><LoyaltyProgram><Points>500</Points></LoyaltyProgram></LoyaltyAccount>
          <Amount Currency="EUR">5.00</Amount>
        </LoyaltyRedemption>
        <SequenceNumber>3</SequenceNumber>
      </LineItem>
      <LineItem VoidFlag="true">
        <LoyaltyReward><PointsAwarded>7</PointsAwarded></LoyaltyReward>
        <SequenceNumber>4</SequenceNumber>
      </LineItem>
      <LineItem>
        <LoyaltyReward><PromotionID>5123</PromotionID><x:ExtendedRewardAmount>-0.19
          </x:ExtendedRewardAmount></LoyaltyReward>
        <SequenceNumber>5</SequenceNumber>
      </LineItem>
      <LineItem>
        <Tender TenderType="Cash" TypeCode="Sale"><Amount>14.99</Amount></Tender>
        <SequenceNumber>6</SequenceNumber>
      </LineItem>
    </RetailTransaction>
    <BusinessDayDate>2026-11-23</BusinessDayDate>
  </Transaction>
</POSLog>
"""


def read(text: str) -> list[Sale | Rejection]:
    return list(parse(io.BytesIO(text.encode()), "loyalty.xml"))


def test_points_earned_and_redeemed_are_read_as_the_till_recorded_them() -> None:
    (sale,) = read(TICKET)
    assert isinstance(sale, Sale)
    assert sale.loyalty == (
        LoyaltyEntry(
            kind="earned", points=Decimal(19), card="CARD-77", line_no="2", program="CLUB"
        ),
        LoyaltyEntry(
            kind="redeemed",
            points=Decimal(500),
            card="CARD-77",
            line_no="3",
            value=Money(amount="5.00", currency="EUR"),
        ),
    )  # the voided reward (line 4) and the promotion without points (line 5) are left out
    assert sale.customer is not None and sale.customer.loyalty_card == "CARD-77"
    assert [line.sku for line in sale.lines] == ["TSHIRT"]


def test_unreadable_points_reject_the_transaction_at_their_line() -> None:
    (rejected,) = read(TICKET.replace("<PointsAwarded>19<", "<PointsAwarded>lots<"))
    assert isinstance(rejected, Rejection)
    assert "LineItem 2 LoyaltyReward PointsAwarded: 'lots' is not a decimal number" in (
        rejected.error
    )


@pytest.mark.parametrize(
    ("name", "cards"),
    [
        ("ncr-acs-v21-small.xml", {"0000000000000040000066677"}),
        ("roqqio-v6-sale-customer-loyalty.xml", {"T220001293"}),
    ],
)
def test_real_files_hold_cards_but_no_points_lines(name: str, cards: set[str]) -> None:
    """NCR ACS writes promotions (monetary rewards, receipt messages) as LoyaltyReward
    without points: none of them is a points entry; the card still names the customer."""
    path = CORPUS / "poslog" / name
    need(path.is_file(), f"the POSLog corpus is not at {path.parent}")
    with path.open("rb") as fh:
        sales = [s for s in parse(fh, name) if isinstance(s, Sale)]
    assert sales and all(s.loyalty == () for s in sales)
    assert {s.customer.loyalty_card for s in sales if s.customer} == cards
