"""Mapping previews and diffs: what a mapping makes of real input, with nothing written."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import ConfigError
from bridge.mapping.loader import load_plan
from bridge.mapping.plan import MappingPlan
from bridge.mapping.preview import (
    ABSENT,
    Change,
    PreviewRecord,
    build_connector,
    compare,
    diff,
    preview,
    shop_connections,
)
from bridge.mapping.pricing import ChannelPrice
from bridge.settings import Settings, load_settings
from connectors.poslog.samples import Line, document, transaction
from tests.support import REPO

TICKETS = REPO / "config" / "demo" / "tickets"
DEMO_MAPPING = REPO / "mappings" / "demo.yaml"
PARIS = "gid://shopify/Location/1001"


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(REPO / "config" / "demo.yaml")


@pytest.fixture(scope="module")
def plan() -> MappingPlan:
    return load_plan(DEMO_MAPPING)


def one(plan: MappingPlan, settings: Settings, path: Path, **kw: str) -> PreviewRecord:
    (record,) = preview(plan, settings, "tills", path, **kw)
    return record


def test_the_demo_shop_is_the_only_shop(settings: Settings) -> None:
    assert shop_connections(settings) == ["webshop"]


def test_a_sale_previews_crosswalked_skus_and_shopify_location_deltas(
    plan: MappingPlan, settings: Settings
) -> None:
    record = one(plan, settings, TICKETS / "0001-sale.xml")
    assert record.error is None
    assert record.key == "1001/01/2026-11-23/1"
    assert record.source == str(TICKETS / "0001-sale.xml")
    # native: the till's item ids and unit codes; canonical: through the mapping
    assert [line["sku"] for line in record.native["lines"]] == ["3600000000017", "3600000000031"]
    assert record.canonical is not None
    assert [line["sku"] for line in record.canonical["lines"]] == ["TSHIRT-RED-M", "JEANS-BLUE-32"]
    assert [line["unit"] for line in record.canonical["lines"]] == ["each", "each"]
    # decimals stay exact text, identifiers stay strings
    assert record.canonical["lines"][0]["quantity"] == "2"
    assert record.canonical["lines"][0]["unit_price"] == {"amount": "19.99", "currency": "EUR"}
    assert record.canonical["key"]["store"] == "1001"
    assert record.outbound == {
        "webshop": [
            {"sku": "TSHIRT-RED-M", "location": "PARIS-01", "target": PARIS, "delta": "-2"},
            {"sku": "JEANS-BLUE-32", "location": "PARIS-01", "target": PARIS, "delta": "-1"},
        ]
    }
    assert any("delta" in note for note in record.notes)
    json.dumps(record.as_json())  # JSON-ready as it is


def test_voided_lines_returns_and_cancelled_tickets(plan: MappingPlan, settings: Settings) -> None:
    voided = one(plan, settings, TICKETS / "0002-sale-with-voided-line.xml")
    assert voided.outbound == {
        "webshop": [{"sku": "TSHIRT-RED-L", "location": "PARIS-01", "target": PARIS, "delta": "-1"}]
    }
    returned = one(plan, settings, TICKETS / "0003-return.xml")
    assert returned.outbound["webshop"][0]["delta"] == "1"  # a return restocks
    cancelled = one(plan, settings, TICKETS / "0004-cancelled.xml")
    assert cancelled.error is None and cancelled.outbound == {"webshop": []}
    assert cancelled.canonical is not None and cancelled.canonical["status"] == "cancelled"


def test_a_bad_record_shows_its_error_and_the_others_still_preview(
    plan: MappingPlan, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "mixed.xml"
    path.write_bytes(
        document(
            [
                transaction("1001", 11, [Line("3600000000017")]),
                transaction("9999", 12, [Line("3600000000024")]),  # store not mapped
                transaction("1002", 13, [Line("3600000000024", quantity="3")]),
            ]
        )
    )
    records = preview(plan, settings, "tills", path)
    assert [r.key.split("/")[0] for r in records] == ["1001", "9999", "1002"]
    good, bad, lyon = records
    assert good.error is None and good.outbound["webshop"][0]["target"] == PARIS
    assert bad.error is not None and "'9999' is not mapped" in bad.error
    assert "locations" in bad.error
    assert bad.canonical is not None  # what the mapping made of it, before the error
    assert bad.canonical["lines"][0]["sku"] == "TSHIRT-RED-L"
    assert lyon.error is None
    assert lyon.outbound == {
        "webshop": [
            {
                "sku": "TSHIRT-RED-L",
                "location": "LYON-02",
                "target": "gid://shopify/Location/1002",
                "delta": "-3",
            }
        ]
    }


def test_an_unreadable_document_is_one_record_with_its_error(
    plan: MappingPlan, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "broken.xml"
    path.write_text("<POSLog><Transaction>")
    records = preview(plan, settings, "tills", path)
    assert records and all(r.error for r in records)


def test_a_connector_that_reads_no_documents_is_a_config_error(
    plan: MappingPlan, settings: Settings
) -> None:
    with pytest.raises(ConfigError, match="does not read documents"):
        preview(plan, settings, "webshop", TICKETS / "0001-sale.xml")
    with pytest.raises(ConfigError, match="unknown connection 'shop'"):
        preview(plan, settings, "shop", TICKETS / "0001-sale.xml")


def test_a_price_list_previews_each_channel_price_and_native_fields(
    plan: MappingPlan, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(
        "sku,price,list\n"
        "TSHIRT-RED-M,19.50,web\n"
        "TSHIRT-RED-L,abc,web\n"
        "JEANS-BLUE-32,59,\n"
        "JEANS-BLUE-32,55.00,lyon\n"
        "TSHIRT-RED-M,20.00,web\n"
    )
    records = preview(plan, settings, "tills", path)
    assert [r.key for r in records] == [
        "TSHIRT-RED-M@web",
        "TSHIRT-RED-L@web",
        "JEANS-BLUE-32@default",
        "JEANS-BLUE-32@lyon",
        "TSHIRT-RED-M@web",
    ]
    web, bad, default, lyon, twice = records
    assert web.native == {"sku": "TSHIRT-RED-M", "price": "19.50", "list": "web"}
    assert web.canonical == {
        "sku": "TSHIRT-RED-M",
        "price_list": "web",
        "price": {"amount": "19.50", "currency": "EUR", "tax_included": True},
    }
    assert web.outbound == {
        "webshop": {
            "sku": "TSHIRT-RED-M",
            "price": "19.99",  # rounded to the channel's .99 ending
            "compare_at": None,
            "currency": "EUR",
            "tax_included": True,
            "price_list": "web",
            "fields": {"price": "19.99", "compareAtPrice": None},
        }
    }
    assert any("list 'web' alone" in note for note in web.notes)
    # the bad row names its file and line; the rows after it still preview
    assert bad.canonical is None and bad.error == f"{path}:3: price 'abc' is not a number"
    assert default.error is None and default.outbound["webshop"]["price"] == "58.99"
    # a store's own list is not on the web channel's chain: nothing from this row
    assert lyon.error is None and lyon.outbound == {"webshop": None}
    assert any("'lyon' is not on the channel's list 'web'" in note for note in lyon.notes)
    assert twice.error == f"{path}:6: 'TSHIRT-RED-M' appears twice in list 'web' (first on line 2)"


def test_a_price_list_the_import_refuses_as_a_whole(
    plan: MappingPlan, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("sku,amount\nTSHIRT-RED-M,19.50\n")
    (record,) = preview(plan, settings, "tills", path)
    assert record.key == "prices.csv"
    assert record.error == f"{path}:1: missing column(s) price"


def test_a_price_in_another_currency_is_refused_like_the_import(
    plan: MappingPlan, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("sku,price,list,currency\nTSHIRT-RED-M,19.50,web,USD\nTSHIRT-RED-L,9,web,\n")
    usd, eur = preview(plan, settings, "tills", path)
    assert usd.error is not None and "is in USD, the mapping's prices are in EUR" in usd.error
    assert eur.error is None and eur.outbound["webshop"]["price"] == "8.99"


def test_price_record_is_what_the_outbound_rules_read() -> None:
    computed = ChannelPrice("SKU-1", Decimal("19.99"), None, "EUR", True, "web")
    assert computed.as_record() == {
        "sku": "SKU-1",
        "price": {"amount": Decimal("19.99"), "currency": "EUR"},
        "compare_at": None,
        "tax_included": True,
        "price_list": "web",
    }


def test_json_payloads_go_through_inbound_rules_then_decoding(
    settings: Settings, tmp_path: Path
) -> None:
    native = one(load_plan(DEMO_MAPPING), settings, TICKETS / "0001-sale.xml").native
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        DEMO_MAPPING.read_text()
        + "  tills:\n"
        + "    sale:\n"
        + "      inbound:\n"
        + "        fields:\n"
        + "          key.store: {from: key.store, apply: [{prefix: '10'}]}\n"
    )
    plan = load_plan(mapping)
    payload = json.loads(json.dumps(native))
    payload["key"]["store"] = "01"  # this till writes short store numbers
    path = tmp_path / "sales.json"
    path.write_text(json.dumps([payload, "not an object", {"key": {}}]))
    ok, not_object, invalid = preview(plan, settings, "tills", path, kind="sale")
    assert ok.key == "sales.json#1" and ok.error is None
    assert ok.native["key"]["store"] == "01"
    assert ok.canonical is not None and ok.canonical["key"]["store"] == "1001"
    assert ok.outbound["webshop"][0]["target"] == PARIS
    assert not_object.error == "a sale payload is a JSON object, got str"
    assert invalid.key == "sales.json#3" and invalid.error and invalid.canonical is None


def test_diff_shows_exactly_the_paths_a_changed_location_id_moves(
    plan: MappingPlan, settings: Settings, tmp_path: Path
) -> None:
    changed = tmp_path / "demo.yaml"
    changed.write_text(DEMO_MAPPING.read_text().replace(PARIS, "gid://shopify/Location/9"))
    new_plan = load_plan(changed)
    tickets = sorted(TICKETS.glob("*.xml"))
    old = [r for path in tickets for r in preview(plan, settings, "tills", path)]
    new = [r for path in tickets for r in preview(new_plan, settings, "tills", path)]
    results = diff(old, new)
    assert len(results) == 4
    moved = {r.key: [str(c) for c in r.changes] for r in results if r.changes}
    target = '"gid://shopify/Location/1001" -> "gid://shopify/Location/9"'
    assert moved == {
        "1001/01/2026-11-23/1": [
            f"outbound.webshop[0].target: {target}",
            f"outbound.webshop[1].target: {target}",
        ],
        "1001/01/2026-11-23/2": [f"outbound.webshop[0].target: {target}"],
        "1001/01/2026-11-23/3": [f"outbound.webshop[0].target: {target}"],
    }
    assert diff(old, old) == [type(r)(r.key, r.source, ()) for r in results]


def test_diff_of_an_error_and_of_records_on_one_side_only() -> None:
    ok = PreviewRecord("A", {}, {"sku": "X"}, {"webshop": []}, source="f")
    failed = PreviewRecord("A", {}, None, {}, error="not mapped", source="f")
    (result,) = diff([ok], [failed])
    assert [str(c) for c in result.changes] == [
        'canonical: {"sku": "X"} -> null',
        "outbound.webshop: [] -> (absent)",
        'error: null -> "not mapped"',
    ]
    extra = PreviewRecord("B", {}, source="f")
    results = diff([ok], [ok, extra])
    assert [r.key for r in results] == ["A", "B"]
    assert results[0].changes == ()
    assert results[1].changes[0].path == "record" and results[1].changes[0].old is ABSENT
    assert results[1].as_json()["changes"][0].keys() == {"path", "new"}
    # the same key twice in one file pairs by occurrence
    twice = [
        PreviewRecord("A", {}, {"n": 1}, source="f"),
        PreviewRecord("A", {}, {"n": 2}, source="f"),
    ]
    swapped = [
        PreviewRecord("A", {}, {"n": 1}, source="f"),
        PreviewRecord("A", {}, {"n": 3}, source="f"),
    ]
    assert [(r.key, [str(c) for c in r.changes]) for r in diff(twice, swapped)] == [
        ("A", []),
        ("A (2)", ["canonical.n: 2 -> 3"]),
    ]


def test_compare_paths() -> None:
    assert compare({"a": [1, {"b": "x"}]}, {"a": [1, {"b": "y"}, 3]}, "root") == [
        Change("root.a[1].b", "x", "y"),
        Change("root.a[2]", ABSENT, 3),
    ]
    assert compare({"gid://x": 1}, {"gid://x": 2}, "outbound") == [
        Change('outbound["gid://x"]', 1, 2)
    ]
    assert compare(1, True, "v") == [Change("v", 1, True)]  # equal in Python, not in JSON
    assert compare("1", "1", "v") == []


def test_a_fault_in_a_connector_shows_on_its_record_only(
    plan: MappingPlan, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector = build_connector(settings, "tills")
    decode = connector.decode

    def faulty(event: Any) -> Any:
        if event.key.endswith("/12"):
            raise IndexError("list index out of range")
        return decode(event)

    monkeypatch.setattr(connector, "decode", faulty)
    path = tmp_path / "two.xml"
    path.write_bytes(document([transaction("1001", n, [Line("3600000000017")]) for n in (11, 12)]))
    good, bad = preview(plan, settings, "tills", path, connector=connector)
    assert good.error is None and good.outbound["webshop"]
    assert bad.error is not None and bad.error.startswith("unexpected IndexError: list index")
    assert bad.canonical is None and bad.outbound == {}
