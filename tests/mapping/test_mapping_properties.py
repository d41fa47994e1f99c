"""Properties of compiled mappings over many generated records, prices and stock levels.

- field rules: outbound then inbound gives back every mapped canonical field;
- channel prices: never further than the rounding rule allows, in its direction;
- tax-included and tax-excluded channels agree to the cent;
- stock: never negative, never above the maximum, 0 below the minimum, pools add up;
- versions and fingerprints: same input, same hash; a changed field, another print.
"""

from __future__ import annotations

import copy
import decimal
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bridge.mapping.functions import ROUNDING
from bridge.mapping.loader import load_plan
from bridge.mapping.plan import MappingPlan
from bridge.mapping.rules import fingerprint
from bridge.mapping.spec import MappingSpec

SETTINGS = settings(max_examples=200, deadline=None)
ROUNDING_MODES = {
    "half_up": decimal.ROUND_HALF_UP,
    "half_even": decimal.ROUND_HALF_EVEN,
    "half_down": decimal.ROUND_HALF_DOWN,
    "up": decimal.ROUND_UP,
    "down": decimal.ROUND_DOWN,
    "floor": decimal.ROUND_FLOOR,
    "ceiling": decimal.ROUND_CEILING,
}
ONE = Decimal(1)
CENT = Decimal("0.01")


def compile_spec(data: dict[str, Any]) -> MappingPlan:
    return MappingPlan.compile(MappingSpec.model_validate(data))


# -- (a) outbound then inbound ----------------------------------------------------------------

ROUND_TRIP = """\
tables:
  categories: {inline: {tops: "10", denim: "20", "007": "70"}}
connections:
  shop:
    product:
      outbound:
        key: sku
        fields:
          variant.sku: sku
          variant.barcode: {from: ean, on: create}
          variant.weight_kg: {from: weight_g, apply: [{unit: {from: g, to: kg}}]}
          variant.price_cents: {from: price, apply: [{multiply: "100"}, integer]}
          variant.inventory: {from: quantity, apply: [string]}
          title: name
          category_id: {from: category, apply: [{lookup: categories}]}
          parcel_oz: {from: parcel_lb, apply: [{unit: {from: lb, to: oz}}]}
      inbound:
        key: variant.sku
        fields:
          sku: variant.sku
          ean: variant.barcode
          weight_g: {from: variant.weight_kg, apply: [{unit: {from: kg, to: g}}]}
          price: {from: variant.price_cents, apply: [{multiply: "0.01"}]}
          quantity: {from: variant.inventory, apply: [decimal]}
          name: title
          category: {from: category_id, apply: [{map: {"10": tops, "20": denim, "70": "007"}}]}
          parcel_lb: {from: parcel_oz, apply: [{unit: {from: oz, to: lb}}]}
"""

MAPPED = ("sku", "ean", "weight_g", "price", "quantity", "name", "category", "parcel_lb")


@pytest.fixture(scope="module")
def round_trip_plan(tmp_path_factory: pytest.TempPathFactory) -> MappingPlan:
    path = tmp_path_factory.mktemp("round_trip") / "mapping.yaml"
    path.write_text(ROUND_TRIP)
    return load_plan(path)


skus = st.from_regex(r"0{0,3}[0-9A-Z][0-9A-Z-]{0,14}", fullmatch=True)
eans = st.from_regex(r"[0-9]{13}", fullmatch=True)
products = st.fixed_dictionaries(
    {
        "sku": skus,
        "ean": eans,
        "weight_g": st.decimals(min_value=0, max_value=100_000, places=3),
        "price": st.decimals(min_value=0, max_value=1_000_000, places=2),
        "quantity": st.decimals(min_value=-10_000, max_value=10_000, places=3),
        "name": st.text(max_size=30),
        "category": st.sampled_from(["tops", "denim", "007"]),
        "parcel_lb": st.decimals(min_value=0, max_value=1_000, places=4),
    }
)


@SETTINGS
@given(products)
def test_outbound_then_inbound_gives_back_every_mapped_field(
    round_trip_plan: MappingPlan, record: dict[str, Any]
) -> None:
    native = round_trip_plan.outbound("shop", "product", record, created=True)
    assert native is not None
    assert isinstance(native["variant"]["price_cents"], int)
    back = round_trip_plan.inbound("shop", "product", native)
    for name in MAPPED:
        assert type(back[name]) is type(record[name]), name
        assert back[name] == record[name], name
    assert back["sku"] == record["sku"]  # leading zeros and all


@SETTINGS
@given(products)
def test_updates_leave_out_create_only_fields(
    round_trip_plan: MappingPlan, record: dict[str, Any]
) -> None:
    native = round_trip_plan.outbound("shop", "product", record)
    assert native is not None
    assert "barcode" not in native["variant"]
    assert round_trip_plan.inbound("shop", "product", native)["ean"] is None


# -- (b) channel prices and their rounding rules ----------------------------------------------

prices = st.decimals(min_value="0.01", max_value="100000", places=2)
endings = st.decimals(min_value=0, max_value="0.99", places=2) | st.sampled_from(
    [Decimal("0.99"), Decimal("0.95"), Decimal("0.49"), Decimal(0)]
)
directions = st.sampled_from(["nearest", "up", "down"])
rates = st.decimals(min_value=0, max_value=30, places=1)


def converted(
    price: Decimal, rate: Decimal, list_incl: bool, channel_incl: bool, mode: str = "half_up"
) -> Decimal:
    """The price in the channel's tax convention, rounded once to the cent by its rule."""
    factor = ONE + rate / 100
    if list_incl == channel_incl:
        return price
    exact = price * factor if channel_incl else price / factor
    return exact.quantize(CENT, ROUNDING_MODES[mode])


@SETTINGS
@given(
    prices,
    endings,
    directions,
    rates,
    st.booleans(),
    st.booleans(),
    st.sampled_from(list(ROUNDING)),
)
def test_channel_price_moves_less_than_one_in_the_rule_direction(
    price: Decimal,
    ending: Decimal,
    direction: str,
    rate: Decimal,
    list_incl: bool,
    channel_incl: bool,
    mode: str,
) -> None:
    plan = compile_spec(
        {
            "prices": {
                "currency": "EUR",
                "tax_included": list_incl,
                "lists": {"web": {}},
                "channels": {
                    "shop": {
                        "price_list": "web",
                        "tax_included": channel_incl,
                        "rounding": {
                            "places": 2,
                            "mode": mode,
                            "ending": str(ending),
                            "direction": direction,
                        },
                    }
                },
            },
            "taxes": {"rates": {"vat": str(rate)}, "default": "vat"},
        }
    )
    found = plan.channel_price("shop", "SKU-1", {"default": price + 1, "web": price})
    assert found is not None
    assert found.price_list == "web" and found.tax_included is channel_incl
    base = converted(price, rate, list_incl, channel_incl, mode)
    assume(base > 0)
    result = found.price
    assert abs(result - base) < ONE
    assert result > 0
    if direction == "up":
        assert result >= base
    if direction == "down":
        assert result <= base
    first = ending if ending > 0 else ONE  # the lowest positive price with that ending
    if base >= first or direction != "down":
        assert (result - ending) % 1 == 0, "the price ends with the ending"


# -- (c) tax-included and tax-excluded channels ------------------------------------------------


def two_channels(rate: Decimal, list_incl: bool) -> MappingPlan:
    return compile_spec(
        {
            "prices": {
                "currency": "EUR",
                "tax_included": list_incl,
                "channels": {
                    "incl": {"tax_included": True, "rounding": {"places": 2}},
                    "excl": {"tax_included": False, "rounding": {"places": 2}},
                },
            },
            "taxes": {"rates": {"vat": str(rate)}, "default": "vat"},
        }
    )


@SETTINGS
@given(prices, st.decimals(min_value=0, max_value=100, places=2))
def test_tax_in_then_tax_out_gives_back_the_cent(excluded: Decimal, rate: Decimal) -> None:
    """A tax-excluded list shown tax included, read back tax excluded: the same cents."""
    included = two_channels(rate, False).channel_price("incl", "SKU", {"default": excluded})
    assert included is not None
    assert included.price == (excluded * (1 + rate / 100)).quantize(CENT, ROUND_HALF_UP)
    back = two_channels(rate, True).channel_price("excl", "SKU", {"default": included.price})
    assert back is not None and back.price == excluded
    same = two_channels(rate, False).channel_price("excl", "SKU", {"default": excluded})
    assert same is not None and same.price == excluded


@SETTINGS
@given(prices, st.decimals(min_value=0, max_value=100, places=2))
def test_tax_out_then_tax_in_is_within_a_cent(included: Decimal, rate: Decimal) -> None:
    excluded = two_channels(rate, True).channel_price("excl", "SKU", {"default": included})
    assert excluded is not None
    again = two_channels(rate, False).channel_price("incl", "SKU", {"default": excluded.price})
    assert again is not None
    assert abs(again.price - included) <= CENT


def test_a_channel_price_is_rounded_once_by_its_own_rule() -> None:
    def price(channels: dict[str, Any], channel: str, amount: str) -> Decimal:
        plan = compile_spec(
            {
                "prices": {"currency": "EUR", "channels": channels},
                "taxes": {"rates": {"reduced": "5.5"}, "default": "reduced"},
            }
        )
        found = plan.channel_price(channel, "BOOK", {"default": Decimal(amount)})
        assert found is not None
        return found.price

    whole = {"whole": {"tax_included": False, "rounding": {"places": 0}}}
    assert price(whole, "whole", "1.58") == Decimal(1)  # 1.58 / 1.055 = 1.4976...
    cents = {"cents": {"tax_included": False}}
    assert price({**whole, **cents}, "whole", "1.58") == Decimal(1)  # not 2
    down = {"down": {"tax_included": False, "rounding": {"places": 2, "mode": "down"}}}
    assert price(down, "down", "9.99") == Decimal("9.46")  # 9.4692..., not 9.47


# -- (d) stock ----------------------------------------------------------------------------------

quantities = st.decimals(min_value=-50, max_value=200, places=0)
buffers = st.decimals(min_value=0, max_value=10, places=0)
maybe_limit = st.none() | st.decimals(min_value=0, max_value=60, places=0)


def limited(value: Decimal, minimum: Decimal | None, maximum: Decimal | None) -> Decimal:
    if value <= 0 or (minimum is not None and value < minimum):
        return Decimal(0)
    return value if maximum is None or value <= maximum else maximum


@SETTINGS
@given(
    st.lists(st.none() | buffers.filter(bool), min_size=1, max_size=4),
    buffers,
    buffers,
    maybe_limit,
    maybe_limit,
    st.data(),
)
def test_published_stock_respects_the_rules_and_pools_add_up(
    location_buffers: list[Decimal | None],
    default_buffer: Decimal,
    pool_buffer: Decimal,
    minimum: Decimal | None,
    maximum: Decimal | None,
    data: st.DataObject,
) -> None:
    if minimum is not None and maximum is not None and minimum > maximum:
        minimum, maximum = maximum, minimum
    codes = [f"STORE-{i}" for i in range(len(location_buffers))]
    plan = compile_spec(
        {
            "locations": [
                {"code": code} if buffer is None else {"code": code, "safety_buffer": str(buffer)}
                for code, buffer in zip(codes, location_buffers, strict=True)
            ],
            "stock": {
                "default": {
                    "buffer": str(default_buffer),
                    "minimum": None if minimum is None else str(minimum),
                    "maximum": None if maximum is None else str(maximum),
                },
                "pools": [{"code": "WEB", "sum": codes, "buffer": str(pool_buffer)}],
            },
        }
    )
    parts = {
        code: (data.draw(quantities, label=f"{code} on hand"), data.draw(buffers, label="reserved"))
        for code in codes
    }
    total = Decimal(0)
    for code, buffer in zip(codes, location_buffers, strict=True):
        on_hand, reserved = parts[code]
        published = plan.stock.available("SKU", code, on_hand, reserved)
        assert published >= 0
        if maximum is not None:
            assert published <= maximum
        own = default_buffer if buffer is None else buffer  # none of its own: the default's
        raw = on_hand - reserved - own
        if minimum is not None and raw < minimum:
            assert published == 0
        assert published == limited(raw, minimum, maximum)
        total += max(raw, Decimal(0))
    pooled = plan.stock.pooled("SKU", "WEB", parts)
    assert pooled >= 0
    assert pooled == limited(total - pool_buffer, minimum, maximum)


def test_an_explicit_zero_safety_buffer_wins_over_the_default() -> None:
    plan = compile_spec(
        {
            "locations": [{"code": "WAREHOUSE", "safety_buffer": "0"}, {"code": "SHOP"}],
            "stock": {"default": {"buffer": "2"}},
        }
    )
    assert plan.stock.available("SKU", "SHOP", Decimal(10), Decimal(0)) == 8
    assert plan.stock.available("SKU", "WAREHOUSE", Decimal(10), Decimal(0)) == 10


# -- (e) versions and fingerprints ----------------------------------------------------------


def test_compiling_the_same_file_twice_gives_the_same_version(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text(ROUND_TRIP)
    first, second = load_plan(path), load_plan(path)
    assert first.version == second.version
    assert len(first.version) == 16
    copy_path = tmp_path / "elsewhere" / "mapping.yaml"
    copy_path.parent.mkdir()
    copy_path.write_bytes(path.read_bytes())
    assert load_plan(copy_path).version == first.version
    path.write_text(ROUND_TRIP.replace('"007": "70"', '"007": "71"'))
    assert load_plan(path).version != first.version


@SETTINGS
@given(buffers, buffers)
def test_an_in_memory_spec_has_a_stable_version(one: Decimal, two: Decimal) -> None:
    def version(buffer: Decimal) -> str:
        return compile_spec({"stock": {"default": {"buffer": str(buffer)}}}).version

    assert version(one) == version(one)
    assert (version(one) == version(two)) is (one == two)


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3)
    | st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
payloads = st.dictionaries(st.text(max_size=8), values, max_size=5)


def _reordered(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(v) for v in value]
    return value


@SETTINGS
@given(payloads)
def test_equal_payloads_have_equal_fingerprints(payload: dict[str, Any]) -> None:
    print_ = fingerprint(payload)
    assert len(print_) == 32
    assert fingerprint(copy.deepcopy(payload)) == print_
    assert fingerprint(_reordered(payload)) == print_


@SETTINGS
@given(payloads, st.text(max_size=8), scalars, scalars)
def test_a_changed_field_changes_the_fingerprint(
    payload: dict[str, Any], key: str, before: Any, after: Any
) -> None:
    assume(type(before) is not type(after) or before != after)
    # the printed form is what is sent: Decimal('1.50') and '1.50' are sent alike
    assume(not {type(before), type(after)} <= {Decimal, str} or type(before) is type(after))
    one, other = dict(payload), dict(payload)
    one[key], other[key] = before, after
    assert fingerprint(one) != fingerprint(other)


def test_fingerprint_refuses_what_it_cannot_print() -> None:
    with pytest.raises(TypeError, match="cannot fingerprint object"):
        fingerprint({"x": object()})
