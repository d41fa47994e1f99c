"""The ``info`` suite: what the registry and the admin UI rely on, and canonical decoding.

Secrets must be ``SecretStr`` so no repr, log line or error message can print them, and
decoded records must be canonical models: a float amount would lose cents silently.
"""

from __future__ import annotations

import typing
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from bridge.connector import Capability, Connector, ConnectorConfig, ConnectorInfo
from bridge.model.base import Record
from bridge.testing.base import SECRET_NAME, ContractBase, suite


def _allows_secretstr_only(annotation: Any) -> bool:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if annotation is SecretStr:
        return True
    return bool(args) and all(a is SecretStr for a in args)


def _floats(value: Any, path: str) -> list[str]:
    """Paths of float values anywhere inside a model, mapping or sequence."""
    if isinstance(value, float):
        return [f"{path} = {value!r}"]
    if isinstance(value, BaseModel):
        return [
            hit
            for name in type(value).model_fields
            for hit in _floats(getattr(value, name), f"{path}.{name}")
        ]
    if isinstance(value, dict):
        return [hit for k, v in value.items() for hit in _floats(v, f"{path}[{k!r}]")]
    if isinstance(value, list | tuple):
        return [hit for i, v in enumerate(value) for hit in _floats(v, f"{path}[{i}]")]
    return []


class InfoSuite(ContractBase):
    @suite("info")
    def test_info_describes_the_connector(self) -> None:
        assert self.connector_class is not None
        info = self.connector_class.info
        assert isinstance(info, ConnectorInfo), "info must be a bridge.connector.ConnectorInfo"
        assert info.name and info.name == info.name.strip(), "info.name must be set"
        assert info.kind in ("pos", "shop"), f"info.kind {info.kind!r} is not 'pos' or 'shop'"
        assert info.version, "info.version must be set"
        assert info.capabilities, "info.capabilities must not be empty"
        bad = [c for c in info.capabilities if not isinstance(c, Capability)]
        assert not bad, f"capabilities must be Capability members, not {bad!r}"
        assert issubclass(info.config_model, ConnectorConfig)
        if Capability.WRITE_STOCK in info.capabilities:
            limit = info.batch_limits.get("stock")
            assert isinstance(limit, int) and limit > 0, (
                "a WRITE_STOCK connector must declare batch_limits['stock'] > 0"
            )

    @suite("info")
    def test_info_secret_fields_are_secretstr(self) -> None:
        assert self.connector_class is not None
        model = self.connector_class.info.config_model
        plain = [
            f"{name}: {field.annotation!r}"
            for name, field in model.model_fields.items()
            if SECRET_NAME.search(name) and not _allows_secretstr_only(field.annotation)
        ]
        assert not plain, (
            f"config fields that look secret must be SecretStr, these are not: {plain}"
        )

    @suite("info")
    def test_info_repr_and_str_hide_secrets(self, connector: Connector) -> None:
        secrets = self.secret_values()
        shown = {
            "repr(config)": repr(connector.config),
            "str(config)": str(connector.config),
            "config.model_dump_json()": connector.config.model_dump_json(),
            "repr(connector)": repr(connector),
            "str(connector)": str(connector),
        }
        leaks = [where for where, text in shown.items() for s in secrets if s in text]
        assert not leaks, f"a configured secret value is printed by {', '.join(leaks)}"

    @suite("info")
    def test_info_decode_gives_canonical_records(self, connector: Connector, harness: Any) -> None:
        events = self.sample_events(connector, harness)
        if not events:
            pytest.skip("no sample events: override sample_events() to check decoding")
        for event in events:
            for n, record in enumerate(connector.decode(event)):
                where = f"decode({event.key!r})[{n}]"
                assert isinstance(record, Record), (
                    f"{where} is a {type(record).__name__}, not a canonical Record"
                )
                floats = _floats(record, where)
                assert not floats, (
                    f"float money is impossible in canonical records (use Decimal): {floats}"
                )
