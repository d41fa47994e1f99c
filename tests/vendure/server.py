"""A real Vendure 3.7.3 (``@vendure/core`` on Node, SQLite through ``sql.js``) on 127.0.0.1.

Follows section 3.1 of PLATFORMS.md ("Vendure: exact steps that worked"), the way
``tests.tryton.server`` runs Tryton:

1. ``ensure_install``: ``npm install @vendure/core@3.7.3 sql.js@1.16.0`` in a cache folder
   outside the checkout (``$BRIQUE_E2E_CACHE`` or ``~/.cache/brique-e2e``, sub-folder
   ``vendure-3.7.3``), made once under a file lock, with the bootstrap script ``index.js``
   (plain JS; port and database file from the environment, telemetry off);
2. ``ensure_template``: a fresh database seeded once over the Admin API (a tax category,
   country ``DE``, zone, 19 % tax rate, the channel in EUR with that zone, product variant
   ``SKU-TSHIRT-BLUE`` at 19.99 with 10 in the ``Default Stock Location``) and kept as
   ``template.sqlite``;
3. ``VendureServer``: a copy of the template in a temporary folder, served on a free port;
   ``stop`` ends its process group.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import requests

from tests.support import free_port
from tests.tryton.server import _locked

VERSION = "3.7.3"
PACKAGES = [f"@vendure/core@{VERSION}", "sql.js@1.16.0"]
ADMIN_USER = "superadmin"
ADMIN_PASSWORD = "superadmin"
SKU = "SKU-TSHIRT-BLUE"
INITIAL_STOCK = 10
PRICE_MINOR = 1999
CURRENCY = "EUR"
LOCATION = "1"
"""The ``Default Stock Location`` every Vendure database starts with."""

INDEX_JS = """
const { bootstrap, DefaultJobQueuePlugin, dummyPaymentHandler } = require('@vendure/core');
bootstrap({
  apiOptions: { port: Number(process.env.VENDURE_PORT), hostname: '127.0.0.1',
    adminApiPath: 'admin-api', shopApiPath: 'shop-api' },
  authOptions: { tokenMethod: ['bearer', 'cookie'],
    superadminCredentials: { identifier: 'superadmin', password: 'superadmin' },
    cookieOptions: { secret: 'local-test-secret' } },
  dbConnectionOptions: { type: 'sqljs', synchronize: true, logging: false,
    location: process.env.VENDURE_DB, autoSave: true },
  paymentOptions: { paymentMethodHandlers: [dummyPaymentHandler] },
  plugins: [DefaultJobQueuePlugin],
}).then(() => console.log('VENDURE_READY'))
  .catch((err) => { console.error(err); process.exit(1); });
"""


class InstallUnavailable(RuntimeError):
    """Vendure could not be installed (no Node/npm, or no reachable npm registry)."""


def cache_dir() -> Path:
    base = os.environ.get("BRIQUE_E2E_CACHE") or str(Path.home() / ".cache" / "brique-e2e")
    return Path(base) / f"vendure-{VERSION}"


def ensure_install(cache: Path | None = None) -> Path:
    """The folder with ``node_modules`` and ``index.js``, installed once; returns it."""
    cache = cache or cache_dir()
    app = cache / "app"
    marker = cache / "installed.txt"
    wanted = " ".join(PACKAGES)
    with _locked(cache / "install.lock"):
        if (
            marker.exists()
            and marker.read_text() == wanted
            and (app / "node_modules" / "@vendure" / "core").is_dir()
        ):
            (app / "index.js").write_text(INDEX_JS)
            return app
        npm, node = shutil.which("npm"), shutil.which("node")
        if npm is None or node is None:
            raise InstallUnavailable("node and npm are not installed")
        shutil.rmtree(app, ignore_errors=True)
        app.mkdir(parents=True)
        (app / "package.json").write_text(
            '{"name": "brique-vendure-e2e", "version": "0.0.1", "private": true}\n'
        )
        try:
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", *PACKAGES],
                cwd=app,
                capture_output=True,
                text=True,
                timeout=900,
            )
        except subprocess.TimeoutExpired:
            shutil.rmtree(app, ignore_errors=True)
            raise InstallUnavailable("npm install did not finish in 900 s") from None
        if done.returncode != 0:
            shutil.rmtree(app, ignore_errors=True)
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise InstallUnavailable(
                f"npm could not install {wanted} (no reachable registry?): " + " | ".join(tail)
            )
        (app / "index.js").write_text(INDEX_JS)
        marker.write_text(wanted)
    return app


class VendureServer:
    """``node index.js`` over a database file in ``folder`` (a copy of ``template``)."""

    def __init__(self, app: Path, folder: Path, port: int, template: Path | None = None) -> None:
        self.app, self.folder, self.port = app, folder, port
        folder.mkdir(parents=True, exist_ok=True)
        self.database = folder / "vendure.sqlite"
        if template is not None:
            shutil.copyfile(template, self.database)
        self.log = folder / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._token: str | None = None

    @property
    def admin_api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/admin-api"

    def start(self, timeout: float = 90.0) -> None:
        env = {
            **os.environ,
            "VENDURE_PORT": str(self.port),
            "VENDURE_DB": str(self.database),
            "VENDURE_DISABLE_TELEMETRY": "true",
        }
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [shutil.which("node") or "node", str(self.app / "index.js")],
                cwd=self.app,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vendure exited: {self.log.read_text()[-2000:]}")
            if "VENDURE_READY" in self.log.read_text(errors="replace"):
                return
            time.sleep(0.1)
        raise RuntimeError(f"vendure did not start in {timeout}s: {self.log.read_text()[-2000:]}")

    def settle(self, quiet: float = 1.5, timeout: float = 30.0) -> None:
        """Wait until sql.js has written the database file (``autoSave`` writes it
        asynchronously after each change; a kill during a write leaves it truncated)."""
        deadline = time.monotonic() + timeout
        last: tuple[float, int] | None = None
        since = time.monotonic()
        while time.monotonic() < deadline:
            stat = self.database.stat() if self.database.exists() else None
            now = (stat.st_mtime, stat.st_size) if stat else (0.0, 0)
            if now != last:
                last, since = now, time.monotonic()
            elif now[1] > 0 and time.monotonic() - since >= quiet:
                return
            time.sleep(0.1)
        raise RuntimeError(f"vendure did not write {self.database} in {timeout}s")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None

    # -- the Admin API, as the test reads the shop back -----------------------------------

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        if self._token is None:
            response = requests.post(
                self.admin_api_url,
                json={
                    "query": "mutation($u: String!, $p: String!) { login(username: $u, "
                    "password: $p) { __typename } }",
                    "variables": {"u": ADMIN_USER, "p": ADMIN_PASSWORD},
                },
                timeout=(3.05, 30),
            )
            response.raise_for_status()
            self._token = response.headers["vendure-auth-token"]
        response = requests.post(
            self.admin_api_url,
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self._token}"},
            timeout=(3.05, 30),
        )
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise RuntimeError(f"vendure: {body['errors']}")
        return body["data"]

    def stock(self, sku: str = SKU, location: str = LOCATION) -> int:
        data = self.gql(
            "query($s: String!) { productVariants(options: {filter: {sku: {eq: $s}}}) "
            "{ items { sku stockOnHand stockLevels { stockLocationId stockOnHand } } } }",
            {"s": sku},
        )
        (item,) = data["productVariants"]["items"]
        levels = {lv["stockLocationId"]: lv["stockOnHand"] for lv in item["stockLevels"]}
        return int(levels[location])


def seed(server: VendureServer) -> None:
    """PLATFORMS.md 3.1: a fresh database has no tax zone; variant creation needs one."""
    gql = server.gql
    category = gql(
        'mutation { createTaxCategory(input: {name: "Standard", isDefault: true}) { id } }'
    )["createTaxCategory"]["id"]
    country = gql(
        'mutation { createCountry(input: {code: "DE", enabled: true, '
        'translations: [{languageCode: en, name: "Germany"}]}) { id } }'
    )["createCountry"]["id"]
    zone = gql(
        'mutation($m: [ID!]) { createZone(input: {name: "Europe", memberIds: $m}) { id } }',
        {"m": [country]},
    )["createZone"]["id"]
    gql(
        'mutation($c: ID!, $z: ID!) { createTaxRate(input: {name: "Standard DE", '
        "enabled: true, value: 19, categoryId: $c, zoneId: $z}) { id } }",
        {"c": category, "z": zone},
    )
    channel = gql(
        'mutation($z: ID!) { updateChannel(input: {id: "1", defaultTaxZoneId: $z, '
        "defaultShippingZoneId: $z, defaultCurrencyCode: EUR, availableCurrencyCodes: [EUR]}) "
        "{ __typename } }",
        {"z": zone},
    )
    assert channel["updateChannel"]["__typename"] == "Channel", channel
    product = gql(
        "mutation { createProduct(input: {enabled: true, translations: [{languageCode: en, "
        'name: "T-shirt blue", slug: "t-shirt-blue", description: "test"}]}) { id } }'
    )["createProduct"]["id"]
    (variant,) = gql(
        "mutation($p: ID!, $s: String!, $price: Money!, $n: Int!) { createProductVariants("
        "input: [{productId: $p, sku: $s, price: $price, stockOnHand: $n, trackInventory: TRUE, "
        'translations: [{languageCode: en, name: "T-shirt blue"}], optionIds: []}]) '
        "{ id sku stockLevels { stockLocationId stockOnHand } } }",
        {"p": product, "s": SKU, "price": PRICE_MINOR, "n": INITIAL_STOCK},
    )["createProductVariants"]
    assert variant["stockLevels"] == [
        {"stockLocationId": LOCATION, "stockOnHand": INITIAL_STOCK}
    ], variant


def ensure_template(app: Path, cache: Path | None = None) -> Path:
    """The seeded database, made once (a few seconds) and copied for every server."""
    cache = cache or cache_dir()
    template = cache / "template.sqlite"
    with _locked(cache / "template.lock"):
        if template.exists():
            return template
        work = cache / "building"
        shutil.rmtree(work, ignore_errors=True)
        server = VendureServer(app, work, free_port())
        try:
            server.start()
            seed(server)
            server.settle()
        finally:
            server.stop()
        partial = template.with_suffix(".partial")
        shutil.copyfile(server.database, partial)
        partial.rename(template)
        shutil.rmtree(work, ignore_errors=True)
    return template
