"""Render and write a connector plugin package from the templates of ``bridge.scaffold``.

Templates are Python string constants (no package data to ship) with ``{{placeholder}}``
tokens, replaced verbatim: generated code never goes through ``str.format``, so its own
braces (f-strings, dicts) need no escaping.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution, entry_points
from pathlib import Path

import bridge
from bridge.registry import GROUP
from bridge.scaffold.templates import common, pos, shop

KINDS = ("pos", "shop")
"""What a scaffold can be: a till (reads sales) or a web shop (stock out, orders in)."""

NAME = re.compile(r"[a-z][a-z0-9_]*")
MAX_NAME_LENGTH = 24
"""Longer names would push generated lines past 100 characters."""

TOKEN = re.compile(r"\{\{(\w+)\}\}")


class ScaffoldError(ValueError):
    """A refused name, kind or target folder; the message says what to do instead."""


@dataclass(frozen=True)
class Names:
    """Every spelling of one connector name the templates use."""

    name: str
    """The connector and entry-point name, e.g. ``my_till``."""

    @property
    def camel(self) -> str:
        """``MyTill``: the prefix of ``MyTillConnector`` and ``MyTillConfig``."""
        return "".join(part.capitalize() for part in self.name.split("_"))

    @property
    def package(self) -> str:
        return f"brique_{self.name}"

    @property
    def dist(self) -> str:
        return f"brique-{self.name}"

    def tokens(self, kind: str) -> dict[str, str]:
        return {
            "name": self.name,
            "Class": self.camel,
            "NAME": self.name.upper(),
            "package": self.package,
            "dist": self.dist,
            "kind": kind,
            "brique_version": bridge.__version__,
        }


def installed_connectors() -> dict[str, str]:
    """Entry-point name -> ``module:Class`` of every installed connector (none is imported)."""
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def check_name(name: str) -> Names:
    """The names for ``name``, or ``ScaffoldError`` if it is malformed or already taken."""
    if not NAME.fullmatch(name):
        raise ScaffoldError(
            f"invalid connector name {name!r}: use a lowercase identifier "
            "(a letter, then letters, digits or _), e.g. 'mytill' or 'acme_shop'"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise ScaffoldError(
            f"connector name {name!r} is {len(name)} characters long; "
            f"keep it to {MAX_NAME_LENGTH} at most"
        )
    taken = installed_connectors()
    if name in taken:
        raise ScaffoldError(
            f"a connector named {name!r} is already installed ({taken[name]}); "
            "connector names are unique: choose another name"
        )
    names = Names(name)
    try:
        found = distribution(names.dist)
    except PackageNotFoundError:
        return names
    raise ScaffoldError(
        f"a package named {names.dist!r} is already installed (version {found.version}); "
        "choose another name"
    )


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ScaffoldError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    return kind


def render(name: str, kind: str) -> dict[str, str]:
    """Relative path -> text of every file of the package, for a valid name and kind."""
    names = Names(name)
    tokens = names.tokens(check_kind(kind))
    templates = {**common.FILES, **(pos.FILES if kind == "pos" else shop.FILES)}
    files: dict[str, str] = {}
    for path, text in templates.items():
        files[_fill(path, tokens)] = _fill(text, tokens)
    return files


def _fill(text: str, tokens: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        try:
            return tokens[match.group(1)]
        except KeyError:  # a template mistake, caught by the scaffold tests
            raise ValueError(f"unknown template placeholder {match.group(0)}") from None

    return TOKEN.sub(one, text)


def scaffold(name: str, kind: str, directory: Path) -> tuple[Path, list[str]]:
    """Write ``brique-NAME/`` under ``directory``; returns it and the files it holds.

    Raises ``ScaffoldError`` for a bad name or kind, or when the folder already exists;
    nothing is written then. A failure while writing removes what was written.
    """
    check_kind(kind)
    names = check_name(name)
    target = directory / names.dist
    if target.exists() or target.is_symlink():
        raise ScaffoldError(
            f"{target} already exists; remove it or choose another --dir (nothing was written)"
        )
    files = render(name, kind)
    try:
        target.mkdir(parents=True)
    except OSError as exc:
        raise ScaffoldError(f"cannot create {target}: {exc.strerror or exc}") from None
    try:
        for relative, text in files.items():
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise ScaffoldError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target, sorted(files)
