"""What every session event is: a frozen dataclass with a wire name (`TYPE`) and a JSON form,
registered by that name as its class is defined. `EVENT_CLASSES` is the one list of line
types: the codec, replay and the README's generated headless table read it."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar

from convai_tui.core.errors.error import SessionError


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every session event; `at` is the wall-clock time it happened (epoch seconds)."""

    TYPE: ClassVar[str] = "event"
    JSON_FIELDS: ClassVar[tuple[str, ...] | None] = None
    """The keys of the JSON line after `type` and `ts`, for a class whose `to_json` reshapes
    its fields (None: the dataclass fields)."""
    at: float = field(default_factory=time.time, kw_only=True)

    def __init_subclass__(cls) -> None:
        # No super() call: slots=True rebuilds Event, so the zero-argument form points at the
        # discarded class; object.__init_subclass__ does nothing anyway.
        if "TYPE" not in cls.__dict__:
            return  # a shared base (AttributedEvent, ...), not a line type of its own
        known = EVENT_CLASSES.get(cls.TYPE)
        # dataclass(slots=True) rebuilds the class under the same name: that one replaces it.
        if known is not None and (known.__module__, known.__name__) != (
            cls.__module__,
            cls.__name__,
        ):
            raise TypeError(f"event type {cls.TYPE!r} is both {known.__name__} and {cls.__name__}")
        EVENT_CLASSES[cls.TYPE] = cls

    @classmethod
    def json_fields(cls) -> tuple[str, ...]:
        if cls.JSON_FIELDS is not None:
            return cls.JSON_FIELDS
        return tuple(f.name for f in dataclasses.fields(cls) if f.name != "at")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.TYPE, "ts": round(self.at, 6)}
        for f in dataclasses.fields(self):
            if f.name == "at":
                continue
            out[f.name] = _jsonable(getattr(self, f.name))
        return out


EVENT_CLASSES: dict[str, type[Event]] = {}
"""Every event class by its wire name, in definition order; filled as the classes are defined
(the room's events in core/multi/events.py join when that module is imported)."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, SessionError):
        return value.to_json()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value
