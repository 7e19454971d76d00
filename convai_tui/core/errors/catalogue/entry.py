"""What one catalogue entry says about an error code, and where in a session it arises."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorStage(StrEnum):
    """Where in the session's life an error arose (Unity `SessionErrorStage`)."""

    UNKNOWN = "Unknown"
    CONFIGURATION = "Configuration"
    CONNECT_API = "ConnectApi"
    TRANSPORT = "Transport"
    SESSION_RECOVERY = "SessionRecovery"
    RUNTIME = "Runtime"


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """What the documentation says about one error code."""

    code: str
    stage: ErrorStage
    recoverable: bool
    cause: str
    fix: str
    verify: str
    source: str = "convai"

    @property
    def category(self) -> str:
        return self.code.split(".", 1)[0]


def catalogue_entry(
    code: str,
    stage: ErrorStage,
    recoverable: bool,
    cause: str,
    fix: str,
    verify: str = "",
    source: str = "convai",
) -> CatalogueEntry:
    return CatalogueEntry(code, stage, recoverable, cause, fix, verify, source)


# The check that connect-time and link errors share.
REACHES_CONNECTED = "The session reaches Connected."
