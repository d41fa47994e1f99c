"""A real Django Oscar 4.2 + django-oscar-api 3.3 shop on 127.0.0.1, for the e2e tests.

Follows section 3.2 of PLATFORMS.md ("Django Oscar + django-oscar-api: exact steps that
worked"), the way ``tests.tryton.server`` runs Tryton:

1. ``ensure_install``: a venv with ``django-oscar==4.2.1`` and ``django-oscar-api==3.3.0`` in
   a cache folder outside the checkout (``$BRIQUE_E2E_CACHE`` or ``~/.cache/brique-e2e``,
   sub-folder ``oscar-4.2.1``), made once under a file lock;
2. ``ensure_template``: the Django project (``shop/settings.py``, ``shop/urls.py``; the admin
   API unblocked with ``OSCARAPI_BLOCK_ADMIN_API_ACCESS = False``; anonymous checkout allowed;
   the connector's shop-side views ``connectors/oscar/shop_views.py`` installed as
   ``brique_oscar.py`` at ``/api/admin/baskets/[<id>/]`` and ``/basket/resume/``), migrated and
   seeded once
   (superuser ``admin``/``admin``, a product class tracking stock, product ``upc``
   ``SKU-TSHIRT-BLUE``, partner ``store-1``, its stock record: 10 units at 19.99 EUR, and a
   sample order ``100001`` of 1 unit) and kept as ``template.sqlite``;
3. ``OscarServer``: a copy of the template in a temporary folder, served by ``manage.py
   runserver --noreload`` on a free port; ``stop`` ends its process group.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.tryton.server import _locked, _snapshot

VERSION = "4.2.1"
REQUIREMENTS = [f"django-oscar=={VERSION}", "django-oscar-api==3.3.0"]
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"
SKU = "SKU-TSHIRT-BLUE"
PARTNER = "store-1"
INITIAL_STOCK = 10
PRICE = "19.99"
CURRENCY = "EUR"
STOCKRECORD_ID = 1
SHOP_VIEWS = Path(__file__).resolve().parents[2] / "connectors" / "oscar" / "shop_views.py"
"""The shop-side views of the Oscar connector (basket changes, basket resume link)."""


class InstallUnavailable(RuntimeError):
    """The Oscar packages could not be installed (no reachable package index)."""


def cache_dir() -> Path:
    base = os.environ.get("BRIQUE_E2E_CACHE") or str(Path.home() / ".cache" / "brique-e2e")
    return Path(base) / f"oscar-{VERSION}"


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_install(cache: Path | None = None) -> Path:
    """The venv with Django Oscar and oscar-api, installed once; returns its folder."""
    cache = cache or cache_dir()
    venv = cache / "venv"
    marker = cache / "installed.txt"
    wanted = " ".join(REQUIREMENTS)
    with _locked(cache / "install.lock"):
        if marker.exists() and marker.read_text() == wanted and _python(venv).exists():
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        done = subprocess.run(
            [str(_python(venv)), "-m", "pip", "install", "-q", *REQUIREMENTS],
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


SETTINGS = '''
"""Django Oscar + oscar-api for Brique's e2e tests (PLATFORMS.md section 3.2)."""
import os

from oscar.defaults import *  # noqa: F403

BASE_DIR = os.path.dirname(os.path.abspath(__file__))
SECRET_KEY = "brique-e2e-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SITE_ID = 1
ROOT_URLCONF = "shop.urls"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("OSCAR_DB", os.path.join(BASE_DIR, "..", "db.sqlite3")),
    }
}
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.flatpages",
    "oscar.config.Shop",
    "oscar.apps.analytics.apps.AnalyticsConfig",
    "oscar.apps.checkout.apps.CheckoutConfig",
    "oscar.apps.address.apps.AddressConfig",
    "oscar.apps.shipping.apps.ShippingConfig",
    "oscar.apps.catalogue.apps.CatalogueConfig",
    "oscar.apps.catalogue.reviews.apps.CatalogueReviewsConfig",
    "oscar.apps.communication.apps.CommunicationConfig",
    "oscar.apps.partner.apps.PartnerConfig",
    "oscar.apps.basket.apps.BasketConfig",
    "oscar.apps.payment.apps.PaymentConfig",
    "oscar.apps.offer.apps.OfferConfig",
    "oscar.apps.order.apps.OrderConfig",
    "oscar.apps.customer.apps.CustomerConfig",
    "oscar.apps.search.apps.SearchConfig",
    "oscar.apps.voucher.apps.VoucherConfig",
    "oscar.apps.wishlists.apps.WishlistsConfig",
    "oscar.apps.dashboard.apps.DashboardConfig",
    "oscar.apps.dashboard.reports.apps.ReportsDashboardConfig",
    "oscar.apps.dashboard.users.apps.UsersDashboardConfig",
    "oscar.apps.dashboard.orders.apps.OrdersDashboardConfig",
    "oscar.apps.dashboard.catalogue.apps.CatalogueDashboardConfig",
    "oscar.apps.dashboard.offers.apps.OffersDashboardConfig",
    "oscar.apps.dashboard.partners.apps.PartnersDashboardConfig",
    "oscar.apps.dashboard.pages.apps.PagesDashboardConfig",
    "oscar.apps.dashboard.ranges.apps.RangesDashboardConfig",
    "oscar.apps.dashboard.reviews.apps.ReviewsDashboardConfig",
    "oscar.apps.dashboard.vouchers.apps.VouchersDashboardConfig",
    "oscar.apps.dashboard.communications.apps.CommunicationsDashboardConfig",
    "oscar.apps.dashboard.shipping.apps.ShippingDashboardConfig",
    "widget_tweaks",
    "haystack",
    "treebeard",
    "django_tables2",
    "rest_framework",
    "oscarapi",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "oscar.apps.basket.middleware.BasketMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
HAYSTACK_CONNECTIONS = {"default": {"ENGINE": "haystack.backends.simple_backend.SimpleEngine"}}
STATIC_URL = "/static/"
OSCAR_DEFAULT_CURRENCY = "EUR"
OSCARAPI_BLOCK_ADMIN_API_ACCESS = False
OSCAR_ALLOW_ANON_CHECKOUT = True
REST_FRAMEWORK = {
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
'''

URLS = """
from django.apps import apps
from django.urls import include, path

from brique_oscar import BasketChanges, BasketClose, resume_basket

urlpatterns = [
    path("api/admin/baskets/", BasketChanges.as_view(), name="brique-basket-changes"),
    path("api/admin/baskets/<int:pk>/", BasketClose.as_view(), name="brique-basket-close"),
    path("basket/resume/", resume_basket, name="brique-basket-resume"),
    path("api/", include("oscarapi.urls")),
    path("", include(apps.get_app_config("oscar").urls[0])),
]
"""

SEED = '''
"""Superuser, product class, product, partner, stock record, one sample order."""
import sys
from decimal import Decimal

import django

django.setup()

from django.contrib.auth import get_user_model
from oscar.core.loading import get_model
from oscar.apps.partner.strategy import Default
from oscar.test.factories import create_order

Basket = get_model("basket", "Basket")
ProductClass = get_model("catalogue", "ProductClass")
Product = get_model("catalogue", "Product")
Partner = get_model("partner", "Partner")
StockRecord = get_model("partner", "StockRecord")

sku, partner_code, stock, price, currency = sys.argv[1:6]
get_user_model().objects.create_superuser("admin", "admin@example.com", "admin")
kind = ProductClass.objects.create(name="T-shirts", track_stock=True)
product = Product.objects.create(
    product_class=kind, title="T-shirt blue", upc=sku, structure="standalone"
)
partner = Partner.objects.create(name="Store 1", code=partner_code)
record = StockRecord.objects.create(
    product=product,
    partner=partner,
    partner_sku=sku,
    price_currency=currency,
    price=Decimal(price),
    num_in_stock=int(stock),
)
basket = Basket.objects.create()
basket.strategy = Default()
basket.add_product(product, 1)
order = create_order(number="100001", basket=basket, guest_email="jane@example.com")
record.refresh_from_db()
record.num_in_stock = int(stock)  # the sample order must not move the e2e stock
record.num_allocated = 0
record.save()
print("seeded", product.id, record.id, order.id)
'''


def write_project(folder: Path) -> Path:
    """The Django project (``manage.py`` and the ``shop`` package) in ``folder``."""
    shop = folder / "shop"
    shop.mkdir(parents=True, exist_ok=True)
    (shop / "__init__.py").write_text("")
    (shop / "settings.py").write_text(SETTINGS)
    (shop / "urls.py").write_text(URLS)
    # The views a shop adds for Brique's baskets, as shipped with the connector.
    shutil.copyfile(SHOP_VIEWS, folder / "brique_oscar.py")
    (folder / "seed.py").write_text(SEED)
    return folder


def _env(folder: Path, database: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "shop.settings",
        "PYTHONPATH": str(folder),
        "OSCAR_DB": str(database),
    }


def ensure_template(venv: Path, cache: Path | None = None) -> Path:
    """The migrated and seeded database, made once (about 15 s) and copied per server."""
    cache = cache or cache_dir()
    template = cache / "template.sqlite"
    with _locked(cache / "template.lock"):
        if template.exists():
            return template
        work = cache / "building"
        shutil.rmtree(work, ignore_errors=True)
        write_project(work)
        database = work / "db.sqlite3"
        env = _env(work, database)
        for args in (
            ["-m", "django", "migrate", "--noinput"],
            [
                str(work / "seed.py"),
                SKU,
                PARTNER,
                str(INITIAL_STOCK),
                PRICE,
                CURRENCY,
            ],
        ):
            done = subprocess.run(
                [str(_python(venv)), *args],
                env=env,
                cwd=work,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if done.returncode != 0:
                raise RuntimeError(f"oscar set-up {args[:3]} failed: {done.stderr[-2000:]}")
        _snapshot(database, template)
        shutil.rmtree(work, ignore_errors=True)
    return template


class OscarServer:
    """``manage.py runserver --noreload`` over a fresh copy of the template database."""

    def __init__(self, venv: Path, template: Path, folder: Path, port: int) -> None:
        self.venv, self.folder, self.port = venv, folder, port
        write_project(folder)
        self.database = folder / "db.sqlite3"
        shutil.copyfile(template, self.database)
        self.log = folder / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    str(_python(self.venv)),
                    "-m",
                    "django",
                    "runserver",
                    f"127.0.0.1:{self.port}",
                    "--noreload",
                    "--nothreading",
                ],
                cwd=self.folder,
                env=_env(self.folder, self.database),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"runserver exited: {self.log.read_text()[-2000:]}")
            try:
                requests.get(f"{self.url}/api/", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"Oscar did not answer in {timeout}s: {self.log.read_text()[-2000:]}")

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

    def get(self, path: str) -> requests.Response:
        """An admin-authenticated GET, as the test reads the shop back."""
        return requests.get(
            f"{self.url}{path}", auth=(ADMIN_USER, ADMIN_PASSWORD), timeout=(3.05, 30)
        )
