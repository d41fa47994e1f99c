"""The ``logs`` suite: a configured secret never reaches a log record or the console.

Logs are shipped to places with wider access than the secrets store; one debug line with a
token is a leak. The suite drives every operation the connector declares, including the
failing paths (refused webhooks, remote errors) where messages are most often careless.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from itertools import islice
from typing import Any

import pytest

from bridge.connector import Capability, Connector, WebhookRequest, WriteBatch
from bridge.testing.base import ContractBase, suite
from bridge.testing.harness import FailingRemote, StreamSource, WebhookSigner, WriteRecorder


class LogsSuite(ContractBase):
    def _exercise(self, connector: Connector, harness: Any) -> list[str]:
        """Run what applies, swallowing errors; return the error messages raised."""
        messages: list[str] = []

        def run(call: Any) -> None:
            try:
                call()
            except Exception as exc:
                messages.append(f"{type(exc).__name__}: {exc}")

        caps = self.capabilities()
        run(connector.check)
        if isinstance(harness, WebhookSigner) and self.accepts_webhooks():
            request = self.signed_request(harness, "contract-logs-1")
            run(lambda: connector.verify_webhook(request))
            run(lambda: connector.parse_webhook(request))
            run(lambda: connector.verify_webhook(WebhookRequest(headers={}, body=request.body)))
        if isinstance(harness, WriteRecorder) and Capability.WRITE_STOCK in caps:
            items = getattr(self, "stock_writes", lambda n: [])(3)
            run(lambda: connector.write("stock", WriteBatch("contract-logs-1", items)))
        if isinstance(harness, StreamSource):
            for stream in connector.streams():
                harness.seed(stream, 2)
        for stream in connector.streams():
            run(lambda s=stream: list(islice(connector.read(s), self.max_pages)))  # type: ignore[misc]
        if isinstance(harness, FailingRemote):
            harness.answer_status(401)
            run(connector.check)
        return messages

    @suite("logs")
    def test_logs_never_show_secrets(
        self,
        connector: Connector,
        harness: Any,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        secrets = self.secret_values()
        if not secrets:
            pytest.skip("no secret in the configured settings")
        with caplog.at_level(logging.DEBUG):
            messages = self._exercise(connector, harness)
            with suppress(Exception):
                connector.close()
        out = capsys.readouterr()
        places = {
            "log records": caplog.text,
            "stdout": out.out,
            "stderr": out.err,
            "error messages": "\n".join(messages),
        }
        leaks = [where for where, text in places.items() for s in secrets if s in text]
        assert not leaks, f"a configured secret value was written to {', '.join(leaks)}"
