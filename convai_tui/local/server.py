"""The local stand-in as one object (``LocalStandIn``) and as the ``local-server`` subcommand.

``LocalStandIn`` starts (or borrows) a LiveKit, serves the connect API on loopback (or on the
``host`` given, see ``--host``) and spawns a character bot per session. Tests use it in-process; ``convai-tui local-server`` runs it
until SIGINT/SIGTERM and prints one JSON line with what a client needs to reach it. Its
options are in ``server_args``, its secret-scrubbing log setup in ``log_redaction``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from aiohttp import web

from convai_tui.local.args import (
    DEFAULT_API_KEY,
    DEFAULT_CHARACTER_ID,
    DEFAULT_CHARACTER_NAME,
    DEFAULT_HOST,
    add_local_server_arguments,
    faults_from_args,
)
from convai_tui.local.character.bot import UserAudioHook
from convai_tui.local.character.client_messages import DEFAULT_TRIGGERS, CharacterProfile
from convai_tui.local.faults import Faults
from convai_tui.local.http.connect_api import build_app
from convai_tui.local.log_redaction import RedactingFormatter, configure_standin_logging
from convai_tui.local.rooms.bots import MultiRooms
from convai_tui.local.rooms.flags import cast_from, policy_from
from convai_tui.local.rooms.policy import RoomPolicy
from convai_tui.local.rooms.sessions import SessionManager
from convai_tui.local.sfu.backend import LiveKitBackend
from convai_tui.local.sfu.server import (
    LiveKitServer,
    LiveKitServerDied,
    LiveKitServerError,
    LiveKitServerNotFound,
    livekit_from_environment,
)
from convai_tui.local.state import StandInState

log = logging.getLogger("convai_tui.local")

EXIT_LIVEKIT_DIED = 3
"""``local-server``'s exit status when its livekit-server child dies under it."""
_CHILD_CHECK_S = 0.5


class LocalStandIn:
    """Connect API + LiveKit + bots. Use as ``async with LocalStandIn() as standin:``."""

    def __init__(
        self,
        *,
        port: int = 0,
        api_key: str = DEFAULT_API_KEY,
        character_id: str = DEFAULT_CHARACTER_ID,
        character_name: str = DEFAULT_CHARACTER_NAME,
        triggers: Iterable[str] = DEFAULT_TRIGGERS,
        faults: Faults | None = None,
        livekit: LiveKitBackend | None = None,
        user_audio_hook: UserAudioHook | None = None,
        owns_livekit: bool | None = None,
        host: str = DEFAULT_HOST,
        cast: Iterable[CharacterProfile] = (),
        room_policy: RoomPolicy | None = None,
    ) -> None:
        """``livekit`` None = a child (or $LIVEKIT_URL) started and stopped with us; a given
        ``livekit`` is borrowed (the caller starts and stops it) unless ``owns_livekit``.
        ``host``: the IPv4 address the connect API (and a child LiveKit) binds and advertises;
        admin routes then accept callers from loopback or ``host``."""
        self.host = host
        self._port = port
        self.api_key = api_key
        self.character_id = character_id
        self.character = CharacterProfile(character_id, character_name, frozenset(triggers))
        self.cast = {p.character_id: p for p in (self.character, *cast)}
        """Every known character: multi-character rooms pick from these."""
        self.room_policy = room_policy or RoomPolicy()
        self.faults = faults or Faults()
        self._owns_livekit = livekit is None if owns_livekit is None else owns_livekit
        self.livekit: LiveKitBackend = livekit or livekit_from_environment(host)
        self._user_audio_hook = user_audio_hook
        self._runner: web.AppRunner | None = None
        self._state: StandInState | None = None
        self._bound_port = 0

    # -- what clients need ----------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._bound_port

    @property
    def connect_url(self) -> str:
        return f"http://{self.host}:{self._bound_port}"

    @property
    def livekit_url(self) -> str:
        return self.livekit.ws_url

    @property
    def sessions(self) -> SessionManager:
        if self._state is None:
            raise RuntimeError("the stand-in is not running")
        return self._state.sessions

    @property
    def stats(self) -> dict[str, Any]:
        """The same JSON as ``GET /_standin/stats``."""
        if self._state is None:
            raise RuntimeError("the stand-in is not running")
        return self._state.stats()

    def ready_line(self) -> str:
        """The one JSON line ``local-server`` prints (no secrets in it)."""
        return json.dumps(
            {
                "connect_url": self.connect_url,
                "api_key": self.api_key,
                "character_id": self.character_id,
                "livekit_url": self.livekit_url,
            }
        )

    # -- lifecycle ----------------------------------------------------------------------------
    async def __aenter__(self) -> LocalStandIn:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        try:
            if self._owns_livekit:
                await self.livekit.start()
            manager = SessionManager(
                self.livekit, self.faults, user_audio_hook=self._user_audio_hook
            )
            self._state = StandInState(
                api_key=self.api_key,
                characters=self.cast,
                faults=self.faults,
                backend=self.livekit,
                sessions=manager,
                host=self.host,
                multi=MultiRooms(
                    self.livekit,
                    self.faults,
                    manager,
                    self.cast,
                    lambda: self.room_policy,
                    user_audio_hook=self._user_audio_hook,
                ),
            )
            self._runner = web.AppRunner(
                build_app(self._state), access_log=None, handle_signals=False
            )
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.host, self._port)
            await site.start()
            self._bound_port = _bound_port(self._runner)
        except BaseException:
            await self.stop()
            raise

    async def livekit_died(self) -> LiveKitServerDied:
        """Wait until the livekit-server child we own exits on its own (killed, crashed).

        Never returns for a borrowed or external LiveKit, nor when the child goes away
        because the stand-in stops or restarts it."""
        livekit = self.livekit
        while True:
            await asyncio.sleep(_CHILD_CHECK_S)
            if self._owns_livekit and isinstance(livekit, LiveKitServer):
                died = livekit.exited_on_its_own()
                if died is not None:
                    return died

    async def stop(self) -> None:
        """Close every session (clients see ROOM_DELETED), the HTTP server, then LiveKit."""
        try:
            if self._state is not None:
                self._state.shutting_down.set()
                if self._state.multi is not None:
                    await self._state.multi.close()
                await self._state.sessions.close()
            if self._runner is not None:
                await self._runner.cleanup()
                self._runner = None
        finally:
            if self._owns_livekit:
                await asyncio.shield(self.livekit.stop())
                if isinstance(self.livekit, LiveKitServer):
                    self.livekit.cleanup()


def _bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    raise RuntimeError("the connect API is not listening")


# -- CLI --------------------------------------------------------------------------------------
def run_local_server(args: argparse.Namespace) -> int:
    """Run until SIGINT/SIGTERM; 0 on a clean stop, 2 when it cannot start, 3
    (``EXIT_LIVEKIT_DIED``) when its livekit-server child dies while serving."""
    formatter = configure_standin_logging(args.log_level)
    try:
        return asyncio.run(_serve(args, formatter))
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return 130


async def _serve(args: argparse.Namespace, formatter: RedactingFormatter) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    from convai_tui.local.character.voice import make_voice_hook

    standin = LocalStandIn(
        port=args.port,
        api_key=args.api_key,
        character_id=args.character_id,
        character_name=args.character_name,
        triggers=[name.strip() for name in args.triggers.split(",") if name.strip()],
        faults=faults_from_args(args),
        user_audio_hook=make_voice_hook(getattr(args, "voice", "reply")),
        host=getattr(args, "host", DEFAULT_HOST),
        cast=cast_from(args.characters, [t.strip() for t in args.triggers.split(",")]),
        room_policy=policy_from(args),
    )
    formatter.add_secret(standin.livekit.api_secret)
    try:
        await standin.start()
    except LiveKitServerNotFound as exc:
        log.error("%s", exc)
        return 2
    except LiveKitServerError as exc:
        log.error("livekit-server failed: %s", exc)
        return 2
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", standin.host, args.port, exc.strerror or exc)
        return 2
    try:
        sys.stdout.write(standin.ready_line() + "\n")
        sys.stdout.flush()
        log.info(
            "local stand-in ready: connect API %s, LiveKit %s (pid %s), character %s",
            standin.connect_url,
            standin.livekit_url,
            getattr(standin.livekit, "pid", None),
            standin.character_id,
        )
        # A dead child cannot be served around: rooms, bots and the signal port all need it.
        # We stop rather than restart it, so a crash is seen (clients get the usual transport
        # errors, whoever started us gets a non-zero exit) instead of papered over; a
        # deliberate crash-and-restart is POST /_standin/livekit/crash-restart.
        stopped = asyncio.ensure_future(stop.wait())
        died = asyncio.ensure_future(standin.livekit_died())
        await asyncio.wait({stopped, died}, return_when=asyncio.FIRST_COMPLETED)
        for waiter in (stopped, died):
            waiter.cancel()
        if died.done() and not died.cancelled():
            log.error("%s\nstopping the stand-in (exit %d)", died.result(), EXIT_LIVEKIT_DIED)
            return EXIT_LIVEKIT_DIED
        log.info("stopping")
    finally:
        with contextlib.suppress(Exception):
            await standin.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m convai_tui.local",
        description="Local, offline stand-in of Convai's realtime service.",
    )
    add_local_server_arguments(parser)
    return run_local_server(parser.parse_args(argv))
