"""QR codes for a handoff: the checkout link (web) or the code itself (till), PNG or SVG.

Generated with segno (pure Python, no image library), error correction M: a screen or a
crumpled receipt still scans.
"""

from __future__ import annotations

import io

import segno


def render(content: str, kind: str, scale: int = 6) -> tuple[bytes, str]:
    """``(bytes, media type)`` of a QR code holding ``content``; ``kind`` is png or svg."""
    qr = segno.make(content, error="m", micro=False)
    out = io.BytesIO()
    if kind == "png":
        qr.save(out, kind="png", scale=scale, border=4)
        return out.getvalue(), "image/png"
    if kind == "svg":
        qr.save(out, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True)
        return out.getvalue(), "image/svg+xml"
    raise ValueError(f"QR format {kind!r}: use png or svg")
