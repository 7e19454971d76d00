"""The catalogue's fix read against what the session is doing: once the client has stopped
retrying, a fix that promises an automatic retry or backoff would send the user waiting for
something that will not come."""

from __future__ import annotations

import re

from convai_tui.core.errors.error import SessionError

GAVE_UP_REASONS = frozenset({"retries_exhausted", "reconnects_exhausted", "waiting_room_timeout"})
"""Session-end reasons after which nothing is retried automatically any more."""

STOPPED_RETRYING = "The client has stopped retrying: connect again once the server is reachable."

_AUTOMATIC = re.compile(
    r"automatic|backs? off|on its own|retries for you|retried|wait and retry", re.IGNORECASE
)


def fix_text(error: SessionError, end_reason: str | None = None) -> str:
    """The fix to show for `error`; `end_reason` is why the session ended, if it has."""
    fix = error.entry.fix
    if end_reason not in GAVE_UP_REASONS:
        return fix
    clauses = [c.strip() for c in re.split(r";\s*|\.\s+|\.$", fix) if c.strip()]
    kept = [c for c in clauses if not _AUTOMATIC.search(c)]
    rest = " ".join(f"{c[0].upper()}{c[1:]}." for c in kept)
    return f"{STOPPED_RETRYING} {rest}".rstrip()
