"""The mapping functions: behaviour, None handling, and the messages admins will read."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from bridge.errors import ConfigError, DataError
from bridge.mapping import functions
from bridge.mapping.functions import BindContext, bind, describe, library
from bridge.yamlio import LocatedError

D = Decimal
CTX = BindContext(
    tables={"stores": {"001": "paris", "2": "lyon"}},
    tax_rates={"standard": D("20"), "reduced": D("5.5")},
    region="FR",
)


def run(name: str, args: Any, value: Any, record: Any = None, ctx: BindContext = CTX) -> Any:
    return bind(name, args, ctx)(value, record)


def bind_error(name: str, args: Any, ctx: BindContext = CTX) -> LocatedError:
    with pytest.raises(LocatedError) as info:
        bind(name, args, ctx)
    return info.value


def data_error(name: str, args: Any, value: Any, record: Any = None) -> str:
    step = bind(name, args, CTX)
    with pytest.raises(DataError) as info:
        step(value, record)
    return str(info.value)


def yaml(text: str) -> Any:
    """Arguments as the mapping loader gives them (ruamel round-trip types)."""
    return YAML(typ="rt", pure=True).load(text)


# --- binding: names and argument shapes ---------------------------------------------------


def test_unknown_function_suggests_the_closest_name() -> None:
    exc = bind_error("tax_inn", {"rate": "standard"})
    assert str(exc) == "unknown function 'tax_inn' (did you mean 'tax_in'?)"
    assert exc.at == () and exc.on_key


def test_unknown_function_without_close_name_lists_the_known_ones() -> None:
    message = str(bind_error("zzzzzz", None))
    assert message.startswith("unknown function 'zzzzzz' (known: add, boolean, concat")


def test_unknown_parameter_suggests_among_the_function_parameters() -> None:
    exc = bind_error("round", {"place": 2})
    assert str(exc) == "round: unknown parameter 'place' (did you mean 'places'?)"
    assert exc.at == ("place",) and exc.on_key
    exc = bind_error("round", {"xyz": 2})
    assert str(exc) == "round: unknown parameter 'xyz' (parameters: places, mode, quantum)"


def test_wrong_argument_type_names_the_function_parameter_and_value() -> None:
    exc = bind_error("round", {"places": "two"})
    assert str(exc) == "round: places must be an integer (got 'two')"
    assert exc.at == ("places",)
    assert run("round", {"places": "1"}, D("1.25")) == D("1.3")


def test_shorthand_error_points_at_the_item_itself() -> None:
    exc = bind_error("round", "two")
    assert str(exc) == "round: places must be an integer (got 'two')"
    assert exc.at == ()


def test_float_argument_is_refused_with_a_hint_to_quote_it() -> None:
    args = yaml("price_ending: 0.99")["price_ending"]
    exc = bind_error("price_ending", args)
    assert str(exc) == 'price_ending: ending must be a quoted decimal like "0.99" (got float 0.99)'
    exc = bind_error("default", yaml("default: 0.5")["default"])
    assert str(exc) == (
        'default: value must not be a float (got float 0.5); quote it like "0.5" '
        "so no precision is lost"
    )


def test_float_nested_in_a_table_is_refused_where_it_is() -> None:
    exc = bind_error("map", yaml('map: {"1": cash, "2": 0.5}')["map"])
    assert exc.at == ("2",)
    assert "float 0.5" in str(exc)


def test_missing_required_parameter() -> None:
    exc = bind_error("lookup", None)
    assert str(exc) == "lookup: missing required parameter 'table'"
    assert exc.at == ()


def test_function_without_parameters_refuses_arguments() -> None:
    assert str(bind_error("upper", "x")) == "upper takes no arguments (got 'x')"
    assert str(bind_error("upper", {"x": 1})) == "upper takes no arguments"
    assert run("upper", {}, "a") == "A"


def test_list_for_a_function_without_list_parameter() -> None:
    message = str(bind_error("round", [1, 2]))
    assert (
        message
        == "round: expected arguments like {places: ..., mode: ..., quantum: ...} (got a list)"
    )


def test_choice_parameter_suggests_a_valid_value() -> None:
    exc = bind_error("round", {"mode": "halfup"})
    assert str(exc) == (
        "round: mode must be one of half_up, half_even, half_down, up, down, floor, ceiling "
        "(got 'halfup'; did you mean 'half_up'?)"
    )
    assert exc.at == ("mode",)


def test_yaml_integer_subclasses_are_integers() -> None:
    args = yaml("round: {places: 0x1}")["round"]
    assert run("round", args, "1.26") == D("1.3")


# --- runtime: None, floats, booleans --------------------------------------------------------

NONE_PASSES = [
    ("lookup", "stores"),
    ("map", {"1": "a"}),
    ("decimal", None),
    ("integer", None),
    ("string", None),
    ("boolean", None),
    ("round", None),
    ("price_ending", None),
    ("tax_in", "standard"),
    ("tax_out", "standard"),
    ("multiply", 2),
    ("add", 1),
    ("unit", {"from": "g", "to": "kg"}),
    ("date", None),
    ("to_timezone", "UTC"),
    ("format_date", None),
    ("upper", None),
    ("lower", None),
    ("strip", None),
    ("replace", {"old": "a", "new": "b"}),
    ("prefix", "x"),
    ("suffix", "x"),
    ("split", ","),
    ("join", ","),
    ("first", None),
    ("email", None),
    ("phone", None),
]


@pytest.mark.parametrize(("name", "args"), NONE_PASSES, ids=[n for n, _ in NONE_PASSES])
def test_none_passes_through(name: str, args: Any) -> None:
    assert run(name, args, None) is None


NUMERIC = ["decimal", "integer", "round", "price_ending", "tax_in", "multiply", "add", "unit"]
NUMERIC_ARGS = {"tax_in": "standard", "multiply": 2, "add": 1, "unit": {"from": "g", "to": "kg"}}


@pytest.mark.parametrize("name", NUMERIC)
def test_numeric_functions_refuse_floats_and_booleans(name: str) -> None:
    args = NUMERIC_ARGS.get(name)
    assert data_error(name, args, 0.1) == (
        f"{name}: float refused: 0.1; send amounts as strings or decimals so no precision is lost"
    )
    assert data_error(name, args, True) == f"{name}: expected a decimal amount, got boolean True"
    assert data_error(name, args, "NaN") == f"{name}: expected a decimal amount, got 'NaN'"
    assert data_error(name, args, D("Infinity")).startswith(f"{name}: expected a decimal amount")


def test_bad_text_amount_is_named() -> None:
    assert data_error("tax_in", "standard", "abc") == "tax_in: expected a decimal amount, got 'abc'"
    assert data_error("decimal", None, "12,50") == (
        "decimal: expected a decimal amount, got '12,50' (a decimal comma? use replace first)"
    )


# --- presence -------------------------------------------------------------------------------


def test_default_replaces_none_and_empty_text() -> None:
    assert run("default", "n/a", None) == "n/a"
    assert run("default", "n/a", "") == "n/a"
    assert run("default", "n/a", "x") == "x"
    assert run("default", {"value": 0}, D(0)) == D(0)
    assert run("default", {"a": 1}, None) == {"a": 1}  # a free-form mapping is the value


def test_required_refuses_missing_values() -> None:
    assert run("required", None, "x") == "x"
    assert data_error("required", None, None) == "required: value is missing"
    assert data_error("required", "every sale needs a store", "") == "every sale needs a store"


# --- tables ---------------------------------------------------------------------------------


def test_lookup_compares_keys_as_text() -> None:
    assert run("lookup", "stores", "001") == "paris"
    assert run("lookup", {"table": "stores"}, 2) == "lyon"
    assert run("lookup", {"table": "stores", "default": None}, "9") is None
    assert run("lookup", {"table": "stores", "default": "other"}, "9") == "other"
    assert data_error("lookup", "stores", "1") == "lookup: key '1' is not in table 'stores'"


def test_lookup_unknown_table() -> None:
    exc = bind_error("lookup", {"table": "stors"})
    assert str(exc) == "lookup: unknown table 'stors' (did you mean 'stores'?)"
    assert exc.at == ("table",)
    no_tables = str(bind_error("lookup", "x", BindContext()))
    assert no_tables == "lookup: unknown table 'x' (none are declared)"


def test_map_shorthand_and_named_forms() -> None:
    values = yaml('map: {1: cash, "2": card}')["map"]
    assert run("map", values, 1) == "cash"
    assert run("map", values, "2") == "card"
    assert run("map", {"values": {"1": "a"}, "default": "b"}, "3") == "b"
    assert data_error("map", values, "3") == "map: key '3' is not in the map's values"
    assert run("map", {"true": "yes"}, True) == "yes"


def test_map_key_written_twice() -> None:
    exc = bind_error("map", {1: "a", "1": "b"})
    assert str(exc) == "map: key '1' appears twice"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_crosswalk_keeps_leading_zeros_and_reads_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "skus.csv"
    path.write_bytes("\ufeffean;sku\n0360000000017;00042\n\n3600000000024;Crème\n".encode())
    ctx = BindContext(base_dir=tmp_path)
    args = {"file": "skus.csv", "key": "ean", "value": "sku", "delimiter": ";"}
    step = bind("crosswalk", args, ctx)
    assert step("0360000000017", None) == "00042"
    assert step("3600000000024", None) == "Crème"
    assert step(None, None) is None
    with pytest.raises(DataError, match=r"crosswalk: key '1' is not in skus.csv"):
        step("1", None)
    assert bind("crosswalk", {**args, "default": "?"}, ctx)("1", None) == "?"


def test_crosswalk_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    rows = ["ean,sku", "1,a", "3600000000017,b", "2,c", "", "4,d", "3600000000017,e"]
    write(tmp_path / "skus.csv", "\n".join(rows) + "\n")
    exc = bind_error(
        "crosswalk",
        {"file": "skus.csv", "key": "ean", "value": "sku"},
        BindContext(base_dir=tmp_path),
    )
    assert str(exc) == "crosswalk: skus.csv:7: duplicate key '3600000000017' (first on line 3)"
    assert exc.at == ("file",)


def test_crosswalk_missing_column_lists_the_header(tmp_path: Path) -> None:
    write(tmp_path / "skus.csv", "ean13,sku,name\n1,a,b\n")
    ctx = BindContext(base_dir=tmp_path)
    exc = bind_error("crosswalk", {"file": "skus.csv", "key": "ean", "value": "sku"}, ctx)
    assert str(exc) == (
        "crosswalk: skus.csv has no column 'ean' (did you mean 'ean13'? columns: ean13, sku, name)"
    )
    assert exc.at == ("key",)
    exc = bind_error("crosswalk", {"file": "skus.csv", "key": "sku", "value": "price"}, ctx)
    assert str(exc) == "crosswalk: skus.csv has no column 'price' (columns: ean13, sku, name)"
    assert exc.at == ("value",)


def test_crosswalk_file_problems(tmp_path: Path) -> None:
    ctx = BindContext(base_dir=tmp_path)
    args = {"file": "skus.csv", "key": "ean", "value": "sku"}
    assert str(bind_error("crosswalk", args, ctx)) == (
        "crosswalk: cannot read skus.csv: No such file or directory"
    )
    (tmp_path / "skus.csv").write_bytes(b"ean,sku\n1,a\n2,\xff\n")
    assert str(bind_error("crosswalk", args, ctx)) == (
        "crosswalk: skus.csv:3: not UTF-8 text (byte 0xff)"
    )
    write(tmp_path / "skus.csv", "ean,sku\n1,a\n2\n")
    assert str(bind_error("crosswalk", args, ctx)) == (
        "crosswalk: skus.csv:3: 1 columns, expected at least 2"
    )
    write(tmp_path / "skus.csv", "ean,sku\n,a\n")
    assert (
        str(bind_error("crosswalk", args, ctx))
        == "crosswalk: skus.csv:2: empty key in column 'ean'"
    )
    assert str(bind_error("crosswalk", {**args, "delimiter": ";;"}, ctx)) == (
        "crosswalk: delimiter must be one character (got ';;')"
    )


# --- conversions ------------------------------------------------------------------------------


def test_decimal_integer_string_boolean() -> None:
    assert run("decimal", None, " 12.50 ") == D("12.50")
    assert run("decimal", None, 3) == D(3)
    assert run("integer", None, "3.00") == 3
    assert run("integer", None, D("7")) == 7
    assert data_error("integer", None, "3.5") == "integer: not a whole number: '3.5'"
    assert run("string", None, D("1E+1")) == "10"
    assert run("string", None, D("1.50")) == "1.50"
    assert run("string", None, 7) == "7"
    assert run("string", None, False) == "false"
    assert run("string", None, dt.date(2024, 5, 1)) == "2024-05-01"
    assert data_error("string", None, 0.5).startswith("string: float refused: 0.5")
    assert data_error("string", None, [1]) == "string: expected text, got [1]"
    for text, expected in [("Yes", True), ("no", False), ("1", True), (" FALSE ", False)]:
        assert run("boolean", None, text) is expected
    assert run("boolean", None, 0) is False
    assert data_error("boolean", None, "maybe") == (
        "boolean: expected true/false, yes/no or 1/0, got 'maybe'"
    )


# --- money ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("half_up", ["1.3", "-1.3", "1.2"]),
        ("half_even", ["1.2", "-1.2", "1.2"]),
        ("half_down", ["1.2", "-1.2", "1.2"]),
        ("up", ["1.3", "-1.3", "1.3"]),
        ("down", ["1.2", "-1.2", "1.2"]),
        ("floor", ["1.2", "-1.3", "1.2"]),
        ("ceiling", ["1.3", "-1.2", "1.3"]),
    ],
)
def test_round_modes(mode: str, expected: list[str]) -> None:
    step = bind("round", {"places": 1, "mode": mode}, CTX)
    assert [step(v, None) for v in ("1.25", "-1.25", "1.21")] == [D(e) for e in expected]


def test_round_defaults_and_quantum() -> None:
    assert run("round", None, "2.345") == D("2.35")
    assert str(run("round", None, "-0.001")) == "0.00"  # no negative zero
    assert run("round", {"quantum": "0.05"}, "1.024") == D("1.00")
    assert run("round", {"quantum": "0.05"}, "1.025") == D("1.05")
    assert str(run("round", {"quantum": "0.05"}, "12.37")) == "12.35"
    assert str(bind_error("round", {"places": 2, "quantum": "0.05"})) == (
        "round: give places or quantum, not both"
    )
    assert str(bind_error("round", {"quantum": "0"})) == "round: quantum must be positive (got '0')"
    assert str(bind_error("round", 30)) == "round: places must be between 0 and 20 (got 30)"
    assert data_error("round", None, D("1E+40")) == "round: 1E+40 is too large to round"


@pytest.mark.parametrize(
    ("direction", "price", "expected"),
    [
        ("nearest", "12.34", "11.99"),
        ("nearest", "12.60", "12.99"),
        ("nearest", "12.49", "12.99"),  # a tie goes up
        ("up", "12.34", "12.99"),
        ("down", "12.34", "11.99"),
        ("down", "12.99", "12.99"),
        ("up", "12.99", "12.99"),
        ("nearest", "0.50", "0.99"),  # nothing positive below
        ("down", "0.50", "0.50"),  # kept, never made negative
        ("up", "0.50", "0.99"),
        ("nearest", "0", "0"),
        ("up", "-3", "-3"),
    ],
)
def test_price_ending(direction: str, price: str, expected: str) -> None:
    step = bind("price_ending", {"ending": "0.99", "direction": direction}, CTX)
    assert step(D(price), None) == D(expected)


def test_price_ending_other_endings() -> None:
    assert run("price_ending", {"ending": "0.5", "direction": "up"}, "3.2") == D("3.5")
    assert run("price_ending", {"ending": 0, "direction": "down"}, "3.2") == D("3")
    assert run("price_ending", {"ending": 0, "direction": "down"}, "0.2") == D("0.2")
    assert str(bind_error("price_ending", "9.99")) == (
        "price_ending: ending must be a fractional part in [0, 1) like \"0.99\" (got '9.99')"
    )
    assert bind_error("price_ending", {"direction": "nearst"}).at == ("direction",)


def test_tax_in_and_out() -> None:
    assert run("tax_in", {"rate": "standard"}, "10") == D("12.00")
    assert run("tax_out", "standard", "12.00") == D("10.00")
    assert run("tax_in", "reduced", "10") == D("10.55")
    assert run("tax_in", "5.5", "10") == D("10.55")
    assert run("tax_in", "5.5%", "10") == D("10.55")
    assert run("tax_in", 20, "10") == D("12.00")
    assert run("tax_in", {"rate": "20", "places": 0, "mode": "down"}, "10.99") == D("13")
    assert run("tax_out", "standard", "-12.00") == D("-10.00")


def test_tax_rate_errors() -> None:
    exc = bind_error("tax_in", {"rate": "standrd"})
    assert str(exc) == "tax_in: unknown tax rate 'standrd' (did you mean 'standard'?)"
    assert exc.at == ("rate",)
    assert str(bind_error("tax_in", "x")) == (
        "tax_in: unknown tax rate 'x' (known: reduced, standard)"
    )
    assert str(bind_error("tax_in", "std", BindContext())) == (
        "tax_in: unknown tax rate 'std' (no named rates are declared; give a percent like \"5.5\")"
    )
    assert str(bind_error("tax_out", "120")) == (
        "tax_out: rate must be a percent between 0 and 100 (got '120')"
    )
    assert str(bind_error("tax_in", yaml("tax_in: 5.5")["tax_in"])) == (
        'tax_in: rate must be a tax rate name or a quoted percent like "5.5" (got float 5.5)'
    )


def test_multiply_and_add_are_exact() -> None:
    assert run("multiply", "1.1", "0.1") == D("0.11")
    assert run("multiply", {"factor": 100}, "0.07") == D("7.00")
    assert run("add", "0.1", "0.2") == D("0.3")
    assert run("add", -1, 3) == D(2)
    assert (
        str(bind_error("multiply", "abc"))
        == "multiply: factor must be a decimal number (got 'abc')"
    )


@pytest.mark.parametrize(
    ("source", "target", "value", "expected"),
    [
        ("g", "kg", "1500", "1.5"),
        ("kg", "g", "1.5", "1500"),
        ("lb", "kg", "1", "0.45359237"),
        ("lb", "oz", "1", "16"),
        ("oz", "g", "1", "28.349523125"),
        ("mg", "g", "250", "0.25"),
        ("cl", "l", "75", "0.75"),
        ("L", "ml", "1.5", "1500"),
        ("cm", "m", "180", "1.8"),
        ("dozen", "each", "2", "24"),
        ("each", "unit", "3", "3"),
    ],
)
def test_unit_conversions(source: str, target: str, value: str, expected: str) -> None:
    assert run("unit", {"from": source, "to": target}, value) == D(expected)


def test_unit_errors() -> None:
    exc = bind_error("unit", {"from": "kgs", "to": "g"})
    assert str(exc) == "unit: unknown unit 'kgs' (did you mean 'kg'?)"
    assert exc.at == ("from",)
    exc = bind_error("unit", {"from": "kg", "to": "l"})
    assert str(exc) == "unit: cannot convert kg (mass) to l (volume)"
    assert exc.at == ("to",)
    assert str(bind_error("unit", "kg")) == "unit: missing required parameter 'to'"


# --- dates ------------------------------------------------------------------------------------


def test_date_reads_iso_and_formats() -> None:
    paris = {"timezone": "Europe/Paris"}
    moment = run("date", paris, "2024-05-01T10:00:00")
    assert moment.isoformat() == "2024-05-01T10:00:00+02:00"
    assert run("date", None, "2024-05-01T10:00:00Z").isoformat() == "2024-05-01T10:00:00+00:00"
    assert run("date", paris, "2024-05-01T10:00:00+01:00").utcoffset() == dt.timedelta(hours=1)
    custom = run("date", {"format": "%d/%m/%Y %H:%M", "timezone": "UTC"}, "01/05/2024 10:30")
    assert custom == dt.datetime(2024, 5, 1, 10, 30, tzinfo=dt.UTC)
    assert run("date", "%d/%m/%Y", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)).year == 2024


def test_date_errors() -> None:
    assert data_error("date", None, "2024-05-01T10:00") == (
        "date: '2024-05-01T10:00' has no timezone offset; give date a timezone "
        "(e.g. timezone: Europe/Paris)"
    )
    assert data_error("date", None, "tomorrow") == (
        "date: expected an ISO 8601 date-time, got 'tomorrow'"
    )
    assert data_error("date", "%d/%m/%Y", "2024-01-01") == (
        "date: expected a date-time in the format '%d/%m/%Y', got '2024-01-01'"
    )
    exc = bind_error("date", {"timezone": "Europe/Pariss"})
    assert str(exc) == "date: unknown timezone 'Europe/Pariss' (did you mean 'Europe/Paris'?)"
    assert exc.at == ("timezone",)
    assert str(bind_error("to_timezone", "europe/paris")) == (
        "to_timezone: unknown timezone 'europe/paris' (did you mean 'Europe/Paris'?)"
    )


def test_to_timezone_and_format_date() -> None:
    utc = dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.UTC)
    paris = run("to_timezone", "Europe/Paris", utc)
    assert paris.isoformat() == "2024-05-01T10:00:00+02:00" and paris == utc
    assert data_error("to_timezone", "UTC", "2024-05-01T10:00") == (
        "to_timezone: '2024-05-01T10:00' has no timezone offset; read it with date first"
    )
    assert run("format_date", None, paris) == "2024-05-01T10:00:00+02:00"
    assert run("format_date", "%d/%m/%Y", paris) == "01/05/2024"
    assert run("format_date", "%Y%m%d", "2024-05-01") == "20240501"


# --- text -------------------------------------------------------------------------------------


def test_concat_reads_the_record() -> None:
    record = {"first": "Ada", "last": "Lovelace", "address": {"zip": "75001"}, "n": D("1E+1")}
    step = bind("concat", {"parts": ["first", "middle", "last"], "sep": " "}, CTX)
    assert step(None, record) == "Ada Lovelace"
    assert run("concat", ["address.zip", "'-'", "n", "lines[0].x"], "ignored", record) == "75001-10"
    assert run("concat", ["middle"], None, record) is None
    assert run("concat", ["'A'", "`1`"], None, {}) == "A1"
    assert run("concat", ["length(first)"], None, record) == "3"
    assert run("concat", ["first.x"], None, record) is None


def test_concat_errors() -> None:
    exc = bind_error("concat", {"parts": ["first", "a."]})
    assert str(exc).startswith("concat: part 2 is not a valid JMESPath expression: 'a.' (")
    assert exc.at == ("parts", 1)
    exc = bind_error("concat", ["first", 3])
    assert str(exc) == "concat: part 2 must be a JMESPath expression (got integer 3)"
    assert exc.at == (1,)
    assert str(bind_error("concat", [])) == "concat: parts must not be empty"
    assert str(bind_error("concat", "first")) == "concat: parts must be a list (got 'first')"
    assert data_error("concat", ["a"], None, {"a": [1]}) == "concat: expected text, got [1]"


def test_text_functions() -> None:
    assert run("upper", None, "abc") == "ABC"
    assert run("lower", None, "ÀBC") == "àbc"
    assert run("strip", None, "  a b \n") == "a b"
    assert run("replace", {"old": ",", "new": "."}, "12,50") == "12.50"
    assert run("prefix", "S", 12) == "S12"
    assert run("suffix", "-FR", "A") == "A-FR"
    assert run("split", ",", "a,b") == ["a", "b"]
    assert run("split", {"sep": ",", "index": -1}, "a,b") == "b"
    assert run("split", {"sep": ",", "index": 5}, "a,b") is None
    assert run("join", ", ", ["a", None, D("2")]) == "a, 2"
    assert run("join", "-", "single") == "single"
    assert run("first", None, ["a", "b"]) == "a"
    assert run("first", None, []) is None
    assert run("first", None, "only") == "only"
    assert data_error("upper", None, {"a": 1}) == "upper: expected text, got {'a': 1}"
    assert str(bind_error("replace", {"old": "", "new": "x"})) == "replace: old must not be empty"
    assert str(bind_error("split", "")) == "split: sep must not be empty"
    assert str(bind_error("prefix", 5)) == "prefix: text must be a string (got integer 5)"


def test_email() -> None:
    assert run("email", None, "  Ada@Example.COM ") == "ada@example.com"
    for bad in ["ada", "@example.com", "ada@", "a@b@c", "a b@c.d"]:
        assert data_error("email", None, bad) == f"email: not an e-mail address: {bad!r}"


def test_phone() -> None:
    assert run("phone", None, "06 12 34 56 78") == "+33612345678"
    assert run("phone", "BE", "0470 12 34 56") == "+32470123456"
    assert run("phone", None, "+1 650-253-0000", ctx=BindContext()) == "+16502530000"
    assert data_error("phone", None, "12") == "phone: '12' is not a valid phone number (region FR)"
    assert data_error("phone", None, "call me") == (
        "phone: cannot read 'call me' as a phone number (region FR): "
        "The string supplied did not seem to be a phone number."
    )
    exc = bind_error("phone", {"region": "XY"})
    assert str(exc) == "phone: unknown phone region 'XY' (an ISO 3166 code like 'FR')"
    assert exc.at == ("region",)
    exc = bind_error("phone", None, BindContext(region="XY"))
    assert str(exc) == (
        "phone: unknown phone region 'XY' (the mapping's default region) "
        "(an ISO 3166 code like 'FR')"
    )


# --- the library, entry points and describe ---------------------------------------------------


def slugify(value: str, sep: str = "-", *, max_length: int = 40) -> str:
    """Lower-case words joined by a separator, for URL handles."""
    if not value.strip():
        raise ValueError(f"cannot make a slug of {value!r}")
    return sep.join(value.lower().split())[:max_length]


def with_store(value: str, prefix: Decimal, *, record: dict[str, Any]) -> str:
    """Prefix the value by the record's store."""
    return f"{record['store']}{prefix}{value}"


def float_maker(value: Any) -> float:
    return 0.5


def bad_plugin(value: Any, *rest: Any) -> Any:
    return value


def fake_entry_points(*values: tuple[str, str]) -> Any:
    entries = [
        importlib.metadata.EntryPoint(name=name, value=value, group=functions.GROUP)
        for name, value in values
    ]

    def entry_points(*, group: str) -> list[importlib.metadata.EntryPoint]:
        return entries if group == functions.GROUP else []

    return entry_points


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Install fake entry points; the library cache is cleared before and after."""

    def install(*values: tuple[str, str]) -> None:
        monkeypatch.setattr(functions, "entry_points", fake_entry_points(*values))
        library.cache_clear()

    yield install
    library.cache_clear()


def test_entry_point_function_is_bound_like_a_builtin(plugins: Any) -> None:
    plugins(("slugify", "tests.mapping.test_functions:slugify"))
    function = library()["slugify"]
    assert [(p.name, p.type, p.required, p.default) for p in function.params] == [
        ("sep", "string", False, "-"),
        ("max_length", "integer", False, 40),
    ]
    assert function.source == "tests.mapping.test_functions:slugify"
    assert run("slugify", None, "Red  Shoes") == "red-shoes"
    assert run("slugify", "_", "Red Shoes") == "red_shoes"
    assert run("slugify", {"max_length": "3"}, "Red Shoes") == "red"
    assert run("slugify", None, None) is None
    assert str(bind_error("slugify", {"max_length": "x"})) == (
        "slugify: max_length must be an integer (got 'x')"
    )
    assert str(bind_error("slugify", {"sepp": "_"})) == (
        "slugify: unknown parameter 'sepp' (did you mean 'sep'?)"
    )
    assert data_error("slugify", None, " ") == "slugify: cannot make a slug of ' '"
    entry = next(f for f in describe() if f["name"] == "slugify")
    assert entry["doc"] == "Lower-case words joined by a separator, for URL handles."


def test_entry_point_function_receives_the_record(plugins: Any) -> None:
    plugins(("with_store", "tests.mapping.test_functions:with_store"))
    function = library()["with_store"]
    assert function.takes_record
    assert [p.name for p in function.params] == ["prefix"]
    assert run("with_store", 0, "A", {"store": "P"}) == "P0A"
    assert str(bind_error("with_store", yaml("x: 0.5")["x"])) == (
        'with_store: prefix must be a quoted decimal like "0.5" (got float 0.5)'
    )


def test_entry_point_returning_a_float_is_refused(plugins: Any) -> None:
    plugins(("float_maker", "tests.mapping.test_functions:float_maker"))
    assert data_error("float_maker", None, "x") == (
        "float_maker: returned float 0.5; return Decimal for numbers"
    )


def test_entry_point_errors_at_library_time(plugins: Any) -> None:
    plugins(("upper", "tests.mapping.test_functions:slugify"))
    with pytest.raises(ConfigError) as info:
        library()
    assert str(info.value) == (
        "mapping function entry point 'upper' (tests.mapping.test_functions:slugify) "
        "collides with the built-in function 'upper'; rename the entry point"
    )
    plugins(("bad", "tests.mapping.test_functions:bad_plugin"))
    with pytest.raises(ConfigError, match=r"parameter 'rest' must be passable by name"):
        library()
    plugins(("gone", "tests.mapping.test_functions:nothing_here"))
    with pytest.raises(ConfigError, match=r"'gone' \(tests.mapping.test_functions:nothing_here\)"):
        library()


def test_describe_lists_every_builtin_with_typed_parameters() -> None:
    entries = {entry["name"]: entry for entry in describe()}
    assert set(entries) == {
        "default", "required", "lookup", "map", "crosswalk", "decimal", "integer", "string",
        "boolean", "round", "price_ending", "tax_in", "tax_out", "multiply", "add", "unit",
        "date", "to_timezone", "format_date", "concat", "upper", "lower", "strip", "replace",
        "prefix", "suffix", "split", "join", "first", "email", "phone",
    }  # fmt: skip
    assert all(entry["doc"] for entry in entries.values())
    assert entries["round"]["params"] == [
        {"name": "places", "type": "integer", "required": False, "default": 2,
         "doc": "decimal places to keep, 0 to 20"},
        {"name": "mode", "type": "string", "required": False, "default": "half_up",
         "choices": ["half_up", "half_even", "half_down", "up", "down", "floor", "ceiling"],
         "doc": "rounding mode"},
        {"name": "quantum", "type": "decimal", "required": False, "default": None,
         "doc": 'round to a multiple of this instead, e.g. "0.05"'},
    ]  # fmt: skip
    assert entries["price_ending"]["params"][0]["default"] == "0.99"
    assert "default" not in entries["lookup"]["params"][1]  # no default: a miss is an error
    assert entries["concat"]["takes_record"]
