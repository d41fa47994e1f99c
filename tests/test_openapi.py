"""The OpenAPI page is what retailers and integrators read: every operation says what it
does (summary) and how (description), and none is left undocumented by a new route."""

from __future__ import annotations

from pathlib import Path

from bridge.settings import Settings
from bridge.sync.runtime import Runtime
from workers.web import create_app


def test_every_operation_has_a_summary_and_a_description(tmp_path: Path) -> None:
    rt = Runtime(Settings(data_dir=tmp_path))
    try:
        spec = create_app(rt).openapi()
    finally:
        rt.close()
    bare = [
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if not (operation.get("summary") and operation.get("description"))
    ]
    assert bare == []
    paths = set(spec["paths"])
    for expected in (
        "/baskets/{code}",
        "/customers/{customer_id}/abandoned-carts",
        "/customers/{customer_id}/loyalty",
        "/returns",
        "/prices/parity",
        "/events",
        "/journal/export",
    ):
        assert expected in paths
