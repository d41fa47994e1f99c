"""Properties of the money and unit functions, over many generated amounts."""

from __future__ import annotations

from decimal import Decimal
from itertools import permutations

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.mapping.functions import ROUNDING, BindContext, bind
from bridge.mapping.units import UNITS

CTX = BindContext(tax_rates={"standard": Decimal(20), "reduced": Decimal("5.5")})
ONE = Decimal(1)
CENT = Decimal("0.01")
HALF_MODES = ["half_up", "half_even", "half_down"]

prices = st.decimals(min_value="0.01", max_value="100000", places=2)
amounts = st.decimals(min_value="-1000000", max_value="1000000", places=4)
cents = st.decimals(min_value="-1000000000", max_value="1000000000", places=2)
endings = st.decimals(min_value=0, max_value="0.99", places=2) | st.sampled_from(
    [Decimal("0.99"), Decimal("0.95"), Decimal("0.5"), Decimal(0)]
)
rates = st.decimals(min_value=0, max_value=100, places=2) | st.sampled_from(
    ["5.5", "20", "0", "100", "8.875", "standard", "reduced"]
)

SETTINGS = settings(max_examples=300, deadline=None)


@SETTINGS
@given(prices, endings, st.sampled_from(["nearest", "up", "down"]))
def test_price_ending_moves_less_than_one_in_the_right_direction(
    price: Decimal, ending: Decimal, direction: str
) -> None:
    step = bind("price_ending", {"ending": str(ending), "direction": direction}, CTX)
    result = step(price, None)
    assert abs(result - price) < ONE
    assert result > 0
    if direction == "up":
        assert result >= price
    if direction == "down":
        assert result <= price
    first = ending if ending > 0 else ONE  # the lowest positive price with that ending
    if price >= first or direction != "down":
        assert (result - ending) % 1 == 0, "the result ends with the ending"
        assert step(result, None) == result, "a price with that ending is kept"
    if direction == "nearest" and price >= first + ONE:
        assert abs(result - price) <= Decimal("0.5")


@SETTINGS
@given(amounts, st.sampled_from(list(ROUNDING)), st.integers(min_value=0, max_value=4))
def test_round_to_places_is_close_and_idempotent(amount: Decimal, mode: str, places: int) -> None:
    step = bind("round", {"places": places, "mode": mode}, CTX)
    quantum = ONE.scaleb(-places)
    result = step(amount, None)
    bound = quantum / 2 if mode in HALF_MODES else quantum
    assert abs(result - amount) <= bound
    assert abs(result - amount) < quantum
    assert result % quantum == 0
    assert step(result, None) == result


@SETTINGS
@given(
    amounts,
    st.sampled_from(list(ROUNDING)),
    st.sampled_from(["0.05", "0.1", "0.25", "0.5", "5", "0.03"]),
)
def test_round_to_quantum_is_close_and_idempotent(amount: Decimal, mode: str, quantum: str) -> None:
    step = bind("round", {"quantum": quantum, "mode": mode}, CTX)
    q = Decimal(quantum)
    result = step(amount, None)
    bound = q / 2 if mode in HALF_MODES else q
    assert abs(result - amount) <= bound
    assert result % q == 0
    assert step(result, None) == result


@SETTINGS
@given(cents, rates, st.sampled_from(HALF_MODES))
def test_tax_out_undoes_tax_in_at_the_cent(amount: Decimal, rate: object, mode: str) -> None:
    args = {"rate": str(rate), "mode": mode}
    tax_in, tax_out = bind("tax_in", args, CTX), bind("tax_out", args, CTX)
    assert tax_out(tax_in(amount, None), None) == amount


@SETTINGS
@given(cents, rates, st.sampled_from(HALF_MODES))
def test_tax_in_of_tax_out_is_within_a_cent(price: Decimal, rate: object, mode: str) -> None:
    args = {"rate": str(rate), "mode": mode}
    tax_in, tax_out = bind("tax_in", args, CTX), bind("tax_out", args, CTX)
    assert abs(tax_in(tax_out(price, None), None) - price) <= CENT


UNIT_PAIRS = [
    (a, b) for a, b in permutations(UNITS, 2) if UNITS[a][0] == UNITS[b][0]
]  # same dimension


@st.composite
def quantities(draw: st.DrawFn) -> Decimal:
    """Decimals of up to 15 significant digits, from tiny to large."""
    coefficient = draw(st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1))
    return Decimal(coefficient).scaleb(draw(st.integers(min_value=-12, max_value=12)))


@SETTINGS
@given(quantities(), st.sampled_from(UNIT_PAIRS))
def test_unit_there_and_back_is_the_identity(value: Decimal, pair: tuple[str, str]) -> None:
    source, target = pair
    there = bind("unit", {"from": source, "to": target}, CTX)
    back = bind("unit", {"from": target, "to": source}, CTX)
    assert back(there(value, None), None) == value
