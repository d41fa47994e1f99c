"""Customer identity (RCU): golden records from what each channel observes of a customer."""

from bridge.customers.identity import (
    GoldenView,
    IdentityError,
    RecordView,
    ReviewView,
    UndoRefused,
    golden,
    merge,
    observe,
    open_reviews,
    resolve_review,
    undo,
)
from bridge.customers.model import Normalised, ObservedCustomer, normalise

__all__ = [
    "GoldenView",
    "IdentityError",
    "Normalised",
    "ObservedCustomer",
    "RecordView",
    "ReviewView",
    "UndoRefused",
    "golden",
    "merge",
    "normalise",
    "observe",
    "open_reviews",
    "resolve_review",
    "undo",
]
