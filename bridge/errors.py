"""The error taxonomy: each error says who must act and what the caller does next.

Connectors raise only these; raw ``requests`` exceptions never escape a connector.
"""

from __future__ import annotations


class BriqueError(Exception):
    """Base of every error Brique raises on purpose."""


class TransientError(BriqueError):
    """The remote failed in a way that may pass: retry with backoff."""


class RateLimited(TransientError):
    """The remote asked us to slow down; waiting does not count as a failure."""

    def __init__(self, message: str = "rate limited", retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = max(0.0, float(retry_after))


class AuthError(BriqueError):
    """Credentials refused: stop this connection and alert the admin."""


class ConfigError(BriqueError):
    """The configuration or a mapping is wrong: stop this connection and alert the admin."""


class DataError(BriqueError):
    """One record cannot be processed: dead-letter it and go on with the others."""

    def __init__(self, message: str, *, record: str | None = None) -> None:
        super().__init__(f"{record}: {message}" if record else message)
        self.record = record


def who_must_act(exc: BaseException) -> str:
    """Name the actor for an error, as shown in dead letters and alerts."""
    if isinstance(exc, RateLimited):
        return "nobody (waiting for the remote's rate limit)"
    if isinstance(exc, TransientError):
        return "nobody yet (retrying)"
    if isinstance(exc, AuthError | ConfigError):
        return "admin"
    if isinstance(exc, DataError):
        return "data owner"
    return "developer"
