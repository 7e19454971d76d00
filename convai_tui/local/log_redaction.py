"""``local-server``'s logging: one stderr handler whose formatter hides secrets.

The stand-in logs what LiveKit and its bots do, and those messages can carry a LiveKit token
(a JWT) or the LiveKit API secret; secrets never reach logs (DEVELOPERS.md), so every line is
scrubbed on its way out rather than trusting each log call.
"""

from __future__ import annotations

import logging
import re
import sys

_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


class RedactingFormatter(logging.Formatter):
    """Never let a LiveKit token or the LiveKit API secret reach the terminal."""

    def __init__(self, fmt: str, secrets_to_hide: list[str]) -> None:
        super().__init__(fmt)
        self._secrets = [secret for secret in secrets_to_hide if secret]

    def add_secret(self, secret: str) -> None:
        if secret:
            self._secrets.append(secret)

    def format(self, record: logging.LogRecord) -> str:
        text = _JWT_RE.sub("eyJ…[redacted]", super().format(record))
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text


def configure_standin_logging(level: str) -> RedactingFormatter:
    formatter = RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", [])
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The LiveKit SDK's Rust logs are chatty at info; keep them to warnings.
    logging.getLogger("livekit").setLevel(max(logging.WARNING, root.level))
    return formatter
