"""Running the sandbox: in the foreground (``brique sandbox shopify``) or in a test thread."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import uvicorn

from connectors.shopify.sandbox.app import DEFAULT_STOREFRONT_TOKEN, TITLE, create_app
from connectors.shopify.sandbox.state import SandboxState
from connectors.shopify.sandbox.storefront import CartBook

DEFAULT_TOKEN = "shpat_sandbox_token"  # noqa: S105 - a public, local-only demo token


def demo_seed(skus: int = 12) -> dict[str, Any]:
    """A small shop: two locations and ``skus`` priced variants, two per product, enough to
    watch stock and prices move."""
    return {
        "shop": {"name": "Brique demo shop (sandbox)", "currency": "EUR"},
        "locations": [
            {"id": "gid://shopify/Location/1001", "name": "Web warehouse"},
            {"id": "gid://shopify/Location/1002", "name": "Flagship store"},
        ],
        "variants": [
            {
                "sku": f"SKU-{n:05d}",
                "inventory_item": f"gid://shopify/InventoryItem/{40000 + n}",
                "id": f"gid://shopify/ProductVariant/{60000 + n}",
                "product": f"gid://shopify/Product/{70000 + (n + 1) // 2}",
                "product_title": f"Demo product {(n + 1) // 2}",
                "title": f"Demo item {n}",
                "price": f"{9 + n % 40}.90",
            }
            for n in range(1, skus + 1)
        ],
        "levels": [],
    }


def load_seed(path: str | Path | None) -> dict[str, Any]:
    """A seed from a JSON file, or the demo seed when no path is given.

    A variant may carry ``id``, ``product`` (GID), ``product_title``, ``price`` and
    ``compare_at_price``; one without a product gets its own, one without a price "0.00"."""
    if path is None:
        return demo_seed()
    return json.loads(Path(path).read_text(encoding="utf-8"))


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    seed_path: str | Path | None = None,
    access_token: str = DEFAULT_TOKEN,
    *,
    max_available: float = 2000,
    restore_rate: float = 100,
    storefront_token: str = DEFAULT_STOREFRONT_TOKEN,
) -> None:
    """Run the sandbox in the foreground (``brique sandbox shopify``) until interrupted."""
    app = create_app(
        load_seed(seed_path),
        access_token,
        max_available,
        restore_rate,
        storefront_token=storefront_token,
    )
    print(f"{TITLE}\n  shop_url: http://{host}:{port}  (open it in a browser to watch stock)")
    print(f"  storefront_token: {storefront_token}  (for the baskets sink's Storefront carts)")
    uvicorn.run(app, host=host, port=port, log_level="info")


class SandboxServer:
    """The sandbox on 127.0.0.1 and a free port, in a background thread; for tests and demos.

    >>> with SandboxServer(demo_seed()) as sandbox:   # doctest: +SKIP
    ...     sandbox.url, sandbox.state.level_rows()
    """

    def __init__(
        self,
        seed: Mapping[str, Any] | None = None,
        *,
        access_token: str = DEFAULT_TOKEN,
        max_available: float = 2000,
        restore_rate: float = 100,
        host: str = "127.0.0.1",
        clock: Callable[[], float] = time.monotonic,
        storefront_token: str = DEFAULT_STOREFRONT_TOKEN,
    ) -> None:
        self.access_token = access_token
        self.storefront_token = storefront_token
        self.host = host
        self.app = create_app(
            seed if seed is not None else demo_seed(),
            access_token,
            max_available,
            restore_rate,
            clock=clock,
            storefront_token=storefront_token,
        )
        self.state: SandboxState = self.app.state.sandbox
        self.carts: CartBook = self.app.state.carts
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def __repr__(self) -> str:
        return f"SandboxServer({self.url!r})"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> SandboxServer:
        # With IPPROTO_TCP given, the server sets TCP_NODELAY on accepted connections;
        # without it every reply on a kept-alive connection waits ~40 ms (Nagle + delayed ack).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        self._socket = sock
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="shopify-sandbox", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the Shopify sandbox did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
