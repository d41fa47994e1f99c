"""Shopify push: API calls and wall time for a 1% stock change, against a naive script.

A catalogue of 10,000 SKUs (1,000 with ``--quick``) at one location, published to the
Shopify sandbox (``connectors.shopify.sandbox``) started as ``brique sandbox shopify`` starts
it: a subprocess on a free port, real HTTP, Shopify's calculated-cost bucket of 2,000 points
refilled at 100 points/s (the Standard plan's). Every figure about calls, throttled answers
and points comes from the sandbox's own accounting (``GET /sandbox/stats``).

Brique runs its use-cases directly: a ``Runtime`` on a fresh SQLite database (the embedded
default) with a real ``shopify`` connection, and a dispatcher that runs stock pushes in this
process instead of a worker. First the counted stock of every SKU is imported and pushed:
that is the *large push*, where what matters is how much of the shop's throttle budget Brique
uses (points the sandbox charged / points the bucket could have paid during the push) with
not one throttled request. Then 1% of the SKUs are recounted and pushed: calls and wall time
from the count file (the 1% recounted, a cycle count) to the shop holding the new levels.

The baseline, measured in the same run against a fresh sandbox with a full bucket, is the
script people write first: read the stock file and send one ``inventorySetQuantities`` per
SKU, for every SKU, since it does not know what changed; on ``THROTTLED`` it sleeps as the
answer's cost says and retries. It is given the SKU -> inventory item table for free (no
look-ups). Past the bucket's burst it runs at the refill rate (a call costs 11 points, so
about 9 calls/s): 10,000 SKUs would take some 18 minutes, so it is stopped once it has
written ``NAIVE_TAIL`` SKUs at that steady pace and the rest is extrapolated from the pace
it measured (the report says ``extrapolated`` and from how many SKUs).
"""

from __future__ import annotations

import csv
import json
import logging
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from benchmarks.report import note, table

REPO = Path(__file__).resolve().parent.parent

SKUS = 10_000
QUICK_SKUS = 1_000
CHANGED_SHARE = 0.01
NAIVE_TAIL = 300
"""Throttled-pace SKUs the naive script writes before it is stopped and extrapolated."""
QUICK_NAIVE_TAIL = 30
IDLE_SHARE = 0.1
"""Before the 1% change the shop idles until its bucket holds this share of its capacity."""
CONNECTION = "webshop"
STORE = "STORE-01"
LOCATION = "gid://shopify/Location/1001"
TOKEN = "bench-admin-token"
API_VERSION = "2026-01"
NAIVE_MUTATION = """
mutation NaiveSetOne($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) { userErrors { field message } }
}
"""


def sku_of(n: int) -> str:
    return f"SKU-{n:05d}"


def item_of(n: int) -> str:
    return f"gid://shopify/InventoryItem/{100_000 + n}"


def shop_seed(count: int) -> dict[str, Any]:
    """``count`` variants (SKU -> inventory item) at one location, every level at 0."""
    return {
        "shop": {"name": "bench shop", "currency": "EUR"},
        "locations": [{"id": LOCATION, "name": "Web warehouse"}],
        "variants": [{"sku": sku_of(n), "inventory_item": item_of(n)} for n in range(count)],
        "levels": [],
    }


def stock(count: int, seed: int = 20240601) -> tuple[dict[str, int], dict[str, int]]:
    """The counted stock of ``count`` SKUs, and the recount of 1% of them (new quantities)."""
    rng = random.Random(seed)
    counted = {sku_of(n): rng.randrange(0, 60) for n in range(count)}
    changed = {}
    for sku in sorted(rng.sample(sorted(counted), max(1, round(count * CHANGED_SHARE)))):
        changed[sku] = (counted[sku] + rng.randrange(1, 30)) % 60
    return counted, changed


def write_counts(path: Path, quantities: dict[str, int]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sku", "location", "quantity"])
        writer.writerows((sku, STORE, quantity) for sku, quantity in quantities.items())
    return path


def read_counts(path: Path) -> list[tuple[str, int]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [(row["sku"], int(row["quantity"])) for row in csv.DictReader(fh)]


# --- the sandbox, as a subprocess ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sandbox:
    """``brique sandbox shopify`` on a free port, seeded with ``count`` variants; stopped on
    exit (only this process, by its handle)."""

    def __init__(self, folder: Path, count: int) -> None:
        self.folder = folder
        self.count = count
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.http = requests.Session()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = folder / f"sandbox-{self.port}.log"

    def __enter__(self) -> Sandbox:
        seed = self.folder / f"seed-{self.count}.json"
        seed.write_text(json.dumps(shop_seed(self.count)), encoding="utf-8")
        command = [sys.executable, "-m", "workers.cli", "sandbox", "shopify"]
        command += ["--port", str(self.port), "--seed", str(seed), "--access-token", TOKEN]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.stats()
                return self
            except requests.RequestException:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    tail = self.log.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"the Shopify sandbox did not start:\n{tail}") from None
                time.sleep(0.1)

    def __exit__(self, *_: object) -> None:
        self.http.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def stats(self) -> dict[str, Any]:
        answer = self.http.get(f"{self.url}/sandbox/stats", timeout=10)
        answer.raise_for_status()
        return answer.json()

    def levels(self) -> dict[str, int]:
        answer = self.http.get(f"{self.url}/sandbox/levels", timeout=60)
        answer.raise_for_status()
        return {
            row["sku"]: row["available"] for row in answer.json() if row["location"] == LOCATION
        }


def counters(sandbox: Sandbox) -> dict[str, Any]:
    """The sandbox's counters and bucket level (its ``/sandbox/stats``), and when."""
    stats = sandbox.stats()
    at = time.perf_counter()
    status = stats["throttle_status"]
    return {
        **{k: v for k, v in stats.items() if isinstance(v, int)},
        "bucket": status["currentlyAvailable"],
        "restore_rate": status["restoreRate"],
        "maximum": status["maximumAvailable"],
        "at": at,
    }


def spent(before: dict[str, Any], after: dict[str, Any], seconds: float) -> dict[str, Any]:
    """What the sandbox saw between two ``counters`` around ``seconds`` of work: calls,
    throttled answers, points charged, and the share of the budget those points were (the
    bucket's level at the start plus its refill during the work)."""
    available = before["bucket"] + before["restore_rate"] * seconds
    points = after["cost_used"] - before["cost_used"]
    return {
        "calls": after["requests"] - before["requests"],
        "throttled": after["throttled"] - before["throttled"],
        "mutations": after["mutations"] - before["mutations"],
        "levels_written": after["writes_applied"] - before["writes_applied"],
        "points_used": points,
        "bucket_at_start": before["bucket"],
        "points_available": available,
        "budget_share": points / available if available else 0.0,
    }


def check_levels(sandbox: Sandbox, expected: dict[str, int], what: str) -> None:
    held = sandbox.levels()
    wrong = [sku for sku, quantity in expected.items() if held.get(sku) != quantity]
    if wrong:
        sku = wrong[0]
        raise RuntimeError(
            f"{what}: {len(wrong)} SKUs wrong on the shop, e.g. {sku} holds {held.get(sku)}, "
            f"expected {expected[sku]}"
        )


def idle(sandbox: Sandbox, share: float) -> float:
    """Wait until the shop's bucket holds ``share`` of its capacity; returns seconds waited."""
    now = counters(sandbox)
    missing = share * now["maximum"] - now["bucket"]
    wait = missing / now["restore_rate"] + 0.05 if missing > 0 else 0.0
    time.sleep(wait)
    return wait


# --- Brique --------------------------------------------------------------------------------


class InlinePushes:
    """A dispatcher that runs stock pushes in this process when ``run`` is called.

    ``import_counts`` asks for a push after its commit; a worker would run it after the
    coalescing delay. Here it runs when the benchmark says, so the import and the push are
    timed apart. Nothing else is dispatched by what this benchmark calls.
    """

    def __init__(self) -> None:
        self.rt: Any = None
        self.pending: list[str] = []
        self.pushes = 0

    def push_stock(self, connection: str, delay: float = 0.0) -> None:
        if connection not in self.pending:
            self.pending.append(connection)

    def process_inbox(self, connection: str, inbox_ids: Sequence[int]) -> None:
        raise RuntimeError("not expected in this benchmark")

    def push_prices(self, connection: str, delay: float = 0.0) -> None:
        raise RuntimeError("not expected in this benchmark")

    def send_outbox(self, connection: str, outbox_id: int, delay: float = 0.0) -> None:
        raise RuntimeError("not expected in this benchmark")

    def run(self) -> None:
        from bridge.sync import push_stock

        while self.pending:
            self.pushes += 1
            push_stock.push(self.rt, self.pending.pop(0))


def brique_runtime(root: Path, shop_url: str) -> tuple[Any, InlinePushes]:
    from bridge.settings import ConnectionSettings, Settings
    from bridge.store import db
    from bridge.sync.runtime import Runtime

    mapping = root / "mapping.yaml"
    mapping.write_text(
        f'version: 1\nlocations:\n  - code: {STORE}\n    ids: {{{CONNECTION}: "{LOCATION}"}}\n',
        encoding="utf-8",
    )
    url = f"sqlite:///{root / 'brique.sqlite3'}"
    settings = Settings(
        data_dir=root,
        database_url=url,
        mapping=mapping,
        connections={
            CONNECTION: ConnectionSettings(
                connector="shopify",
                config={"shop_url": shop_url, "access_token": TOKEN, "api_version": API_VERSION},
            )
        },
    )
    db.upgrade(url)
    dispatcher = InlinePushes()
    rt = Runtime(settings, dispatcher)
    dispatcher.rt = rt
    return rt, dispatcher


def brique_phase(
    rt: Any, dispatcher: InlinePushes, sandbox: Sandbox, counts: Path
) -> dict[str, Any]:
    """Import a count file, then push: the sandbox's figures and the durations."""
    from bridge.sync.stock_import import import_counts

    before = counters(sandbox)
    started = time.perf_counter()
    movements = import_counts(rt, counts)
    imported = time.perf_counter()
    at_push = counters(sandbox)
    pushing = time.perf_counter()
    dispatcher.run()
    done = time.perf_counter()
    after = counters(sandbox)
    push = spent(at_push, after, done - pushing)
    return {
        "movements": movements,
        "import_calls": at_push["requests"] - before["requests"],
        "import_seconds": imported - started,
        "push_seconds": done - pushing,
        "seconds": (imported - started) + (done - pushing),
        **spent(before, after, (imported - started) + (done - pushing)),
        # the push alone: the window the throttle budget is judged on
        "push_points_available": push["points_available"],
        "push_budget_share": push["budget_share"],
    }


def brique(
    root: Path, count: int, counted: dict[str, int], changed: dict[str, int]
) -> dict[str, Any]:
    with Sandbox(root, count) as sandbox:
        rt, dispatcher = brique_runtime(root, sandbox.url)
        try:
            note(f"shopify_push: Brique publishes {count:,} SKUs (the large push)")
            everything = write_counts(root / "count-all.csv", counted)
            initial = brique_phase(rt, dispatcher, sandbox, everything)
            check_levels(sandbox, counted, "after the large push")
            waited = idle(sandbox, IDLE_SHARE)
            note(f"shopify_push: Brique pushes the recount of {len(changed):,} SKUs")
            recount = write_counts(root / "count-1pc.csv", changed)
            change = brique_phase(rt, dispatcher, sandbox, recount)
            change["idle_before_seconds"] = waited
            check_levels(sandbox, {**counted, **changed}, "after the 1% change")
            connector = rt.connector(CONNECTION)
            client_throttled = connector.graphql.throttled  # type: ignore[attr-defined]
        finally:
            rt.close()
    return {"initial": initial, "change": change, "client_saw_throttled": client_throttled}


# --- the naive script ------------------------------------------------------------------------


def naive(shop_url: str, counts: Path, items: dict[str, str], tail: int) -> dict[str, Any]:
    """One ``inventorySetQuantities`` per SKU of the file, in file order; THROTTLED: sleep as
    the answer's cost says, retry. Stops after ``tail`` SKUs written once throttled."""
    endpoint = f"{shop_url}/admin/api/{API_VERSION}/graphql.json"
    session = requests.Session()
    headers = {"X-Shopify-Access-Token": TOKEN}
    started = time.perf_counter()
    rows = read_counts(counts)
    calls = throttled = written = 0
    held_back = False
    paced: tuple[float, int, int, int] | None = None
    """(time, calls, throttled, written) at the first write after the first THROTTLED answer:
    from there the bucket is empty and the script runs at the refill rate."""
    cost = None
    bucket: dict[str, Any] = {}
    try:
        for sku, quantity in rows:
            variables = {
                "input": {
                    "name": "available",
                    "reason": "correction",
                    "quantities": [
                        {
                            "inventoryItemId": items[sku],
                            "locationId": LOCATION,
                            "quantity": quantity,
                            "changeFromQuantity": None,
                        }
                    ],
                }
            }
            while True:
                calls += 1
                body = session.post(
                    endpoint,
                    json={"query": NAIVE_MUTATION, "variables": variables},
                    headers=headers,
                    timeout=30,
                ).json()
                extensions = body.get("extensions", {}).get("cost", {})
                cost = extensions.get("requestedQueryCost", cost)
                bucket = extensions.get("throttleStatus", bucket)
                errors = body.get("errors") or []
                if any(e.get("extensions", {}).get("code") == "THROTTLED" for e in errors):
                    throttled += 1
                    held_back = True
                    status = extensions["throttleStatus"]
                    missing = extensions["requestedQueryCost"] - status["currentlyAvailable"]
                    time.sleep(max(0.0, missing / status["restoreRate"]))
                    continue
                if errors or body["data"]["inventorySetQuantities"]["userErrors"]:
                    raise RuntimeError(f"naive script: {sku} refused: {body}")
                written += 1
                break
            if paced is None and held_back:
                paced = (time.perf_counter(), calls, throttled, written)
            elif paced is not None and written - paced[3] >= tail:
                break
    finally:
        session.close()
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "skus": len(rows),
        "skus_measured": written,
        "calls_measured": calls,
        "throttled_measured": throttled,
        "seconds_measured": seconds,
        "points_per_call": cost,
        "extrapolated": written < len(rows),
    }
    remaining = len(rows) - written
    if remaining and paced is not None:
        at, calls0, throttled0, written0 = paced
        steady = written - written0
        per_sku = (started + seconds - at) / steady
        result["steady_skus"] = steady
        result["steady_seconds_per_sku"] = per_sku
        result["seconds"] = seconds + remaining * per_sku
        result["calls"] = calls + round(remaining * (calls - calls0) / steady)
        result["throttled"] = throttled + round(remaining * (throttled - throttled0) / steady)
    else:
        result.update(seconds=seconds, calls=calls, throttled=throttled)
    # The cost model's floor for the whole file: every point above the first bucket waits
    # for the refill (per-call latency ignored).
    if cost and bucket:
        over = len(rows) * cost - bucket["maximumAvailable"]
        result["floor_seconds"] = max(0.0, over) / bucket["restoreRate"]
    result["written"] = {sku: quantity for sku, quantity in rows[:written]}
    return result


def naive_run(root: Path, count: int, target: dict[str, int], tail: int) -> dict[str, Any]:
    counts = write_counts(root / "stock-all.csv", target)
    items = {sku_of(n): item_of(n) for n in range(count)}
    with Sandbox(root, count) as sandbox:
        note(f"shopify_push: the naive script writes {count:,} SKUs one call each")
        before = counters(sandbox)
        result = naive(sandbox.url, counts, items, tail)
        seen = spent(before, counters(sandbox), result["seconds_measured"])
        result["bucket"] = {"maximum": before["maximum"], "restore_rate": before["restore_rate"]}
        check_levels(sandbox, result.pop("written"), "after the naive script")
    if seen["calls"] != result["calls_measured"]:
        raise RuntimeError(f"naive script counted {result['calls_measured']} calls, sandbox {seen}")
    result["points_used_measured"] = seen["points_used"]
    result["budget_share_measured"] = seen["budget_share"]
    return result


# --- the run -----------------------------------------------------------------------------


@contextmanager
def warnings_only() -> Iterator[None]:
    """Brique logs a line per batch pushed (to stdout when nothing configured logging);
    stdout is for the tables, so only warnings show while this benchmark runs."""
    import structlog

    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        yield
    finally:
        structlog.configure(**saved)


def ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def run(quick: bool, skus: int | None = None, naive_tail: int | None = None) -> dict[str, Any]:
    count = skus or (QUICK_SKUS if quick else SKUS)
    tail = naive_tail or (QUICK_NAIVE_TAIL if quick else NAIVE_TAIL)
    counted, changed = stock(count)
    with warnings_only(), tempfile.TemporaryDirectory(prefix="brique-bench-") as tmp:
        root = Path(tmp)
        (root / "brique").mkdir()
        (root / "naive").mkdir()
        ours = brique(root / "brique", count, counted, changed)
        base = naive_run(root / "naive", count, {**counted, **changed}, tail)
    large, change, bucket = ours["initial"], ours["change"], base["bucket"]
    zero_throttled = large["throttled"] == 0 and change["throttled"] == 0
    result: dict[str, Any] = {
        "skus": count,
        "changed_skus": len(changed),
        "sandbox_bucket": base["bucket"],
        "brique_change": change,
        "naive": base,
        "naive_over_brique_calls": ratio(base["calls"], change["calls"]),
        "naive_over_brique_seconds": ratio(base["seconds"], change["seconds"]),
        "large_push": large,
        "client_saw_throttled": ours["client_saw_throttled"],
        "zero_throttled": zero_throttled,
        "verdict": "ok" if zero_throttled else "FAILED",
    }
    how = (
        f"extrapolated from {base['skus_measured']:,} SKUs" if base["extrapolated"] else "measured"
    )
    rows = [
        [
            f"naive: every SKU, one call each ({how})",
            base["calls"],
            base["throttled"],
            base["seconds"],
            1.0,
            1.0,
        ],
        [
            f"Brique: recount of {len(changed):,} SKUs (import + push)",
            change["calls"],
            change["throttled"],
            change["seconds"],
            result["naive_over_brique_calls"],
            result["naive_over_brique_seconds"],
        ],
    ]
    text = table(
        f"Shopify push: {count:,} SKUs, {len(changed):,} changed (1%), Brique vs a naive "
        f"one-call-per-SKU script (sandbox bucket {bucket['maximum']:,.0f} points + "
        f"{bucket['restore_rate']:.0f}/s)",
        ["path", "API calls", "throttled", "seconds", "x fewer calls", "x faster"],
        rows,
    )
    text += table(
        f"Shopify large push: initial publication of {count:,} SKUs; throttled requests: "
        f"{large['throttled']} ({'ok' if zero_throttled else 'FAILED'})",
        [
            "phase",
            "API calls",
            "mutations",
            "throttled",
            "points used",
            "points available",
            "budget used",
            "seconds",
        ],
        [
            [
                "count import",
                large["import_calls"],
                0,
                0,
                0,
                None,
                None,
                large["import_seconds"],
            ],
            [
                "push",
                large["calls"],
                large["mutations"],
                large["throttled"],
                large["points_used"],
                large["push_points_available"],
                f"{large['push_budget_share']:.1%}",
                large["push_seconds"],
            ],
            [
                "import + push",
                large["calls"],
                large["mutations"],
                large["throttled"],
                large["points_used"],
                large["points_available"],
                f"{large['budget_share']:.1%}",
                large["seconds"],
            ],
        ],
    )
    if base["extrapolated"]:
        text += (
            f"\n  naive script stopped after {base['skus_measured']:,} of {count:,} SKUs "
            f"({base['calls_measured']:,} calls, {base['seconds_measured']:.1f} s); the rest at "
            f"its measured steady pace of {base['steady_seconds_per_sku'] * 1000:.0f} ms/SKU "
            f"(cost-model floor for all: {base['floor_seconds']:.0f} s)"
        )
    result["table"] = text
    return result
