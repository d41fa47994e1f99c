"""The ``webhooks`` suite: only the remote can make an event, and a redelivery is the same one.

Anyone can POST to a public webhook URL, so an unsigned or forged request must be refused
with ``AuthError``; remotes redeliver freely, so events are keyed by what identifies the
delivery and the inbox drops the repeat.
"""

from __future__ import annotations

from typing import Any

import pytest

from bridge.connector import Capability, Connector, InboundEvent, WebhookRequest
from bridge.errors import AuthError
from bridge.testing.base import ContractBase, suite
from bridge.testing.harness import WebhookSigner, require
from bridge.testing.suite_remote import _expect, _raised

HOOKS = (Capability.WEBHOOKS, Capability.HTTP_PUSH)


def _forge(value: str) -> str:
    """The same header with its last character changed: a near miss, not a blank."""
    return value[:-1] + ("A" if not value.endswith("A") else "B") if value else "forged"


class WebhookSuite(ContractBase):
    def _keys(self, connector: Connector, request: WebhookRequest) -> list[str]:
        return [e.key for e in connector.parse_webhook(request) if isinstance(e, InboundEvent)]

    @suite("webhooks", needs=HOOKS)
    def test_webhooks_signed_request_verifies(self, connector: Connector, harness: Any) -> None:
        require(harness, WebhookSigner, "webhooks")
        connector.verify_webhook(self.signed_request(harness, "contract-delivery-1"))

    @suite("webhooks", needs=HOOKS)
    def test_webhooks_missing_signature_is_refused(
        self, connector: Connector, harness: Any
    ) -> None:
        require(harness, WebhookSigner, "webhooks")
        body, headers = harness.sample_webhook("contract-delivery-2")
        signature = harness.sign(body)
        unsigned = {k: v for k, v in headers.items() if k not in signature}
        request = WebhookRequest(headers=unsigned, body=body)
        _expect(
            _raised(lambda: connector.verify_webhook(request)), AuthError, "an unsigned webhook"
        )

    @suite("webhooks", needs=HOOKS)
    def test_webhooks_forged_signature_is_refused(self, connector: Connector, harness: Any) -> None:
        require(harness, WebhookSigner, "webhooks")
        body, headers = harness.sample_webhook("contract-delivery-3")
        forged = {k: _forge(v) for k, v in harness.sign(body).items()}
        request = WebhookRequest(headers={**headers, **forged}, body=body)
        _expect(_raised(lambda: connector.verify_webhook(request)), AuthError, "a forged signature")

    @suite("webhooks", needs=HOOKS)
    def test_webhooks_tampered_body_is_refused(self, connector: Connector, harness: Any) -> None:
        require(harness, WebhookSigner, "webhooks")
        body, headers = harness.sample_webhook("contract-delivery-4")
        signature = harness.sign(body)
        if signature == harness.sign(body + b" "):
            pytest.skip("the signature does not cover the body (a bearer token)")
        request = WebhookRequest(headers={**headers, **signature}, body=body + b" ")
        _expect(_raised(lambda: connector.verify_webhook(request)), AuthError, "a tampered body")

    @suite("webhooks", needs=HOOKS)
    def test_webhooks_replayed_delivery_has_the_same_keys(
        self, connector: Connector, harness: Any
    ) -> None:
        require(harness, WebhookSigner, "webhooks")
        request = self.signed_request(harness, "contract-delivery-5")
        first, replay = self._keys(connector, request), self._keys(connector, request)
        assert first, "parse_webhook returned no event for the harness's sample webhook"
        assert first == replay, (
            f"a replayed delivery gave other event keys ({first} then {replay}): "
            "key events by the remote's delivery id, not a random or time-based value"
        )
        assert len(set(first)) == len(first), f"one delivery gave repeated keys {first}"
        other = self._keys(connector, self.signed_request(harness, "contract-delivery-6"))
        assert not set(first) & set(other), (
            f"two different deliveries share event keys {sorted(set(first) & set(other))}"
        )
