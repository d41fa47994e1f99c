"""A real Tryton POS (trytond 8.2 + ``sale_point``) on 127.0.0.1, for the e2e tests.

Follows section 5 of PLATFORMS.md ("Tryton POS as a real local POS, verified here"):

1. ``ensure_install``: a venv with ``trytond-sale-point==8.2.*`` and ``proteus==8.2.*`` in a
   cache folder outside the checkout (``$BRIQUE_E2E_CACHE`` or ``~/.cache/brique-e2e``,
   sub-folder ``tryton-8.2``), made once under a file lock so parallel runs do not race;
2. ``ensure_template``: a SQLite database with the modules activated and a sale point set up
   by a proteus script (company, chart, fiscal year, tax, product ``SKU-TSHIRT-BLUE`` with 10
   in the storage location, sale point with return location = storage, cash method), made
   once and kept as ``template.sqlite``;
3. ``TrytonServer``: a copy of the template in a temporary folder, served by ``trytond`` on
   a free port; ``stop`` ends its process group.

``InstallUnavailable`` says why the install could not happen (no package index here).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from connectors.tryton.rpc import TrytonRpc

SERIES = "8.2"
REQUIREMENTS = [f"trytond-sale-point=={SERIES}.*", f"proteus=={SERIES}.*"]
DATABASE = "pos"
ADMIN_PASSWORD = "admin"
SKU = "SKU-TSHIRT-BLUE"
INITIAL_STOCK = 10
GROSS_PRICE = Decimal("12.0000")
LIST_PRICE = Decimal("9.9174")


class InstallUnavailable(RuntimeError):
    """The Tryton packages could not be installed (no reachable package index)."""


def cache_dir() -> Path:
    base = os.environ.get("BRIQUE_E2E_CACHE") or str(Path.home() / ".cache" / "brique-e2e")
    return Path(base) / f"tryton-{SERIES}"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _bin(venv: Path, name: str) -> Path:
    return venv / "bin" / name


def ensure_install(cache: Path | None = None) -> Path:
    """The venv with trytond and proteus, installed once; returns its folder."""
    cache = cache or cache_dir()
    venv = cache / "venv"
    marker = cache / "installed.txt"
    wanted = " ".join(REQUIREMENTS)
    with _locked(cache / "install.lock"):
        if marker.exists() and marker.read_text() == wanted and _bin(venv, "trytond").exists():
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        done = subprocess.run(
            [str(_bin(venv, "python")), "-m", "pip", "install", "-q", *REQUIREMENTS],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise InstallUnavailable(
                f"pip could not install {wanted} (no reachable package index?): " + " | ".join(tail)
            )
        marker.write_text(wanted)
    return venv


def _config(folder: Path, port: int | None = None) -> Path:
    conf = folder / "trytond.conf"
    conf.write_text(
        "[database]\n"
        "uri = sqlite://\n"
        f"path = {folder}\n"
        "[web]\n"
        f"listen = 127.0.0.1:{port or 8000}\n"
        "[session]\n"
        "max_age = 86400\n"
        "timeout = 3600\n"
    )
    return conf


SETUP_SCRIPT = '''
"""Company, chart, fiscal year, tax, product, stock and sale point (PLATFORMS.md section 5)."""
import sys
from decimal import Decimal

from proteus import Model, config as pconfig

pconfig.set_trytond(database=sys.argv[1], config_file=sys.argv[2])

from trytond.modules.account.tests.tools import (
    create_chart, create_fiscalyear, create_tax, get_accounts)
from trytond.modules.account_invoice.tests.tools import set_fiscalyear_invoice_sequences
from trytond.modules.company.tests.tools import create_company
from trytond.modules.currency.tests.tools import get_currency

create_company(currency=get_currency("EUR"))
create_chart()
fiscalyear = set_fiscalyear_invoice_sequences(create_fiscalyear())
fiscalyear.click("create_period")
accounts = get_accounts()
tax = create_tax(Decimal(".21"))
tax.save()

ProductCategory = Model.get("product.category")
category = ProductCategory(name="Account Category")
category.accounting = True
category.account_revenue = accounts["revenue"]
category.customer_taxes.append(tax)
category.save()

unit, = Model.get("product.uom").find([("name", "=", "Unit")])
template = Model.get("product.template")()
template.name = "T-shirt blue"
template.default_uom = unit
template.type = "goods"
template.salable = True
template.account_category = category
template.gross_price = Decimal("12.0000")
template.save()
product, = template.products
product.suffix_code = sys.argv[3]
product.save()

Location = Model.get("stock.location")
storage, = Location.find([("code", "=", "STO")])
customer, = Location.find([("code", "=", "CUS")])

journal, = Model.get("account.journal").find([("type", "=", "revenue")], limit=1)
pos = Model.get("sale.point")(name="Store 1")
pos.journal = journal
pos.sequence = Model.get("ir.sequence.strict")(name="POS", company=pos.company)
pos.sequence.sequence_type, = Model.get("ir.sequence.type").find(
    [("name", "=", "POS")], limit=1)
pos.sequence.save()
pos.storage_location = storage
pos.return_location = storage      # gotcha 5: else returns go to IN, not STO
pos.customer_location = customer
pos.save()

method = Model.get("sale.point.payment.method")(name="Cash")
method.account = accounts["cash"]
method.cash = True                 # gotcha 7: refunds need a cash method
method.save()

inventory = Model.get("stock.inventory")(location=storage)
line = inventory.lines.new()
line.product = product
line.quantity = float(sys.argv[4])
inventory.save()
inventory.click("confirm")
print("setup done", pos.id, product.id, method.id)
'''


def ensure_template(venv: Path, cache: Path | None = None) -> Path:
    """The set-up database, made once (about 25 s) and copied for every server."""
    cache = cache or cache_dir()
    template = cache / "template.sqlite"
    with _locked(cache / "template.lock"):
        if template.exists():
            return template
        work = cache / "building"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        conf = _config(work)
        (work / f"{DATABASE}.sqlite").touch()  # gotcha 2: the SQLite file must exist
        passfile = work / "passfile"
        passfile.write_text(ADMIN_PASSWORD + "\n")
        env = {**os.environ, "TRYTONPASSFILE": str(passfile)}
        admin = str(_bin(venv, "trytond-admin"))
        for args in (
            ["--all", "--email", "admin@example.com"],
            ["-u", "sale_point", "--activate-dependencies"],
        ):
            subprocess.run(
                [admin, "-c", str(conf), "-d", DATABASE, *args],
                check=True,
                env=env,
                cwd=work,
                capture_output=True,
                timeout=600,
            )
        script = work / "setup_pos.py"
        script.write_text(SETUP_SCRIPT)
        subprocess.run(
            [str(_bin(venv, "python")), str(script), DATABASE, str(conf), SKU, str(INITIAL_STOCK)],
            check=True,
            env=env,
            cwd=work,
            capture_output=True,
            timeout=600,
        )
        _snapshot(work / f"{DATABASE}.sqlite", template)
        shutil.rmtree(work, ignore_errors=True)
    return template


def _snapshot(source: Path, target: Path) -> None:
    """Copy a WAL-mode SQLite database through the backup API (gotcha 2)."""
    import sqlite3

    partial = target.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(partial)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    partial.rename(target)


class TrytonServer:
    """``trytond`` serving a fresh copy of the template database on a free port."""

    def __init__(self, venv: Path, template: Path, folder: Path, port: int) -> None:
        self.venv, self.folder, self.port = venv, folder, port
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, folder / f"{DATABASE}.sqlite")
        self.conf = _config(folder, port)
        self.log = folder / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(_bin(self.venv, "trytond")), "-c", str(self.conf), "-d", DATABASE, "-v"],
                cwd=self.folder,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        import requests

        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"trytond exited: {self.log.read_text()[-2000:]}")
            try:
                requests.post(f"{self.url}/{DATABASE}/rpc/", json={}, timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"trytond did not answer in {timeout}s: {self.log.read_text()[-2000:]}")

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

    def client(self) -> TrytonTill:
        return TrytonTill(self.url)


def serve(folder: Path, label: str = "tryton set-up") -> Iterator[TrytonServer]:
    """Install and set up once (cached), serve a fresh copy of the database on a free port
    in ``folder``, and stop it whatever happens: the body of every test's Tryton fixture.

    A machine that cannot install skips with the reason; with ``CI=true`` it fails."""
    from tests.support import free_port, need

    started = time.monotonic()
    try:
        venv = ensure_install()
    except InstallUnavailable as exc:
        need(False, f"Tryton 8.2 cannot be installed here: {exc}")
        raise
    template = ensure_template(venv)
    server = TrytonServer(venv, template, folder, free_port())
    try:
        server.start()
        print(f"\n{label}: {time.monotonic() - started:.1f}s")
        yield server
    finally:
        server.stop()


class TrytonTill:
    """The till side, over JSON-RPC only (PLATFORMS.md "Writes used"): ring up sales."""

    def __init__(self, url: str) -> None:
        self.rpc = TrytonRpc(
            url,
            DATABASE,
            "admin",
            SecretStr(ADMIN_PASSWORD),
            timeout=(3.05, 60.0),
            user_agent="brique-e2e-till",
        )

    def close(self) -> None:
        self.rpc.close()

    def one(self, model: str, domain: list[Any]) -> int:
        (row,) = self.rpc.search_read(model, domain, ["id"])
        return int(row["id"])

    def sale(self, quantity: int, sku: str = SKU) -> dict[str, Any]:
        """Ring up ``quantity`` (negative: a return), pay it cash, process and post it."""
        point = self.one("sale.point", [])
        product = self.one("product.product", [["code", "=", sku]])
        method = self.one("sale.point.payment.method", [["cash", "=", True]])
        line = {
            "product": product,
            "quantity": quantity,
            "unit_gross_price": GROSS_PRICE,
            "unit_list_price": LIST_PRICE,
        }
        (sale_id,) = self.rpc.call(
            "sale.point.sale", "create", [[{"point": point, "lines": [["create", [line]]]}]]
        )
        (sale,) = self.rpc.call("sale.point.sale", "read", [[sale_id], ["total"]])
        self.rpc.call(
            "sale.point.payment",
            "create",
            [[{"sale": sale_id, "method": method, "amount": sale["total"]}]],
        )
        self.rpc.call("sale.point.sale", "process", [[sale_id]])
        self.rpc.call("sale.point.sale", "post", [[sale_id]])
        (sale,) = self.rpc.call(
            "sale.point.sale", "read", [[sale_id], ["number", "state", "total"]]
        )
        if sale["state"] != "posted":
            raise AssertionError(f"POS sale {sale_id} is {sale['state']}, not posted")
        return sale

    def stock(self, sku: str = SKU) -> Decimal:
        storage = self.rpc.search_read("sale.point", [], ["storage_location"])[0]
        (row,) = self.rpc.search_read(
            "product.product",
            [["code", "=", sku]],
            ["quantity"],
            context={"locations": [storage["storage_location"]]},
        )
        return Decimal(str(row["quantity"]))
