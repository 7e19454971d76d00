"""Keeping the API key and LiveKit tokens out of every log line, event and exception text."""

from __future__ import annotations

import logging
import re
import threading

# A JWT is three base64url parts; LiveKit tokens always start with the encoded '{"' header.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}")
_QUERY_TOKEN = re.compile(r"((?:access_token|token|api_key)=)[^&\s\"']+", re.IGNORECASE)
_HEADER_KEY = re.compile(
    r"((?:x-api-key|api-auth-token|authorization)[\"']?\s*[:=]\s*[\"']?)"
    r"(?:Bearer\s+)?[^\s\"',}]+",
    re.IGNORECASE,
)
JWT_PLACEHOLDER = "eyJ…[redacted]"
SECRET_PLACEHOLDER = "[redacted]"


class Redactor:
    """Replaces registered secrets and anything shaped like a token with a placeholder."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add_secret(self, secret: str | None) -> None:
        # Very short values would redact ordinary words; keys and tokens are long.
        if secret and len(secret) >= 6:
            with self._lock:
                self._secrets.add(secret)

    def redact(self, text: str) -> str:
        if not text:
            return text
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in text:
                text = text.replace(
                    secret, JWT_PLACEHOLDER if secret.startswith("eyJ") else SECRET_PLACEHOLDER
                )
        text = _JWT.sub(JWT_PLACEHOLDER, text)
        text = _QUERY_TOKEN.sub(lambda m: m.group(1) + SECRET_PLACEHOLDER, text)
        return _HEADER_KEY.sub(lambda m: m.group(1) + SECRET_PLACEHOLDER, text)


REDACTOR = Redactor()
"""The process-wide redactor: the session registers its key and tokens here."""


def redact(text: str) -> str:
    return REDACTOR.redact(text)


def redact_token(token: str | None) -> str | None:
    """How a token is shown where a user may see that one exists (the core's events and the
    monitor alike): a JWT keeps its constant 'eyJ' header prefix, which says what kind of token it
    is and gives nothing away; any other secret shows nothing of itself."""
    if not token:
        return token
    return token[:3] + "…[redacted]" if token.startswith("eyJ") else SECRET_PLACEHOLDER


class RedactingFilter(logging.Filter):
    """Redacts the fully formatted message of every record that passes through a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the record
            message = str(record.msg)
        record.msg = REDACTOR.redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            import traceback

            record.exc_text = REDACTOR.redact("".join(traceback.format_exception(*record.exc_info)))
            record.exc_info = None
        return True
