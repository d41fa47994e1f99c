"""The POSLog connector: contract, drop folder life cycle, HTTP push authentication."""

from __future__ import annotations

import io
import os
import shutil
import time
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from bridge.connector import (
    Capability,
    ConnectorContext,
    InboundEvent,
    Page,
    Rejection,
    WebhookRequest,
)
from bridge.errors import AuthError, ConfigError, DataError
from bridge.model import Sale, SaleBody
from connectors.poslog import PosLogConfig, PosLogConnector, parse

TOKEN = "s3cret-till-token-0123456789"


def make(**settings: object) -> PosLogConnector:
    return PosLogConnector(PosLogConfig(**settings), ConnectorContext(connection="store-1"))


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder


def put(data_dir: Path, drop: Path, name: str, *, age: float = 60, as_name: str = "") -> Path:
    """Copy a fixture into the drop folder with an mtime ``age`` seconds in the past."""
    target = drop / (as_name or name)
    shutil.copyfile(data_dir / name, target)
    stamp = time.time() - age
    os.utime(target, (stamp, stamp))
    return target


def commit(page: Page) -> None:
    assert page.on_committed is not None
    page.on_committed()


# --------------------------------------------------------------------------- contract


def test_info_and_entry_point() -> None:
    info = PosLogConnector.info
    assert info.name == "poslog" and info.kind == "pos"
    assert info.capabilities == {
        Capability.READ_SALES,
        Capability.FILE_DROP,
        Capability.HTTP_PUSH,
        Capability.READ_BASKETS,
        Capability.WRITE_BASKETS,
    }
    assert info.config_model is PosLogConfig
    (ep,) = [e for e in entry_points(group="brique.connectors") if e.name == "poslog"]
    assert ep.load() is PosLogConnector


def test_from_settings_and_config_validation(drop: Path) -> None:
    conn = PosLogConnector.from_settings(
        {"drop_folder": str(drop), "default_currency": "EUR", "timezone": "Europe/Paris"},
        ConnectorContext(connection="c"),
    )
    assert conn.config.drop_folder == drop
    with pytest.raises(ValueError, match="unknown time zone"):
        PosLogConfig(timezone="Mars/Olympus")
    with pytest.raises(ValueError):
        PosLogConfig(unknown_key=1)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        PosLogConfig(max_bytes=0)


def test_token_never_printed() -> None:
    config = PosLogConfig(http_token=TOKEN)
    conn = make(http_token=TOKEN)
    for text in (repr(config), str(config), config.model_dump_json(), repr(conn.config)):
        assert TOKEN not in text


def test_check(drop: Path, tmp_path: Path) -> None:
    make(drop_folder=drop).check()
    make(http_token=TOKEN).check()  # HTTP-only source
    with pytest.raises(ConfigError, match="not an existing folder"):
        make(drop_folder=tmp_path / "missing").check()
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(ConfigError, match="not an existing folder"):
        make(drop_folder=a_file).check()
    with pytest.raises(ConfigError, match="drop_folder, http_token"):
        make().check()


def test_parse_document_and_decode_round_trip(data_dir: Path) -> None:
    conn = make()
    with (data_dir / "return-with-link.xml").open("rb") as handle:
        (event,) = list(conn.parse_document("return-with-link.xml", handle))
    assert isinstance(event, InboundEvent)
    assert event.kind == "sale"
    assert event.key == "S042/tx/S042-2-88"
    assert event.occurred_at is not None
    with (data_dir / "return-with-link.xml").open("rb") as handle:
        (sale,) = list(parse(handle, "x"))
    assert isinstance(sale, Sale)
    assert conn.decode(event) == [SaleBody(sale=sale)]
    assert event.payload["lines"][0]["quantity"] == "-2"  # exact decimal string in JSON


def test_decode_refuses_other_kinds_and_bad_payloads() -> None:
    conn = make()
    with pytest.raises(DataError):
        conn.decode(InboundEvent(key="k", kind="stock", payload={}))
    with pytest.raises(DataError):
        conn.decode(InboundEvent(key="k", kind="sale", payload={"status": "completed"}))


# --------------------------------------------------------------------------- drop folder
# The folder itself (claims, abandoned claims, races, names) is tests/test_dropfolder.py's.


def test_good_file_pages_then_moves_to_done(data_dir: Path, drop: Path) -> None:
    path = put(data_dir, drop, "invalid-among-valid.xml")
    original = path.read_bytes()
    conn = make(drop_folder=drop)
    (page,) = list(conn.read("sales"))
    assert [e.key for e in page.events] == ["12/1/2024-03-03/1", "12/1/2024-03-03/4"]
    assert [r.source for r in page.rejections] == [
        "invalid-among-valid.xml:15",
        "invalid-among-valid.xml:25",
    ]
    assert not path.exists(), "the poller claims the file so no other poller reads it"
    (claimed,) = (drop / "processing").iterdir()
    assert claimed.name.endswith("__invalid-among-valid.xml"), "kept until committed"
    commit(page)
    assert not claimed.exists()
    assert (drop / "done" / "invalid-among-valid.xml").read_bytes() == original
    assert list(conn.read("sales")) == []


def test_a_dropped_name_holding_double_underscores_is_kept(data_dir: Path, drop: Path) -> None:
    put(data_dir, drop, "return-with-link.xml", as_name="till__export.xml")
    put(data_dir, drop, "malformed.xml", as_name="till__broken.xml", age=30)
    conn = make(drop_folder=drop)
    good, bad = list(conn.read("sales"))
    assert [r.source for r in bad.rejections] == ["till__broken.xml"]
    assert bad.rejections[0].error.startswith("till__broken.xml:7:")
    commit(good)
    commit(bad)
    assert [p.name for p in (drop / "done").iterdir()] == ["till__export.xml"]
    assert sorted(p.name for p in (drop / "rejected").iterdir()) == [
        "till__broken.xml",
        "till__broken.xml.error.txt",
    ]


def test_unreadable_file_goes_to_rejected_with_error_text(data_dir: Path, drop: Path) -> None:
    path = put(data_dir, drop, "malformed.xml")
    original = path.read_bytes()
    (page,) = list(make(drop_folder=drop).read("sales"))
    assert page.events == []
    (rejection,) = page.rejections
    assert rejection.source == "malformed.xml"
    assert rejection.error.startswith("malformed.xml:7:")
    commit(page)
    moved = drop / "rejected" / "malformed.xml"
    assert moved.read_bytes() == original
    error = (drop / "rejected" / "malformed.xml.error.txt").read_text()
    assert error.startswith("malformed.xml:7:") and "Opening and ending tag mismatch" in error
    assert not path.exists()


def test_hostile_file_goes_to_rejected(data_dir: Path, drop: Path) -> None:
    put(data_dir, drop, "billion-laughs.xml")
    (page,) = list(make(drop_folder=drop).read("sales"))
    assert page.events == [] and "DOCTYPE" in page.rejections[0].error
    commit(page)
    assert (drop / "rejected" / "billion-laughs.xml").exists()


# --------------------------------------------------------------------------- HTTP push


def request(body: bytes, authorization: str | None = None) -> WebhookRequest:
    headers = {"Content-Type": "application/xml"}
    if authorization is not None:
        headers["authorization"] = authorization
    return WebhookRequest(headers=headers, body=body)


def test_http_push_disabled_without_token(data_dir: Path) -> None:
    body = (data_dir / "return-with-link.xml").read_bytes()
    with pytest.raises(AuthError, match="HTTP push disabled: set http_token"):
        make().verify_webhook(request(body, f"Bearer {TOKEN}"))


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN],
)
def test_http_push_refuses_bad_tokens(header: str | None) -> None:
    with pytest.raises(AuthError) as caught:
        make(http_token=TOKEN).verify_webhook(request(b"<POSLog/>", header))
    assert TOKEN not in str(caught.value)


def test_http_push_accepts_bearer_and_parses(data_dir: Path) -> None:
    conn = make(http_token=TOKEN)
    body = (data_dir / "invalid-among-valid.xml").read_bytes()
    req = request(body, f"bearer {TOKEN}")
    conn.verify_webhook(req)
    items = conn.parse_webhook(req)
    events = [i for i in items if isinstance(i, InboundEvent)]
    rejections = [i for i in items if isinstance(i, Rejection)]
    assert len(events) == 2
    assert [r.source for r in rejections] == ["http:15", "http:25"]


def test_http_push_malformed_body_raises_data_error() -> None:
    conn = make(http_token=TOKEN)
    with pytest.raises(DataError, match=r"^http:1:"):
        conn.parse_webhook(request(b"<POSLog><oops></POSLog>", f"Bearer {TOKEN}"))


def test_http_push_body_bounded_by_max_bytes(data_dir: Path) -> None:
    conn = make(http_token=TOKEN, max_bytes=200)
    body = (data_dir / "return-with-link.xml").read_bytes()
    with pytest.raises(DataError, match="max_bytes=200"):
        conn.parse_webhook(request(body, f"Bearer {TOKEN}"))


def test_parse_document_reads_any_binary_stream() -> None:
    xml = (
        b'<POSLog xmlns="http://www.nrf-arts.org/IXRetail/namespace/"><Transaction>'
        b"<RetailStoreID>1</RetailStoreID><SequenceNumber>5</SequenceNumber>"
        b"<RetailTransaction><LineItem><Sale><ItemID>X</ItemID></Sale></LineItem>"
        b"</RetailTransaction></Transaction></POSLog>"
    )
    (event,) = list(make(default_currency="NOK").parse_document("s", io.BytesIO(xml)))
    assert isinstance(event, InboundEvent)
    assert event.payload["currency"] == "NOK"
