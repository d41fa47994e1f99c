"""What a journaled sale tells the baskets (filled by the baskets change)."""

from __future__ import annotations

from bridge.sync.sale_hooks import SaleContext


def on_sale(ctx: SaleContext) -> None:
    return None
