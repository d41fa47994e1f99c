"""Brique's settings: one YAML file (``config/*.yaml``), overridable by environment variables.

Relative paths in the file are relative to the file's own folder, so a configuration works
from any working directory. ``${NAME}`` in a string is replaced by that environment variable,
which is how secrets reach connector configs without being written in the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bridge.errors import ConfigError
from bridge.logs import redact, redact_text
from bridge.yamlio import (
    LocatedError,
    Problem,
    YamlConfigError,
    load_yaml,
    problems_from_validation,
    validate,
)

_ENV = re.compile(r"\$\{([A-Z0-9_]+)\}")
SCHEDULES = ("poll", "reconcile_stock")


class ConnectionSettings(BaseModel):
    """One configured connection: which connector, its config, and its schedules."""

    model_config = ConfigDict(extra="forbid")

    connector: str
    config: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    schedules: dict[str, float] = Field(default_factory=dict)
    """Task name -> period in seconds, e.g. ``{"poll": 2, "reconcile_stock": 300}``."""

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # ``config`` holds secrets as plain text (after ${VAR} expansion): never print them.
        for name, value in super().__repr_args__():
            yield name, redact(value) if name == "config" else value

    @field_validator("schedules")
    @classmethod
    def _known_schedules(cls, value: dict[str, float]) -> dict[str, float]:
        for name, period in value.items():
            if name not in SCHEDULES:
                hint = "".join(
                    f" (did you mean {m!r}?)" for m in get_close_matches(name, SCHEDULES, 1)
                )
                raise LocatedError(
                    f"unknown schedule {name!r}{hint}: use 'poll' or 'reconcile_stock'",
                    (name,),
                    on_key=True,
                )
            if period <= 0:
                raise LocatedError(
                    f"schedule {name!r} must be a positive number of seconds", (name,)
                )
        return value


class SandboxSettings(BaseModel):
    """A local test double started by ``brique run`` (demo only)."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    port: int
    seed: Path | None = None
    access_token: str = "sandbox-token"  # noqa: S105 - a local test double's token


class WebSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 5 * 1024 * 1024
    export_token: SecretStr | None = None
    """Bearer token for data exports (``GET /journal/export``): they hold customer emails
    and cards, so they are off until one is set, e.g. ``export_token: ${BRIQUE_EXPORT_TOKEN}``."""


class SubscriberSettings(BaseModel):
    """A system told about business events (a marketing tool, a data mart, a chat alert).

    Each event is POSTed as JSON and signed with HMAC-SHA256 of ``"<t>.<body>"`` under
    ``secret`` (header ``Brique-Signature: t=<unix time>,v1=<hex>``), retried with backoff
    until a 2xx answer or ``max_attempts``; then it is a dead letter, replayable."""

    model_config = ConfigDict(extra="forbid")

    url: str
    secret: SecretStr
    topics: list[str] = Field(default_factory=lambda: ["*"])
    """Topic patterns (``basket.*``, ``price.divergence``); ``*`` for all."""
    enabled: bool = True
    max_attempts: int = Field(default=8, ge=1, le=50)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("url must start with https:// (or http:// on a private network)")
        return value


class BasketSettings(BaseModel):
    """When an idle basket counts as abandoned or expired, and the handoff link's base."""

    model_config = ConfigDict(extra="forbid")

    abandon_after_seconds: float = Field(default=3600.0, gt=0)
    """No activity for this long: an active web cart is ``abandoned`` (reminder time)."""
    expire_after_seconds: float = Field(default=30 * 86400.0, gt=0)
    """No activity for this long: a basket not converted is ``expired`` (closed)."""
    guard_window_seconds: float = Field(default=14 * 86400.0, gt=0)
    """A store purchase of an abandoned cart's items this long before or after the cart's
    last activity marks it "purchased in store" (no reminder)."""
    public_url: str | None = None
    """Base of links printed in QR codes for baskets not handed to a shop yet, e.g.
    ``https://brique.example.com``; the code alone is encoded when unset."""


class Settings(BaseModel):
    """Everything a Brique process needs; the same file serves web, worker and beat."""

    model_config = ConfigDict(extra="forbid")

    data_dir: Path = Path("var")
    database_url: str | None = None
    """``postgresql+psycopg://...``; default: SQLite in ``data_dir``."""
    broker_url: str | None = None
    """``redis://...`` or ``amqp://...``; default: embedded filesystem transport in data_dir."""
    mapping: Path | None = None
    queue_prefix: str = "brique"
    """Names this installation's queues, so several can share one broker."""
    coalesce_seconds: float = 0.5
    sweep_seconds: float = 10.0
    stale_seconds: float = 30.0
    stock_import: Path | None = None
    """A CSV (sku,location,quantity) counted into the ledger at start (demo)."""
    price_import: Path | None = None
    """A price list CSV (sku,price[,list][,currency]) loaded at start (demo)."""
    web: WebSettings = Field(default_factory=WebSettings)
    baskets: BasketSettings = Field(default_factory=BasketSettings)
    subscribers: dict[str, SubscriberSettings] = Field(default_factory=dict)
    """Who receives business events (signed webhooks), by name."""
    connections: dict[str, ConnectionSettings] = Field(default_factory=dict)
    sandboxes: list[SandboxSettings] = Field(default_factory=list)
    source: Path | None = None

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, redact_text(value) if isinstance(value, str) else value

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'brique.sqlite3').resolve()}"

    def resolved_broker_url(self) -> str:
        return self.broker_url or "filesystem://"

    @property
    def embedded_broker(self) -> bool:
        return self.resolved_broker_url().startswith("filesystem")

    def broker_folder(self) -> Path:
        return (self.data_dir / "broker").resolve()

    def connection(self, name: str) -> ConnectionSettings:
        try:
            return self.connections[name]
        except KeyError:
            known = ", ".join(sorted(self.connections)) or "none"
            raise ConfigError(f"unknown connection {name!r} (configured: {known})") from None


def _expand(node: Any, path: Path, problems: list[Problem], where: str = "") -> None:
    """Replace ``${NAME}`` in every string of the parsed file, in place (positions are kept).

    Every unset variable becomes a problem at the line and column of the value using it.
    """
    if isinstance(node, CommentedMap):
        items: list[tuple[Any, Any]] = list(node.items())
    elif isinstance(node, CommentedSeq):
        items = list(enumerate(node))
    else:
        return
    for key, value in items:
        here = f"{where}.{key}" if where else str(key)
        if isinstance(value, str):
            missing = [m for m in _ENV.findall(value) if m not in os.environ]
            if not missing:
                node[key] = _ENV.sub(lambda m: os.environ[m.group(1)], value)
                continue
            line, col = node.lc.value(key) if isinstance(node, CommentedMap) else node.lc.item(key)
            problems.extend(
                Problem(
                    str(path), line + 1, col + 1, f"{here}: environment variable {name} is not set"
                )
                for name in dict.fromkeys(missing)
            )
        else:
            _expand(value, path, problems, here)


def _check_connections(data: Any, path: Path, settings: Settings) -> list[Problem]:
    """Each connection names an installed connector and satisfies its config model.

    Checked at load time so a typo in a token's key fails ``brique run`` with its position,
    not the first webhook an hour later.
    """
    from bridge import registry

    installed = registry.discover()
    problems: list[Problem] = []
    for name, conn in settings.connections.items():
        node = data["connections"][name]
        if conn.connector not in installed:
            line, col = node.lc.value("connector")
            close = get_close_matches(conn.connector, list(installed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(sorted(installed)) or "none"
            problems.append(
                Problem(
                    str(path),
                    line + 1,
                    col + 1,
                    f"connections.{name}.connector: no connector {conn.connector!r} is "
                    f"installed{hint}; installed: {known}",
                )
            )
            continue
        model = installed[conn.connector].info.config_model
        config_node = node.get("config") if isinstance(node, CommentedMap) else None
        try:
            model.model_validate(_plain(conn.config))
        except ValidationError as exc:
            if not isinstance(config_node, CommentedMap):
                line, col = node.lc.key("connector")
                problems.append(
                    Problem(str(path), line + 1, col + 1, f"connections.{name}.config: {exc}")
                )
                continue
            key_line, key_col = node.lc.key("config")
            for problem in problems_from_validation(exc, config_node, path, model):
                message = problem.message
                if message.startswith("(top level)"):
                    message = f"connections.{name}.config{message.removeprefix('(top level)')}"
                elif not message.startswith("unknown key"):
                    message = f"connections.{name}.config.{message}"
                line, col = problem.line, problem.column
                if (line, col) == (1, 1):  # a missing key: point at the config block
                    line, col = key_line + 1, key_col + 1
                problems.append(Problem(problem.path, line, col, message))
    return problems


def _resolve(base: Path, path: Path | None) -> Path | None:
    if path is None:
        return None
    return path if path.is_absolute() else (base / path).resolve()


def load_settings(path: Path | str | None = None) -> Settings:
    """Load settings from ``path`` or ``$BRIQUE_CONFIG``; env vars override URLs."""
    path = Path(path or os.environ.get("BRIQUE_CONFIG", "config/demo.yaml"))
    data = load_yaml(path)
    problems: list[Problem] = []
    _expand(data, path, problems)
    try:
        settings = validate(data, path, Settings)
    except YamlConfigError as exc:
        problems += exc.problems
    else:
        problems += _check_connections(data, path, settings)
    if problems:
        raise YamlConfigError(sorted(problems, key=lambda p: (p.line, p.column)))
    base = path.parent.resolve()
    updates: dict[str, Any] = {
        "data_dir": _resolve(base, settings.data_dir),
        "mapping": _resolve(base, settings.mapping),
        "stock_import": _resolve(base, settings.stock_import),
        "price_import": _resolve(base, settings.price_import),
        "source": path.resolve(),
        "sandboxes": [
            s.model_copy(update={"seed": _resolve(base, s.seed)}) for s in settings.sandboxes
        ],
        "connections": {
            name: conn.model_copy(update={"config": _plain(conn.config)})
            for name, conn in settings.connections.items()
        },
    }
    for field, env in (
        ("database_url", "BRIQUE_DATABASE_URL"),
        ("broker_url", "BRIQUE_BROKER_URL"),
    ):
        if os.environ.get(env):
            updates[field] = os.environ[env]
    settings = settings.model_copy(update=updates)
    for conn in settings.connections.values():
        folder = conn.config.get("drop_folder")
        if isinstance(folder, str) and not Path(folder).is_absolute():
            conn.config["drop_folder"] = str((base / folder).resolve())
    return settings


def _plain(value: Any) -> Any:
    """ruamel's commented containers to plain dicts and lists (scalars keep their type)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value
