"""Secrets never reach the logs, and logs are JSON lines when not on a terminal."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import structlog
from pydantic import SecretStr

from bridge import logs
from bridge.settings import ConnectionSettings, Settings
from tests.support import REPO

TOKEN = "shpat_0123456789abcdef"
SECRET_STR = "s3cr3t-in-a-secretstr"
REDIS_PW = "hunter2-redis"
BEARER = "xyz-bearer-value"
HOOK_SECRET = "whsec-nested-value"
DB_PW = "pg-password-9"
SECRETS = (TOKEN, SECRET_STR, REDIS_PW, BEARER, HOOK_SECRET, DB_PW)


pytestmark = pytest.mark.usefixtures("restore_logging")


def json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, "nothing was logged"
    return [json.loads(line) for line in lines]


def assert_no_secrets(text: str) -> None:
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, f"secrets {leaked} in:\n{text}"


def test_structlog_events_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure(json=True)
    log = structlog.get_logger("test")
    log.info(
        f"connecting with Authorization: Bearer {BEARER}",
        access_token=TOKEN,
        client=SecretStr(SECRET_STR),
        broker=f"redis://brique:{REDIS_PW}@redis.internal:6379/0",
        settings={
            "webshop": {"shop_url": "https://x.myshopify.com", "webhook_secret": HOOK_SECRET}
        },
        attempts=3,
    )
    err = capsys.readouterr().err
    assert_no_secrets(err)
    (event,) = json_lines(err)
    assert event["event"] == "connecting with Authorization: Bearer ***"
    assert event["access_token"] == "***"
    assert event["client"] == "***"
    assert event["broker"] == "redis://brique:***@redis.internal:6379/0"
    assert event["settings"] == {
        "webshop": {"shop_url": "https://x.myshopify.com", "webhook_secret": "***"}
    }
    assert event["attempts"] == 3  # ordinary values are untouched
    assert event["level"] == "info" and "timestamp" in event


def test_secrets_inside_lists_and_free_text_are_redacted(capsys) -> None:
    logs.configure(json=True)
    structlog.get_logger().warning(
        "remote answered",
        body=f'{{"access_token": "{TOKEN}", "ok": true}}',
        dsn=f"host=db user=brique password={DB_PW}",
        urls=[f"amqp://guest:{REDIS_PW}@mq//", ("x", SecretStr(SECRET_STR))],
        headers=f"X-Shopify-Access-Token: {TOKEN}",
    )
    err = capsys.readouterr().err
    assert_no_secrets(err)
    (event,) = json_lines(err)
    assert event["body"] == '{"access_token": "***", "ok": true}'
    assert event["dsn"] == "host=db user=brique password=***"
    assert event["urls"] == ["amqp://guest:***@mq//", ["x", "***"]]


def test_exception_tracebacks_are_redacted(capsys) -> None:
    logs.configure(json=True)
    try:
        raise ConnectionError(f"cannot reach postgresql+psycopg://brique:{DB_PW}@db/brique")
    except ConnectionError:
        structlog.get_logger().exception("database_down")
    err = capsys.readouterr().err
    assert_no_secrets(err)
    (event,) = json_lines(err)
    assert (
        "ConnectionError: cannot reach postgresql+psycopg://brique:***@db/brique"
        in (event["exception"])
    )


def test_stdlib_loggers_are_redacted_and_rendered_as_json(capsys) -> None:
    logs.configure(json=True)
    log = logging.getLogger("celery.worker.consumer")
    log.error("Cannot connect to redis://:%s@127.0.0.1:6379/0: refused", REDIS_PW)
    log.warning("retrying %s", ConnectionError(f"amqp://brique:{REDIS_PW}@mq:5672//"))
    log.warning("mapping args %(url)s", {"url": f"redis://u:{REDIS_PW}@h"})
    log.info("sending Authorization: Bearer %s", BEARER)
    try:
        raise OSError(f"redis://u:{REDIS_PW}@h")
    except OSError:
        log.exception("lost")
    err = capsys.readouterr().err
    assert_no_secrets(err)
    events = json_lines(err)
    assert [e["event"] for e in events] == [
        "Cannot connect to redis://:***@127.0.0.1:6379/0: refused",
        "retrying amqp://brique:***@mq:5672//",
        "mapping args redis://u:***@h",
        "sending Authorization: Bearer ***",
        "lost",
    ]
    assert {e["logger"] for e in events} == {"celery.worker.consumer"}
    assert events[0]["level"] == "error"
    assert "OSError: redis://u:***@h" in events[-1]["exception"]


def test_configure_twice_replaces_the_stream_and_the_level(capsys) -> None:
    logs.configure("warning", json=True)
    logs.configure("debug", json=True)
    logging.getLogger("x").debug("once")
    structlog.get_logger().debug("twice")
    lines = json_lines(capsys.readouterr().err)
    assert [e["event"] for e in lines] == ["once", "twice"]  # one handler, level debug
    assert sum(getattr(h, "_brique", False) for h in logging.getLogger().handlers) == 1


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        logs.configure("chatty", json=True)


def test_console_output_on_a_terminal_is_redacted_too(monkeypatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    logs.configure()
    structlog.get_logger().info("hello", access_token=TOKEN, url=f"redis://u:{REDIS_PW}@h")
    logging.getLogger("uvicorn.error").info("Bearer %s", BEARER)
    text = screen.getvalue()
    assert "hello" in text and "***" in text
    assert_no_secrets(text)
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_connector_configs_never_print_their_secrets() -> None:
    from bridge.connector import ConnectorContext
    from connectors.poslog import PosLogConfig, PosLogConnector
    from connectors.shopify import ShopifyConnector
    from connectors.shopify.connector import ShopifyConfig

    shop = ShopifyConfig(
        shop_url="https://brique-test.myshopify.com", access_token=TOKEN, webhook_secret=HOOK_SECRET
    )
    tills = PosLogConfig(http_token=SECRET_STR, default_currency="EUR")
    connector = ShopifyConnector(shop, ConnectorContext("webshop"))
    try:
        texts = [repr(shop), str(shop), repr(tills), str(tills), repr(connector), str(connector)]
        texts += [repr(PosLogConnector(tills, ConnectorContext("tills")).config)]
        texts += [shop.model_dump_json(), tills.model_dump_json()]
    finally:
        connector.close()
    for text in texts:
        assert_no_secrets(text)
    assert "**********" in repr(shop) and "**********" in repr(tills)
    assert shop.access_token.get_secret_value() == TOKEN  # still usable by the connector


def test_settings_never_print_connection_secrets() -> None:
    settings = Settings(
        database_url=f"postgresql+psycopg://brique:{DB_PW}@db/brique",
        broker_url=f"redis://:{REDIS_PW}@redis:6379/0",
        connections={
            "webshop": ConnectionSettings(
                connector="shopify",
                config={"access_token": TOKEN, "webhook_secret": HOOK_SECRET, "shop_url": "x"},
            ),
            "tills": ConnectionSettings(connector="poslog", config={"http_token": SECRET_STR}),
        },
    )
    for text in (repr(settings), str(settings), repr(settings.connections), f"{settings}"):
        assert_no_secrets(text)
        assert "***" in text
    # the values themselves are intact for the code that needs them
    assert settings.connection("webshop").config["access_token"] == TOKEN
    assert settings.resolved_database_url().endswith(f"{DB_PW}@db/brique")


def test_a_worker_style_flow_logs_json_lines_when_not_a_tty(tmp_path: Path, capsys) -> None:
    """The sync use-cases under ``configure()`` with stderr captured (not a terminal)."""
    from bridge.store import db
    from bridge.sync import ingest
    from bridge.sync.runtime import Runtime
    from tests.fakes import FakePos, FakeShop, InlineDispatcher
    from tests.test_sync import MAPPING, sale

    assert not sys.stderr.isatty()
    logs.configure()  # json=None: decided by the terminal
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING)
    url = f"sqlite:///{tmp_path / 'brique.sqlite3'}"
    db.upgrade(url)
    settings = Settings(
        data_dir=tmp_path,
        database_url=url,
        mapping=mapping,
        connections={
            "tills": ConnectionSettings(connector="poslog", config={"http_token": SECRET_STR}),
            "webshop": ConnectionSettings(connector="shopify", config={"access_token": TOKEN}),
        },
    )
    dispatcher = InlineDispatcher()
    rt = Runtime(settings, dispatcher)
    dispatcher.rt = rt
    pos = FakePos()
    rt.use("tills", pos)
    rt.use("webshop", FakeShop())
    try:
        structlog.get_logger().info("worker_ready", settings=repr(settings))
        pos.pending = [sale(1, ("3600000000017", "1"), store="9999")]  # unmapped: dead letter
        ingest.poll(rt, "tills", "sales")
        logging.getLogger("celery.app.trace").info("Task %s succeeded", "brique.poll[1]")
    finally:
        rt.close()
    err = capsys.readouterr().err
    assert_no_secrets(err)
    events = json_lines(err)  # every line is one JSON object (alembic's lines included)
    assert all("timestamp" in e and "level" in e for e in events)
    by_name = {e["event"]: e for e in events}
    assert by_name["inbox_dead"]["level"] == "warning"
    assert by_name["inbox_dead"]["connection"] == "tills"
    assert "9999" in by_name["inbox_dead"]["error"]
    assert by_name["ingested"]["accepted"] == 1
    assert by_name["Task brique.poll[1] succeeded"]["logger"] == "celery.app.trace"
    assert "'access_token': '***'" in by_name["worker_ready"]["settings"]


def test_a_real_process_logs_json_to_a_pipe(tmp_path: Path) -> None:
    code = (
        "import logging, structlog\n"
        "from bridge import logs\n"
        "logs.configure()\n"
        f"structlog.get_logger().info('started', access_token='{TOKEN}')\n"
        f"logging.getLogger('kombu').warning('broker redis://u:{REDIS_PW}@h')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert_no_secrets(done.stderr)
    events = json_lines(done.stderr)
    assert [e["event"] for e in events] == ["started", "broker redis://u:***@h"]
    assert events[0]["access_token"] == "***"
