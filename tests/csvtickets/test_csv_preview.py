"""``brique mapping preview`` hands a CSV ticket export to the csv connector (its document
suffix), not to the price-list reader."""

from __future__ import annotations

from pathlib import Path

from bridge.mapping.loader import load_plan
from bridge.mapping.preview import preview
from bridge.settings import ConnectionSettings, Settings

MAPPING = """\
version: 1
locations:
  - code: PARIS-01
    ids: {tills: "1001", webshop: "gid://shopify/Location/1"}
"""


def test_a_csv_connection_previews_its_tickets(tmp_path: Path) -> None:
    (tmp_path / "mapping.yaml").write_text(MAPPING)
    export = tmp_path / "tickets.csv"
    export.write_text(
        "store,ticket,sku,quantity,unit_price,currency\n"
        "1001,7,0360000000017,2,19.99,EUR\n"
        "1001,7,0360000000024,1,9.50,EUR\n"
    )
    settings = Settings(
        data_dir=tmp_path,
        mapping=tmp_path / "mapping.yaml",
        connections={
            "tills": ConnectionSettings(connector="csv", config={"drop_folder": str(tmp_path)}),
            "webshop": ConnectionSettings(
                connector="shopify",
                config={
                    "shop_url": "https://x.myshopify.com",
                    "access_token": "t0ken-x",
                    "webhook_secret": "s3cret-x",
                },
            ),
        },
    )
    (record,) = preview(load_plan(tmp_path / "mapping.yaml"), settings, "tills", export)
    assert record.error is None, record.error
    assert [line["sku"] for line in record.canonical["lines"]] == ["0360000000017", "0360000000024"]
    moves = record.outbound["webshop"]
    assert [(m["target"], m["delta"]) for m in moves] == [
        ("gid://shopify/Location/1", "-2"),
        ("gid://shopify/Location/1", "-1"),
    ]
