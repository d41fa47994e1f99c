"""Test helpers: real services on loopback, real Brique processes, waiting with a deadline."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
IN_CI = os.environ.get("CI") == "true"

POSTGRES_ADMIN = os.environ.get(
    "BRIQUE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("BRIQUE_TEST_REDIS", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("BRIQUE_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672//")


@contextmanager
def fresh_postgres(prefix: str = "brique_") -> Iterator[str]:
    """A new PostgreSQL database, dropped afterwards (``WITH (FORCE)`` ends stray sessions)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = unique(prefix)
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(POSTGRES_ADMIN).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def need(ok: bool, why: str) -> None:
    """Skip when a service is missing, except in CI where a missing service is a failure."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {why}")
    pytest.skip(why)


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(
    predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05, what: str = ""
) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what or predicate} (last={last!r})"
    )


def unique(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    yaml = YAML()
    yaml.default_flow_style = False
    with path.open("w") as fh:
        yaml.dump(data, fh)
    return path


class BriqueProcess:
    """A ``brique`` sub-command in its own process group, killable like a real crash."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self._fh = log.open("ab")
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workers.cli", *args],
            cwd=REPO,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            env=full_env,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL the whole group (the worker and its pool children): nothing gets to clean up."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)

    def stop(self, grace: float = 10.0) -> None:
        """A warm shutdown of the main process, then SIGKILL for whatever is left of the group."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        self._fh.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")
