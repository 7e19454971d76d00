"""Logging with per-category levels (`transport=debug,connection=info`), always redacted."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TextIO

from convai_tui.core.errors.redact import RedactingFilter

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


class LogLevelError(ValueError):
    pass


def parse_log_levels(spec: str) -> tuple[int, dict[str, int]]:
    """'info' or 'warning,transport=debug' → (default level, {category: level})."""
    default = logging.WARNING
    per_category: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, level = part.rpartition("=")
        value = _LEVELS.get(level.lower())
        if value is None:
            raise LogLevelError(f"unknown log level {level!r} (use debug, info, warning, error)")
        if name:
            per_category[name.strip()] = value
        else:
            default = value
    return default, per_category


def configure_logging(spec: str, *, stream: TextIO | None = None, file: Path | None = None) -> None:
    """Send convai_tui's logs to stderr (or a file, under the TUI), redacted, at these levels."""
    default, per_category = parse_log_levels(spec)
    root = logging.getLogger("convai_tui")
    for old in list(root.handlers):
        root.removeHandler(old)
    handler: logging.Handler = logging.StreamHandler(stream or sys.stderr)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.propagate = False
    lowest = min([default, *per_category.values()])
    root.setLevel(lowest)
    handler.setLevel(lowest)
    for name in ("transport", "session", "connection", "config", "audio", "local", "ui"):
        level = per_category.get(name, default)
        logging.getLogger(f"convai_tui.{name}").setLevel(level)
    # livekit's own loggers are noisy at info; they follow the transport category.
    logging.getLogger("livekit").setLevel(
        per_category.get("transport", max(default, logging.WARNING))
    )
    logging.getLogger("livekit").addHandler(handler)
