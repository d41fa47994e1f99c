"""``brique prices parity``: every SKU's price per channel and store, and the policy's verdict."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from bridge.errors import ConfigError
from workers import cli

VERDICT_STYLE = {"divergent": "red", "error": "red", "allowed": "yellow", "ok": "green"}


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    groups["prices"].command("parity")(prices_parity)


def prices_parity(
    config: cli.ConfigOpt = None,
    sku: Annotated[list[str] | None, typer.Option("--sku", help="Only this SKU (repeat).")] = None,
    store: Annotated[
        list[str] | None, typer.Option("--store", help="Only this store's prices (repeat).")
    ] = None,
    channel: Annotated[
        list[str] | None, typer.Option("--channel", help="Only this shop channel (repeat).")
    ] = None,
    as_json: cli.JsonOpt = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="Every SKU compared, not only the divergent ones.")
    ] = False,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when a divergence is shown.")
    ] = False,
) -> None:
    """Compare every SKU's price on each shop channel (computed, and what the shop was last
    sent) and in each store (its list, and what its tills rang up), tax included, against
    the policy in prices.parity. Writes nothing."""
    from bridge.parity.report import ReportQuery, build_report

    rt = cli.runtime(config)
    query = ReportQuery(
        skus=tuple(sku or ()), stores=tuple(store or ()), channels=tuple(channel or ()),
        include_all=show_all,
    )  # fmt: skip
    try:
        report = build_report(rt, query)
    except ConfigError as exc:
        cli.error(f"configuration error\n{exc}")
        raise typer.Exit(2) from None
    except ValueError as exc:
        cli.error(str(exc))
        raise typer.Exit(2) from None
    finally:
        rt.close()
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        _print(report)
    if exit_code and report["summary"]["divergences"]:
        raise typer.Exit(1)


def _print(report: dict[str, Any]) -> None:
    basis, summary = report["basis"], report["summary"]
    cli.out.print(
        f"prices in {basis['currency']}, tax included, rounded to {basis['places']} places "
        "(channels: computed by the mapping; stores: their price list)",
        highlight=False,
    )
    if not report["policy"]["declared"]:
        cli.out.print("no prices.parity policy in the mapping: defaults, no alerts", style="yellow")
    members = report["members"]
    table = Table("SKU", *members, "spread", "verdict")
    for row in report["skus"]:
        cells = [_cell(row["prices"].get(m, {})) for m in members]
        spread = row["spread"]
        spread_text = "-" if spread is None else f"{spread['amount']} ({spread['percent']}%)"
        verdict = row["verdict"]
        notes = [d["message"] for d in row["divergences"]] + row["errors"]
        if verdict == "allowed":
            notes = row["allowed"]
        text = verdict + ("".join(f"\n- {n}" for n in notes) if notes else "")
        style = VERDICT_STYLE.get(verdict, "")
        table.add_row(row["sku"], *cells, spread_text, f"[{style}]{_escape(text)}[/]" if style
                      else _escape(text))  # fmt: skip
    cli.out.print(table)
    recorded = summary["recorded_open"]
    cli.out.print(
        f"{summary['compared']} SKU(s) compared, {summary['divergent_skus']} divergent "
        f"({summary['divergences']} divergence(s)); {recorded} open divergence(s) recorded",
        highlight=False,
    )


def _cell(entry: dict[str, Any]) -> str:
    """The member's price, then what differs from it: the shop's copy, a till's ring."""
    if entry.get("price") is None:
        return "-"
    parts = [entry["price"]]
    if entry.get("excluded"):
        parts[0] += " (excluded)"
    held = entry.get("held")
    if held is not None and held["state"] == "pending":
        parts.append("push pending")
    elif held is not None and held["state"] == "never":
        parts.append("never sent")
    elif held is not None and held["price"] not in (None, entry.get("native")):
        parts.append(f"shop holds {held['price']}")
    till = entry.get("till")
    if till is not None and till["price"] != entry["price"]:
        parts.append(f"till {till['price']}" + ("" if till["judged"] else " (not judged)"))
    return _escape("\n".join(parts))


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
