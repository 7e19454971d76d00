"""The session's lifecycle: connect, wait for the room to end, ride out a stalled link, then
reconnect or finish. `SessionCore` (session.py) is this lifecycle plus the SessionPort methods
and the collaborators it builds; the attributes below are those collaborators, declared here so
the lifecycle reads on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from convai_tui.core.api import events as ev
from convai_tui.core.api.metrics import SessionMetrics
from convai_tui.core.api.outcomes import Drop, End, LinkBack, Outcome
from convai_tui.core.api.states import SessionState
from convai_tui.core.connect.retry_loop import RetryLoop
from convai_tui.core.connect.room_lease import RoomLease
from convai_tui.core.conversation.input_queue import InputQueue
from convai_tui.core.conversation.server_messages import ServerMessages
from convai_tui.core.conversation.user_input import UserInput
from convai_tui.core.errors.error import SessionError, make_error
from convai_tui.core.link.transport import TransportCallbacks
from convai_tui.core.multi.room_session import RoomSession
from convai_tui.core.room_join import RoomJoin
from convai_tui.core.rtvi.readiness import BotReadiness
from convai_tui.core.settings.room_request import RoomConnectInfo
from convai_tui.core.settings.session_settings import SessionSettings, validate_settings

log = logging.getLogger("convai_tui.session")


class SessionLifecycle:
    """The supervisor task and what ends, drops or restores a room (see the module docstring)."""

    settings: SessionSettings
    metrics: SessionMetrics
    room: RoomSession
    _clock: Callable[[], float]
    _state: SessionState
    _supervisor: asyncio.Task[None] | None
    _outcome: asyncio.Future[Outcome] | None
    _finished: bool
    _lease: RoomLease
    _readiness: BotReadiness
    _queue: InputQueue
    _server: ServerMessages
    _input: UserInput
    _room_join: RoomJoin
    _retries: RetryLoop

    def _publish(self, event: ev.Event) -> None:
        raise NotImplementedError

    def _set_state(
        self, new: SessionState, *, error: SessionError | None = None, reason: str | None = None
    ) -> None:
        raise NotImplementedError

    def _raise(self, error: SessionError) -> SessionError:
        raise NotImplementedError

    def _callbacks_for(self, session_id: str) -> TransportCallbacks:
        raise NotImplementedError

    async def _supervise(self) -> None:
        try:
            connected = await self._establish()
            while connected:
                assert self._outcome is not None
                outcome = await self._outcome
                if isinstance(outcome, Drop) and outcome.link_stalled:
                    outcome = await self._ride_out_stall(outcome)
                if isinstance(outcome, LinkBack):
                    continue
                if isinstance(outcome, Drop) and not outcome.link_stalled:
                    # The old server session goes before a new one (over a stalled link the
                    # kill-pipeline cannot arrive; /disconnect before the reconnect ends it).
                    await self._input.release_server_session()
                await self._room_join.leave()
                if isinstance(outcome, End):
                    await self._finish(outcome)
                    return
                connected = await self._reconnect(outcome)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must end the session visibly, not kill the program
            log.exception("session supervisor failed")
            error = self._raise(
                make_error("session.invalid_state", f"Internal error: {type(exc).__name__}: {exc}")
            )
            await self._room_join.leave()
            await self._finish(End(SessionState.ERROR, "internal_error", error))

    async def _establish(self) -> bool:
        self.metrics.started_at = self._clock()
        self._readiness.connecting()
        config_error = validate_settings(self.settings)
        if config_error is not None:
            return await self._settle(End(SessionState.ERROR, "config", self._raise(config_error)))
        return await self._settle(await self._retries.connect())

    async def _ride_out_stall(self, stall: Drop) -> Outcome:
        """Keep the stalled room through reconnect attempt 1's wait (the stall grace): the link
        coming back (watchdog or LiveKit's resume) is LinkBack; the room ending, or the wait
        running out or cut short (retry now), goes on to leave the room and reconnect, so
        LiveKit's own reconnect never outlives the grace."""
        pending = self._outcome = asyncio.get_running_loop().create_future()
        if self._state is SessionState.CONNECTED:  # back before the supervisor got here
            return LinkBack()
        hold = asyncio.create_task(self._retries.hold(stall), name="convai-stall-grace")
        try:
            await asyncio.wait({hold, pending}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            hold.cancel()
            await asyncio.wait({hold})  # unlike `await hold`, a cancel of our own still ends us
        return pending.result() if pending.done() else stall

    async def _reconnect(self, drop: Drop) -> bool:
        if self._state is not SessionState.RECONNECTING:
            self._set_state(SessionState.RECONNECTING, error=drop.error, reason=drop.error.code)
        await self._lease.release()
        return await self._settle(await self._retries.reconnect(drop))

    async def _settle(self, end: End | None) -> bool:
        """True when connected; otherwise the session ends as the retry loop decided."""
        if end is not None:
            await self._finish(end)
        return end is None

    async def _attempt(self, phase: str, attempt: int, max_attempts: int | None) -> None:
        """One /connect plus room join; on success the session is Connected."""
        self._publish(
            ev.ConnectAttemptStarted(attempt=attempt, max_attempts=max_attempts, phase=phase)
        )
        bound = self.settings.retry.attempt_bound(phase, self.settings.connection_timeout_s)
        started = time.monotonic()
        response = await self._lease.connect(self.settings, bound)
        self.metrics.connect_ms = response.elapsed_ms
        self._outcome = asyncio.get_running_loop().create_future()
        self._readiness.reset()
        self._server.new_room()
        self._input.new_room()
        callbacks = self._callbacks_for(response.session_id)
        timeout_s = self.settings.connection_timeout_s
        if bound is not None:  # what is left of the attempt's bound, but a join needs a moment
            timeout_s = max(1.0, bound - (time.monotonic() - started))
        await self._room_join.join(self.settings, response, callbacks, timeout_s)

    def _joined(self, room: RoomConnectInfo | None) -> None:
        self.room.connected(room)
        self._set_state(SessionState.CONNECTED)

    async def _stop_supervisor(self) -> None:
        task, self._supervisor = self._supervisor, None
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    async def _finish(self, end: End) -> None:
        if self._finished:
            return
        self._finished = True
        await self._lease.release()
        reason = "the session ended before the character was ready"
        self._queue.refuse_all(reason)
        if end.state is SessionState.ERROR:
            self._set_state(SessionState.ERROR, error=end.error, reason=end.reason)
        else:
            if self._state is not SessionState.DISCONNECTING:
                self._set_state(SessionState.DISCONNECTING, reason=end.reason)
            self._set_state(SessionState.DISCONNECTED, error=end.error, reason=end.reason)
            self._finished = False
        self._publish(ev.SessionEnded(reason=end.reason, error=end.error))

    def _resolve(self, outcome: Outcome) -> None:
        if self._outcome is not None and not self._outcome.done():
            self._outcome.set_result(outcome)

    def _link_lost(self, message: str, reason: str) -> bool:
        """Connected → Reconnecting while the room itself is kept for the stall grace (the
        supervisor's _ride_out_stall); False if not Connected."""
        if self._state is not SessionState.CONNECTED:
            return False
        error = self._raise(make_error("transport.signal_disconnected", message))
        self._set_state(SessionState.RECONNECTING, error=error, reason=reason)
        self._resolve(Drop(error, link_stalled=True))
        return True

    def _link_back(self, reason: str) -> None:
        # Text typed while the link was down was queued; the character is still there (the
        # room was kept), so it is sent now.
        if self._state is SessionState.RECONNECTING:
            self._set_state(SessionState.CONNECTED, reason=reason)
            self._input.flush_soon()
            if self._outcome is not None and not self._outcome.done():
                self._outcome.set_result(LinkBack())
                # The room goes on: its later drops need a future of their own at once.
                self._outcome = asyncio.get_running_loop().create_future()

    def _on_room_closed(self, reason: int) -> None:
        self._resolve(self._server.room_closed(reason, killed=self._input.kill_requested))

    def _on_bot_ready_timeout(self) -> None:
        if self._state is SessionState.CONNECTED:
            error = self._raise(
                make_error(
                    "session.bot_ready_timeout",
                    f"No bot-ready within {self.settings.bot_ready_timeout_s:g} s of joining.",
                )
            )
            self._resolve(Drop(error))
