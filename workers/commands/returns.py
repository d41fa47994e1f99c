"""``brique returns``: web orders returned at a store till, their shop marks and price gaps."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from workers.options import ConfigOpt, JsonOpt


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    from workers import cli

    returns = typer.Typer(
        help="Web orders returned at a store: links to the order, shop marks, price differences."
    )
    app.add_typer(returns, name="returns")

    @returns.command("list")
    def list_(
        unmatched: Annotated[
            bool,
            typer.Option("--unmatched", help="Only returns waiting: unknown order, over-return..."),
        ] = False,
        limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 500,
        config: ConfigOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Store returns of web orders, newest first: the order, the shop's mark, the
        difference to refund when the store's price was lower."""
        from bridge.returns.views import list_returns

        rt = cli.runtime(config, strict_mapping=False)
        try:
            with rt.sessions() as s:
                data = list_returns(s, unmatched=unmatched, limit=limit)
        finally:
            rt.close()
        if as_json:
            print(json.dumps(data, indent=2))
            return
        if not data:
            cli.out.print("no unmatched store returns" if unmatched else "no store returns")
            return
        table = Table("id", "store ticket", "order", "status", "shop", "difference", "why")
        for r in data:
            table.add_row(
                str(r["id"]),
                f"{r['store']['location']} {r['store']['ticket']}",
                _order(r),
                r["status"],
                r["shop"]["status"],
                _difference(r),
                r["reason"] or r["difference"]["cause"] or "-",
            )
        cli.out.print(table)

    @returns.command("show")
    def show(key: str, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
        """One store return by id or key: its lines, the order lines they came from, what
        was paid online, refunded in store and the store's price. Exits 2 if unknown."""
        from bridge.returns.views import NotFound
        from bridge.returns.views import show as show_return

        rt = cli.runtime(config, strict_mapping=False)
        try:
            with rt.sessions() as s:
                data = show_return(s, key)
        except NotFound as exc:
            cli.error(str(exc))
            raise typer.Exit(2) from None
        finally:
            rt.close()
        if as_json:
            print(json.dumps(data, indent=2))
            return
        out = cli.out
        out.print(
            f"return {data['id']} ({data['status']}): {data['key']}", markup=False, highlight=False
        )
        out.print(f"order: {_order(data)}", markup=False, highlight=False)
        if data["reason"]:
            out.print(f"why: {data['reason']}", markup=False, highlight=False)
        out.print(
            f"shop: {data['shop']['status']} {data['shop']['detail'] or ''}".rstrip(),
            markup=False,
            highlight=False,
        )
        out.print(
            f"paid online {data['paid'] or '-'}, refunded {data['refunded'] or '-'} "
            f"{data['currency']}; difference: {_difference(data)}"
            + (f" ({data['difference']['cause']})" if data["difference"]["cause"] else ""),
            markup=False,
            highlight=False,
        )
        table = Table("line", "sku", "qty", "refunded", "paid online", "store price", "from")
        for line in data["lines"]:
            table.add_row(
                line["line_no"],
                line["sku"],
                line["quantity"],
                line["refunded"] or line["amount"] or "-",
                line["paid"] or "-",
                line["store_price"] or "-",
                ", ".join(f"{a['line_no']} x{a['quantity']}" for a in line["from_order_lines"])
                or "-",
            )
        out.print(table)


def _order(data: dict[str, Any]) -> str:
    order = data["order"]
    if order is None:
        return f"{data['reference']} (not found)"
    return f"{order['number']} on {order['connection']}"


def _difference(data: dict[str, Any]) -> str:
    diff = data["difference"]
    if diff["status"] == "flagged":
        return f"{diff['amount']} {diff['currency']} to refund"
    return diff["status"]
