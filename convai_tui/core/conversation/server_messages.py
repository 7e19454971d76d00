"""The server's session-level messages: acknowledgements, the idle warning, the usage limit,
errors and session-ending. They become events, and those that end the session become an
outcome for the supervisor, as does the room closing read in their light. The conversation's
messages are conversation.py's."""

from __future__ import annotations

from collections.abc import Callable

from convai_tui.core.api.events import (
    Event,
    IdleTimerReset,
    IdleWarningReceived,
    LogRecorded,
    ServerResponseReceived,
    SessionEnding,
    UsageLimitReached,
)
from convai_tui.core.api.outcomes import Drop, End, Outcome
from convai_tui.core.api.states import SessionState
from convai_tui.core.conversation.server_notices import ServerNotices
from convai_tui.core.errors.disconnect_reasons import rule_for
from convai_tui.core.errors.error import ConvaiError, ErrorStage, SessionError, make_error
from convai_tui.core.rtvi import protocol
from convai_tui.core.rtvi.acks import AckTracker
from convai_tui.core.rtvi.controls import LOW_CONTEXT_TOKENS

IDLE_GRACE_S = 2.0
"""A room closing this close to the idle deadline is the idle timeout, not a drop."""


class ServerMessages:
    """Handles the session-level inbound types listed in `routes`."""

    def __init__(
        self,
        publish: Callable[[Event], None],
        raise_error: Callable[[SessionError], SessionError],
        resolve: Callable[[Outcome], None],
        clock: Callable[[], float],
        acks: AckTracker,
    ) -> None:
        self._publish = publish
        self._raise = raise_error
        self._resolve = resolve
        self._clock = clock
        self._acks = acks
        self.idle_deadline: float | None = None
        self.notices = ServerNotices(publish)
        """Messages with nothing to act on, metrics and unknown types (server_notices.py)."""
        self.ending_reason: str | None = None
        """The reason a session-ending message gave; the room closing after it is no drop."""
        self.routes: protocol.Routes = {
            "server-response": self._on_server_response,
            "user-idle-warning": self._on_idle_warning,
            "usage-limit-reached": self._on_usage_limit,
            "error": self._on_server_error,
            "session-ending": self._on_session_ending,
            "error-response": self._on_error_response,
        }

    def new_room(self) -> None:
        """A new room was joined: no idle warning, no session-ending yet."""
        self.idle_deadline = None
        self.ending_reason = None

    def client_spoke(self) -> None:
        """A client message went out: the server restarts its idle clock, so a warning is void."""
        self.idle_deadline = None

    def idle_expired(self) -> bool:
        return self.idle_deadline is not None and self._clock() >= self.idle_deadline - IDLE_GRACE_S

    def _end_by_server(self, reason: str) -> End:
        if reason == "idle_timeout":
            error = self._raise(
                make_error(
                    "session.idle_timeout", "Convai closed the session after the idle warning."
                )
            )
            return End(SessionState.DISCONNECTED, "idle_timeout", error)
        return End(SessionState.DISCONNECTED, reason or "ended_by_server", None)

    def room_closed(self, reason: int, *, killed: bool) -> Outcome:
        """What the room closing with LiveKit's DisconnectReason `reason` means for the session.

        After kill-pipeline, session-ending or the idle deadline it is the expected end;
        otherwise the reason's rule says whether to reconnect."""
        if killed:
            return End(SessionState.DISCONNECTED, "kill_pipeline", None)
        if self.ending_reason is not None or self.idle_expired():
            return self._end_by_server(self.ending_reason or "idle_timeout")
        rule = rule_for(reason)
        error = self._raise(
            make_error(rule.code, f"{rule.explanation} ({rule.name})", stage=ErrorStage.TRANSPORT)
        )
        if rule.retry:
            return Drop(error, after_shutdown=rule.first_delay_s is not None)
        if rule.name == "CLIENT_INITIATED":
            return End(SessionState.DISCONNECTED, "client_initiated", None)
        return End(SessionState.ERROR, rule.name.lower(), error)

    def _on_server_response(self, msg: protocol.InboundMessage) -> None:
        event_type = protocol.field_str(msg, "event_type") or "unknown"
        status = protocol.field_str(msg, "status") or "unknown"
        if status not in protocol.ACK_STATUSES:
            raise ConvaiError(
                make_error(
                    "protocol.message_invalid", f"server-response has an unknown status {status!r}."
                )
            )
        message = msg.data.get("message")
        extras = msg.data.get("extras")
        ack = ServerResponseReceived(
            event_type=event_type,
            status=status,
            message=message if isinstance(message, str) else None,
            extras=extras if isinstance(extras, dict) else None,
            message_id=self._acks.take(event_type),
        )
        self._publish(ack)
        self._acks.resolve(ack)
        remaining = ack.extras.get("remaining_tokens") if ack.extras else None
        if (
            event_type == "context-update"
            and isinstance(remaining, int | float)
            and remaining < LOW_CONTEXT_TOKENS
        ):
            self._publish(
                LogRecorded(
                    level="warning",
                    category="context",
                    message=f"Context budget low: {remaining:g} tokens remaining "
                    f"(of {ack.extras.get('max_tokens', '?') if ack.extras else '?'}).",
                )
            )
        if event_type == "reset-idle-timer" and status == "success":
            self.idle_deadline = None
            self._publish(IdleTimerReset(acknowledged=True))

    def _on_idle_warning(self, msg: protocol.InboundMessage) -> None:
        # remaining_seconds may be null or absent (the web SDK guards for it): still a warning,
        # only without a countdown or a deadline.
        remaining = protocol.field_int(msg, "remaining_seconds")
        self.idle_deadline = None if remaining is None else self._clock() + remaining
        self._publish(
            IdleWarningReceived(
                remaining_seconds=remaining,
                message=protocol.field_str(msg, "message"),
                deadline=self.idle_deadline,
            )
        )

    def _on_usage_limit(self, msg: protocol.InboundMessage) -> None:
        quota = protocol.field_str(msg, "quota_type")
        text = protocol.field_str(msg, "message")
        self._publish(UsageLimitReached(quota_type=quota, message=text))
        error = self._raise(
            make_error(
                "server.usage_limit_reached",
                f"Usage limit reached{f' ({quota})' if quota else ''}: {text or 'quota exhausted'}",
            )
        )
        self._resolve(End(SessionState.ERROR, "usage_limit", error))

    def _on_server_error(self, msg: protocol.InboundMessage) -> None:
        text = protocol.field_str(msg, "error") or "unspecified server error"
        # Pipecat's RTVIErrorData makes `fatal` explicit; absent, the pipeline is still up.
        fatal = protocol.field_bool(msg, "fatal", False)
        code = "server.fatal_error" if fatal else "server.error"
        error = self._raise(make_error(code, f"Convai reported: {text}"))
        if fatal:
            self._resolve(End(SessionState.ERROR, "fatal_error", error))

    def _on_session_ending(self, msg: protocol.InboundMessage) -> None:
        reason = protocol.field_str(msg, "reason") or "ended_by_server"
        if self.ending_reason is None:
            self._publish(SessionEnding(reason=reason))
        self.ending_reason = reason
        self._resolve(self._end_by_server(reason))

    def _on_error_response(self, msg: protocol.InboundMessage) -> None:
        """The RTVI layer could not take the message whose id it names: that message's answer,
        shown against it (Requests tab, a control's result, headless) like an error ack."""
        text = str(msg.data.get("error") or msg.data.get("message") or "rejected")[:300]
        answered = self._acks.take_id(msg.id) if msg.id else None
        if answered is None:
            self._publish(
                LogRecorded(
                    level="warning",
                    category="server",
                    message=f"error-response to an unknown message {msg.id or '(no id)'}: {text}",
                )
            )
            return
        ack = ServerResponseReceived(
            event_type=answered,
            status="error",
            message=text,
            extras={"error_response": True},
            message_id=msg.id,
        )
        self._publish(ack)
        self._acks.resolve(ack)
