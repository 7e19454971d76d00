"""Events as JSON and back: every registered event class (events.EVENT_CLASSES) by its wire
name, for reading a session log (replay) and for the headless stream's consumers. A class with
a nested shape of its own (the room's events) decodes itself with a `from_json` classmethod."""

from __future__ import annotations

import dataclasses
from typing import Any

from convai_tui.core.api.events import (
    EVENT_CLASSES,
    ErrorRaised,
    Event,
    ParticipantInfo,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
)
from convai_tui.core.api.states import SessionState
from convai_tui.core.errors.error import ErrorStage, SessionError, lookup

_PARTICIPANT_EVENTS = (ParticipantJoined, ParticipantLeft, ParticipantUpdated)


def error_from_json(data: dict[str, Any], at: float) -> SessionError:
    """The SessionError of a `SessionError.to_json()` object; `at` comes from the event."""
    code = str(data["code"])
    stage = data.get("stage")
    http_status = data.get("http_status")
    session_id = data.get("session_id")
    return SessionError(
        code=code,
        message=str(data.get("message") or ""),
        stage=ErrorStage(str(stage))
        if stage in ErrorStage._value2member_map_
        else lookup(code).stage,
        recoverable=bool(data.get("recoverable", lookup(code).recoverable)),
        http_status=int(http_status) if isinstance(http_status, int | float) else None,
        session_id=str(session_id) if session_id else None,
        at=at,
    )


def _field_from_json(type_name: str, value: Any, at: float) -> Any:
    if value is None:
        return None
    if type_name.startswith("SessionState"):
        return SessionState(value)
    if type_name.startswith("SessionError"):
        return error_from_json(value, at) if isinstance(value, dict) else None
    if type_name.startswith("tuple"):
        return tuple(value)
    return value


def event_from_json(data: dict[str, Any]) -> Event | None:
    """The event a `to_json()` object describes; None when its type is unknown.

    Raises ValueError when the type is known but the object cannot be one of its events.
    """
    cls = EVENT_CLASSES.get(str(data.get("type")))
    if cls is None:
        return None
    own_decoder = getattr(cls, "from_json", None)
    if own_decoder is not None:
        decoded: Event | None = own_decoder(data)
        return decoded
    try:
        at = float(data["ts"])
        if cls is ErrorRaised:
            return ErrorRaised(error=error_from_json(data, at), at=at)
        if cls in _PARTICIPANT_EVENTS:
            info = ParticipantInfo(
                identity=str(data["identity"]),
                name=str(data.get("name") or data["identity"]),
                kind=str(data.get("kind") or "remote_player"),
                muted=bool(data.get("muted")),
                speaking=bool(data.get("speaking")),
                tracks=tuple(str(t) for t in data.get("tracks") or ()),
                quality=str(data.get("quality") or ""),
            )
            return cls(
                identity=info.identity,
                name=info.name,
                kind=info.kind,  # type: ignore[call-arg]
                participant=info,
                at=at,
            )
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name == "at":
                continue
            if f.name in data:
                kwargs[f.name] = _field_from_json(str(f.type), data[f.name], at)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ValueError(f"missing field {f.name!r}")
        return cls(**kwargs, at=at)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed {cls.TYPE} event: {exc}") from None
