"""``make bench``: Brique's benchmarks, each reported as ratios to a baseline of the same run.

Absolute figures depend on the machine, so every table carries a baseline measured minutes
earlier on the same hardware (bare lxml for parsing, Redis for task throughput, one idle
ticket for latency). Nothing here passes or fails: it prints tables and writes
``var/bench/report.json``; judging the numbers is for people and later scripts.

    python -m benchmarks [--quick] [--only parse|broker|latency|mapping ...]
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from benchmarks import broker, latency, mapping, poslog_parse, shopify_push
from benchmarks.report import LOGS, emit, machine, note, save

BENCHES: dict[str, Callable[[bool], dict[str, Any]]] = {
    "parse": poslog_parse.run,
    "broker": broker.run,
    "latency": latency.run,
    "mapping": mapping.run,
    "shopify_push": shopify_push.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    parser.add_argument(
        "--only", action="append", choices=sorted(BENCHES), metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHES)}",
    )  # fmt: skip
    args = parser.parse_args(argv)
    # A SIGTERM (CI timeout, Ctrl-C from make) unwinds like an exception, so every worker,
    # database and queue started by the benchmarks is still cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    selected = [name for name in BENCHES if not args.only or name in args.only]
    shutil.rmtree(LOGS, ignore_errors=True)
    report: dict[str, Any] = {"machine": machine(), "quick": args.quick, "benchmarks": {}}
    failed = []
    started = time.monotonic()
    for name in selected:
        t0 = time.monotonic()
        try:
            result = BENCHES[name](args.quick)
        except Exception as exc:  # one broken benchmark must not hide the rest
            traceback.print_exc()
            failed.append(name)
            result = {"error": f"{type(exc).__name__}: {exc}"}
            emit(f"\n== {name}: FAILED ({result['error']}); logs under {LOGS}/")
        else:
            emit(result.pop("table"))
        result["seconds"] = time.monotonic() - t0
        report["benchmarks"][name] = result
        save(report)
    report["seconds"] = time.monotonic() - started
    path = save(report)
    note(f"{len(selected)} benchmark(s) in {report['seconds']:.0f} s; report: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
