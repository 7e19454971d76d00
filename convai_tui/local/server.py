"""The local stand-in as one object (``LocalStandIn``) and as the ``local-server`` subcommand.

``LocalStandIn`` starts (or borrows) a LiveKit, serves the connect API on loopback (or on the
``host`` given, see ``--host``) and spawns a character bot per session. Tests use it in-process; ``convai-tui local-server`` runs it
until SIGINT/SIGTERM and prints one JSON line with what a client needs to reach it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import logging
import re
import signal
import sys
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from aiohttp import web

from convai_tui.local.character import UserAudioHook
from convai_tui.local.client_messages import DEFAULT_TRIGGERS, CharacterProfile
from convai_tui.local.connect_api import StandInState, build_app
from convai_tui.local.faults import Faults
from convai_tui.local.livekit_backend import LiveKitBackend
from convai_tui.local.livekit_server import (
    LiveKitServer,
    LiveKitServerDied,
    LiveKitServerError,
    LiveKitServerNotFound,
    livekit_from_environment,
)
from convai_tui.local.multi_bots import MultiRooms
from convai_tui.local.room_flags import add_room_arguments, cast_from, policy_from
from convai_tui.local.room_policy import RoomPolicy
from convai_tui.local.sessions import SessionManager

log = logging.getLogger("convai_tui.local")

DEFAULT_PORT = 8765
DEFAULT_HOST = "127.0.0.1"
DEFAULT_API_KEY = "local-dev-key"
DEFAULT_CHARACTER_ID = "demo-character"
DEFAULT_CHARACTER_NAME = "Ada"
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
        """Every known character: multi-character rooms pick from these (issue 12)."""
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


def _ipv4_address(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IPv4 address: {value!r}") from None


def add_local_server_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``convai-tui local-server`` (and ``python -m convai_tui.local``)."""
    parser.add_argument(
        "--host",
        type=_ipv4_address,
        default=DEFAULT_HOST,
        metavar="ADDR",
        help=f"IPv4 address the connect API, the signal port and livekit-server "
        f"bind and advertise (default {DEFAULT_HOST}). Anything else exposes "
        "the stand-in beyond this machine; meant for network-fault tests "
        "(e.g. an address inside a network namespace)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"connect API port on --host (default {DEFAULT_PORT}; 0 = any)",
    )
    parser.add_argument(
        "--api-key",
        default=DEFAULT_API_KEY,
        help=f"the API key clients must send (default {DEFAULT_API_KEY})",
    )
    parser.add_argument(
        "--character-id",
        default=DEFAULT_CHARACTER_ID,
        help=f"the one known character (default {DEFAULT_CHARACTER_ID})",
    )
    parser.add_argument(
        "--character-name",
        default=DEFAULT_CHARACTER_NAME,
        help=f"its display name (default {DEFAULT_CHARACTER_NAME})",
    )
    parser.add_argument(
        "--triggers",
        default=",".join(sorted(DEFAULT_TRIGGERS)),
        metavar="NAMES",
        help="comma-separated trigger names the character answers; others are "
        "acked and ignored, as Convai does (default %(default)s)",
    )
    parser.add_argument(
        "--concurrency-limit",
        type=int,
        default=0,
        metavar="N",
        help="active sessions per API key; 0 = unlimited (default)",
    )
    parser.add_argument(
        "--voice",
        choices=["reply", "echo", "off"],
        default="reply",
        help="answer the user's speech with a turn (energy VAD; default), play "
        "it straight back (echo), or ignore the microphone (off)",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    faults = parser.add_argument_group("scripted faults")
    faults.add_argument(
        "--connect-status", type=int, metavar="CODE", help="answer /connect with this HTTP status"
    )
    faults.add_argument("--connect-detail", metavar="TEXT", help="detail for --connect-status")
    faults.add_argument(
        "--connect-body", metavar="RAW", help="raw body for --connect-status (JSON or text)"
    )
    faults.add_argument(
        "--connect-fault-count",
        type=int,
        default=0,
        metavar="N",
        help="fault only the first N /connect calls (0 = all)",
    )
    faults.add_argument(
        "--connect-delay",
        type=float,
        default=0.0,
        metavar="S",
        help="delay every /connect answer by S seconds",
    )
    faults.add_argument("--connect-hang", action="store_true", help="never answer /connect")
    faults.add_argument(
        "--connect-no-token", action="store_true", help="answer /connect 200 without a token"
    )
    faults.add_argument("--idle-warning-after", type=float, default=240.0, metavar="S")
    faults.add_argument("--idle-timeout-after", type=float, default=300.0, metavar="S")
    faults.add_argument("--usage-limit-after-turns", type=int, default=0, metavar="N")
    faults.add_argument("--quota-type", default="minutes", metavar="T")
    faults.add_argument("--server-error-after-turns", type=int, default=0, metavar="N")
    faults.add_argument("--server-error-fatal", action="store_true")
    faults.add_argument(
        "--response-form",
        choices=["flat", "wrapped"],
        default="flat",
        help="server-response acks flat (documented) or wrapped in server-message",
    )
    faults.add_argument("--tts", choices=["espeak", "tone", "none"], default="espeak")
    faults.add_argument(
        "--release-grace",
        type=float,
        default=2.0,
        metavar="S",
        help="seconds a slot survives its client leaving the room",
    )
    add_room_arguments(parser)
    faults.add_argument(
        "--join-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="end a session whose client never joins within S seconds",
    )
    real = parser.add_argument_group("realism (how awkward the stand-in is, like the service)")
    real.add_argument(
        "--realism",
        choices=["strict", "lenient"],
        default="strict",
        help="strict (default): the documented service behaviour -- bot-ready "
        "after client-ready, both speaking forms, interim transcripts, "
        "error-response, visemes, ...; lenient: the forgiving older one",
    )
    real.add_argument(
        "--bot-ready-grace",
        type=float,
        default=3.0,
        metavar="S",
        help="strict: bot-ready after S s without any client-ready (0: never)",
    )
    real.add_argument(
        "--drop-first-client-ready",
        action="store_true",
        help="ignore each client's first client-ready",
    )
    real.add_argument("--withhold-bot-ready", action="store_true", help="never send bot-ready")
    real.add_argument(
        "--no-audio-track",
        dest="publish_audio_track",
        action="store_false",
        help="the character publishes no track at all (text only)",
    )
    real.add_argument(
        "--moderation-word",
        default="forbidden",
        metavar="WORD",
        help="strict: user text with WORD is blocked by moderation",
    )
    real.add_argument(
        "--no-response-prompt",
        default="say nothing",
        metavar="TEXT",
        help="strict: user text with TEXT gets llm-no-response",
    )
    real.add_argument(
        "--abort-word",
        default="abort",
        metavar="WORD",
        help="strict: user text with WORD gets an aborted turn",
    )


def faults_from_args(args: argparse.Namespace) -> Faults:
    return Faults(
        connect_status=args.connect_status,
        connect_detail=args.connect_detail,
        connect_body=args.connect_body,
        connect_fault_count=args.connect_fault_count,
        connect_delay_s=args.connect_delay,
        connect_hang=args.connect_hang,
        connect_no_token=args.connect_no_token,
        concurrency_limit=args.concurrency_limit,
        idle_warning_after_s=args.idle_warning_after,
        idle_timeout_after_s=args.idle_timeout_after,
        usage_limit_after_turns=args.usage_limit_after_turns,
        quota_type=args.quota_type,
        server_error_after_turns=args.server_error_after_turns,
        server_error_fatal=args.server_error_fatal,
        response_form=args.response_form,
        tts=args.tts,
        release_grace_s=args.release_grace,
        join_timeout_s=args.join_timeout,
        realism=args.realism,
        bot_ready_grace_s=args.bot_ready_grace,
        drop_first_client_ready=args.drop_first_client_ready,
        withhold_bot_ready=args.withhold_bot_ready,
        publish_audio_track=args.publish_audio_track,
        moderation_word=args.moderation_word,
        no_response_prompt=args.no_response_prompt,
        abort_word=args.abort_word,
    )


def _configure_logging(level: str) -> RedactingFormatter:
    formatter = RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", [])
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The LiveKit SDK's Rust logs are chatty at info; keep them to warnings.
    logging.getLogger("livekit").setLevel(max(logging.WARNING, root.level))
    return formatter


def run_local_server(args: argparse.Namespace) -> int:
    """Run until SIGINT/SIGTERM; 0 on a clean stop, 2 when it cannot start, 3
    (``EXIT_LIVEKIT_DIED``) when its livekit-server child dies while serving."""
    formatter = _configure_logging(args.log_level)
    try:
        return asyncio.run(_serve(args, formatter))
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return 130


async def _serve(args: argparse.Namespace, formatter: RedactingFormatter) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    from convai_tui.local.voice import make_voice_hook

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
