"""The error catalogue: every session error code with its category, stage, cause, fix and check.

The table itself lives in `convai_tui.core.errors.catalogue` (where the codes come from is said
there); this module joins it into one lookup and defines the errors the session raises and
reports. `ErrorStage` and `CatalogueEntry` are re-exported: they are part of what a
`SessionError` is, and most importers use them from here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from convai_tui.core.errors.catalogue.connecting import CONNECTING_ENTRIES
from convai_tui.core.errors.catalogue.entry import CatalogueEntry, ErrorStage
from convai_tui.core.errors.catalogue.in_session import IN_SESSION_ENTRIES

__all__ = [
    "CATALOGUE",
    "CATALOGUE_ENTRIES",
    "RETRYABLE_CODES",
    "CatalogueEntry",
    "ConvaiError",
    "ErrorStage",
    "SessionError",
    "lookup",
    "make_error",
]

# In the order docs/ERRORS.md lists them: the connect-time codes, then the in-session ones.
CATALOGUE_ENTRIES: tuple[CatalogueEntry, ...] = (*CONNECTING_ENTRIES, *IN_SESSION_ENTRIES)

CATALOGUE: dict[str, CatalogueEntry] = {entry.code: entry for entry in CATALOGUE_ENTRIES}

RETRYABLE_CODES: frozenset[str] = frozenset(e.code for e in CATALOGUE_ENTRIES if e.recoverable)


def lookup(code: str) -> CatalogueEntry:
    """The catalogue entry for a code; unknown codes get a generic entry, never a KeyError."""
    entry = CATALOGUE.get(code)
    if entry is not None:
        return entry
    return CatalogueEntry(
        code,
        ErrorStage.UNKNOWN,
        False,
        "An error this catalogue does not describe.",
        "Read the message and the session log.",
        "",
        source="unknown",
    )


@dataclass(frozen=True, slots=True)
class SessionError:
    """One error as it happened: a catalogue code plus what was observed."""

    code: str
    message: str
    stage: ErrorStage
    recoverable: bool
    http_status: int | None = None
    session_id: str | None = None
    at: float = field(default_factory=time.time)
    detail: str | None = None

    @property
    def category(self) -> str:
        return self.code.split(".", 1)[0]

    @property
    def entry(self) -> CatalogueEntry:
        return lookup(self.code)

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "category": self.category,
            "stage": self.stage.value,
            "recoverable": self.recoverable,
            "http_status": self.http_status,
            "session_id": self.session_id,
        }


def make_error(
    code: str,
    message: str | None = None,
    *,
    http_status: int | None = None,
    session_id: str | None = None,
    stage: ErrorStage | None = None,
    detail: str | None = None,
    at: float | None = None,
) -> SessionError:
    """A SessionError for a catalogue code, its stage and recoverable flag taken from the table."""
    entry = lookup(code)
    return SessionError(
        code=code,
        message=message or entry.cause,
        stage=stage or entry.stage,
        recoverable=entry.recoverable,
        http_status=http_status,
        session_id=session_id,
        at=time.time() if at is None else at,
        detail=detail,
    )


class ConvaiError(Exception):
    """An exception that carries a SessionError; raised inside the core, never shown raw."""

    def __init__(self, error: SessionError) -> None:
        super().__init__(f"{error.code}: {error.message}")
        self.error = error
