"""Square webhook signatures and payloads.

Square signs each notification with the subscription's *signature key*: the header
``x-square-hmacsha256-signature`` is ``base64(HMAC-SHA256(key, notification_url + body))``,
where ``notification_url`` is the URL exactly as registered in the subscription (scheme,
host, path and query, byte for byte) and ``body`` the raw request body. A proxy that changes
the URL Brique sees does not change the URL Square signed, so the URL comes from the
configuration, never from the request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SIGNATURE_HEADER = "x-square-hmacsha256-signature"

ORDER_CREATED = "order.created"
ORDER_UPDATED = "order.updated"
INVENTORY_COUNT_UPDATED = "inventory.count.updated"
HANDLED_TYPES = frozenset({ORDER_CREATED, ORDER_UPDATED, INVENTORY_COUNT_UPDATED})


def signature(key: str, notification_url: str, body: bytes) -> str:
    """The signature Square sends for ``body`` posted to ``notification_url``."""
    digest = hmac.new(key.encode(), notification_url.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def is_valid(key: str, notification_url: str, body: bytes, header: str) -> bool:
    """Constant-time comparison of ``header`` with the expected signature."""
    expected = signature(key, notification_url, body).encode("ascii")
    return hmac.compare_digest(expected, header.strip().encode("utf-8", "replace"))
