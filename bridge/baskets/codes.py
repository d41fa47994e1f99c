"""Handoff codes: short, said aloud at a till, typed back without ambiguity.

Crockford's base 32 (no I, L, O, U), so a code heard or read as ``0``/``O`` or ``1``/``I``/
``L`` still matches, with a Luhn mod 32 check character that catches any one wrong
character and most swapped neighbours before a look-up. Shown as ``XXXX-XXXX``: 7 random
characters (35 bits) and the check, which with the unique index and a retry on collision is
plenty for the baskets alive at once.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_LENGTH = 7
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-_.]")


def _check(body: str) -> str:
    """Luhn mod N (N = 32): double every other value from the right, fold, sum."""
    total = 0
    for position, char in enumerate(reversed(body)):
        value = ALPHABET.index(char)
        if position % 2 == 0:
            value *= 2
            value = value // 32 + value % 32
        total += value
    return ALPHABET[(32 - total % 32) % 32]


def new_code() -> str:
    """A fresh random code with its check character, as stored (no dash)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return body + _check(body)


def display(code: str) -> str:
    """``K7M4QXZ3`` -> ``K7M4-QXZ3``."""
    return f"{code[:4]}-{code[4:]}"


class CodeError(ValueError):
    """What a person typed is not a handoff code (wrong length, letter or check)."""


def normalise(text: str) -> str:
    """What a cashier typed or a scanner read -> the stored code; ``CodeError`` if it cannot
    be one (the check character catches a mistyped or swapped character)."""
    raw = _SEPARATORS.sub("", text.strip().upper()).translate(_READ_AS)
    if len(raw) != RANDOM_LENGTH + 1:
        raise CodeError(f"{text!r} is not a basket code: expected {RANDOM_LENGTH + 1} characters")
    body, check = raw[:-1], raw[-1]
    bad = sorted({c for c in raw if c not in ALPHABET})
    if bad:
        raise CodeError(f"{text!r} is not a basket code: {''.join(bad)!r} cannot appear in one")
    if _check(body) != check:
        raise CodeError(f"{text!r} is not a basket code: a character is wrong or swapped")
    return raw
