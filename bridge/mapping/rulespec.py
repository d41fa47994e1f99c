"""Field rules: how one record kind's fields are selected (JMESPath) and transformed.

```yaml
connections:
  webshop:
    price:
      outbound:
        fields:
          price: {from: price.amount, apply: [string]}
          compareAtPrice: {from: compare_at.amount, apply: [string]}
          barcode: {from: barcode, on: create}     # written when the item is created only
```
A rule given as a plain string is its ``from`` path. Target names may be dotted
(``customer.email``) to build nested records.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from bridge.mapping.basespec import Spec


class FieldRule(Spec):
    from_: str | None = Field(None, alias="from")
    """JMESPath selecting the value in the source record."""
    value: Any = None
    """A constant, when the field does not come from the record."""
    apply: tuple[str | dict[str, Any], ...] = ()
    """Transforms, in order; each names one whitelisted function (see ``brique mapping
    schema``), with its arguments."""
    on: Literal["always", "create"] = "always"
    """``create``: the field is written when the item is created, never on updates."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"from": data} if isinstance(data, str) else data

    @field_validator("apply", mode="before")
    @classmethod
    def _one_function_per_item(cls, items: Any) -> Any:
        if isinstance(items, str | dict):
            items = [items]
        for index, item in enumerate(items or ()):
            if isinstance(item, dict) and len(item) != 1:
                from bridge.yamlio import LocatedError

                names = ", ".join(map(str, item)) or "nothing"
                raise LocatedError(
                    f"each apply item names one function, this one has {names}; write one "
                    "item per function, e.g. '- round: {places: 2}'",
                    (index,),
                )
        return items

    @model_validator(mode="after")
    def _has_source(self) -> FieldRule:
        if self.from_ is not None and self.value is not None:
            raise ValueError("give either 'from' (a path) or 'value' (a constant), not both")
        return self


class LineRules(Spec):
    """Rules for child lines (sale lines, order lines), each keyed stably by ``key``."""

    each: str
    """JMESPath to the list of lines in the source record."""
    key: str
    """JMESPath, inside one line, of its stable key (e.g. ``line_no``): a re-import
    updates the line with the same key and never duplicates it."""
    fields: dict[str, FieldRule] = Field(default_factory=dict)


class RecordRules(Spec):
    key: str | None = None
    """JMESPath of the record's own key, for change detection and messages."""
    fields: dict[str, FieldRule] = Field(default_factory=dict)
    lines: dict[str, LineRules] = Field(default_factory=dict)
    """Target list field -> how to build its lines."""


class KindMapping(Spec):
    """Inbound rules overlay the connector's own translation field by field; outbound rules
    build the native fields the connector sends."""

    inbound: RecordRules | None = None
    outbound: RecordRules | None = None
