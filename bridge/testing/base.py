"""The shared part of every suite: fixtures, hooks an author overrides, suite tagging.

Suites are mixins over ``ContractBase``; each test method is tagged with its suite name and
the capability it needs, so the plugin can skip it at collection time with a visible reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pytest
from pydantic import SecretStr

from bridge.connector import Capability, Connector, ConnectorContext, InboundEvent, WebhookRequest

SUITES: dict[str, str] = {
    "info": "info and config: ConnectorInfo, SecretStr secrets, canonical decoded records",
    "check": "check(): a 401 from the remote is an AuthError",
    "errors": "429/5xx/timeouts become RateLimited/TransientError, never raw requests errors",
    "write": "stock writes: batch limits, idempotent replays",
    "webhooks": "webhooks: signed, forged, missing signature, replayed delivery",
    "read": "streams: read to the end, no pagination loop, unique keys, resumable cursors",
    "logs": "no configured secret value ever reaches the logs or the console",
    "mapping": "the default mapping loads; samples decode through it; fields round-trip",
}
"""Suite name -> what it proves; ``skip_suites`` keys must be among these."""

SECRET_NAME = re.compile(r"token|secret|password|passwd|key|credential", re.IGNORECASE)
"""Config field names that must hold a ``SecretStr``."""

F = TypeVar("F", bound=Callable[..., Any])


def suite(
    name: str, *, needs: Capability | tuple[Capability, ...] | None = None
) -> Callable[[F], F]:
    """Tag a test method with its suite and, optionally, the capability it applies to."""
    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r}")

    def tag(func: F) -> F:
        func.contract_suite = name  # type: ignore[attr-defined]
        func.contract_needs = (needs,) if isinstance(needs, Capability) else needs  # type: ignore[attr-defined]
        return func

    return tag


def _validate_skips(cls: type, skips: Any) -> None:
    if not isinstance(skips, Mapping):
        raise TypeError(
            f"{cls.__name__}.skip_suites must map suite name -> written reason, "
            f"e.g. {{'read': 'no read stream yet'}}; got {skips!r}"
        )
    for name, reason in skips.items():
        if name not in SUITES:
            raise TypeError(
                f"{cls.__name__}.skip_suites names unknown suite {name!r}; "
                f"known: {', '.join(SUITES)}"
            )
        if not isinstance(reason, str) or len(reason.strip()) < 3:
            raise TypeError(
                f"{cls.__name__}.skip_suites[{name!r}] needs a written reason "
                f"(a sentence saying why the suite does not apply), got {reason!r}"
            )


class ContractBase:
    """Hooks and fixtures the suites share. Authors set the class attributes below."""

    connector_class: ClassVar[type[Connector] | None] = None
    config: ClassVar[Mapping[str, Any]] = {}
    """Settings given to ``connector_class.from_settings`` (plain strings for secrets)."""
    skip_suites: ClassVar[Mapping[str, str]] = {}
    """Suite name -> the reason it does not apply. A suite cannot be skipped silently."""
    max_pages: ClassVar[int] = 1_000
    """A stream still paging after this many pages is reported as a pagination loop."""
    tmp_path: Path

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _validate_skips(cls, cls.__dict__.get("skip_suites", cls.skip_suites))
        if cls.__name__.startswith("Test") and cls.connector_class is None:
            raise TypeError(f"{cls.__name__} must set connector_class")

    # -- hooks an author may override ------------------------------------------------------

    def remote(self) -> Any:
        """The harness driving the fake remote; may be a context manager (e.g. responses)."""
        return None

    def connector_settings(self, harness: Any) -> dict[str, Any]:
        """Settings for one test; override to point at a folder the harness made."""
        return dict(self.config)

    def make_connector(self, harness: Any) -> Connector:
        assert self.connector_class is not None
        return self.connector_class.from_settings(
            self.connector_settings(harness), ConnectorContext(connection="contract")
        )

    def remote_operation(self, connector: Connector) -> Any:
        """The call the ``errors`` suite makes against a failing remote; ``check`` by default."""
        return connector.check()

    def sample_events(self, connector: Connector, harness: Any) -> list[InboundEvent]:
        """Events whose decoding the ``info`` suite inspects; from a signed webhook by default."""
        if not self.accepts_webhooks():
            return []
        request = self.signed_request(harness, "contract-sample-1")
        return [e for e in connector.parse_webhook(request) if isinstance(e, InboundEvent)]

    # -- helpers ---------------------------------------------------------------------------

    @classmethod
    def capabilities(cls) -> frozenset[Capability]:
        assert cls.connector_class is not None
        return cls.connector_class.info.capabilities

    @classmethod
    def accepts_webhooks(cls) -> bool:
        return bool(cls.capabilities() & {Capability.WEBHOOKS, Capability.HTTP_PUSH})

    def secret_values(self) -> list[str]:
        """The raw values of configured secrets, to look for where they must not be."""
        found = []
        for name, value in self.config.items():
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if SECRET_NAME.search(name) and isinstance(value, str) and len(value) >= 4:
                found.append(value)
        return found

    @staticmethod
    def signed_request(harness: Any, delivery_id: str) -> WebhookRequest:
        body, headers = harness.sample_webhook(delivery_id)
        return WebhookRequest(headers={**headers, **harness.sign(body)}, body=body)

    # -- fixtures --------------------------------------------------------------------------

    @pytest.fixture
    def harness(self, tmp_path: Path) -> Iterator[Any]:
        self.tmp_path = tmp_path
        made = self.remote()
        if hasattr(made, "__enter__") and hasattr(made, "__exit__"):
            with made as entered:
                yield made if entered is None else entered
        else:
            yield made

    @pytest.fixture
    def connector(self, harness: Any) -> Iterator[Connector]:
        conn = self.make_connector(harness)
        yield conn
        conn.close()

    @pytest.fixture(autouse=True)
    def _brique_plugin_loaded(self, request: pytest.FixtureRequest) -> None:
        manager = request.config.pluginmanager
        if not (manager.has_plugin("brique") or manager.has_plugin("bridge.testing.plugin")):
            pytest.fail(
                "the brique contract plugin is not loaded: install brique (pytest11 entry "
                "point) or add pytest_plugins = ['bridge.testing.plugin'] to conftest.py",
                pytrace=False,
            )
