"""The options of ``convai-tui local-server`` (and ``python -m convai_tui.local``) and the
``Faults`` they script; the defaults here are ``LocalStandIn``'s too.
"""

from __future__ import annotations

import argparse
import ipaddress

from convai_tui.local.character.client_messages import DEFAULT_TRIGGERS
from convai_tui.local.faults import Faults
from convai_tui.local.rooms.flags import add_standin_room_arguments

DEFAULT_PORT = 8765
DEFAULT_HOST = "127.0.0.1"
DEFAULT_API_KEY = "local-dev-key"
DEFAULT_CHARACTER_ID = "demo-character"
DEFAULT_CHARACTER_NAME = "Ada"


def _ipv4_address(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IPv4 address: {value!r}") from None


FAULT_TABLE = """\
error code a client sees          how to trigger it
connection.<by status>            --connect-status CODE [--connect-detail TEXT | --connect-body RAW]
                                  [--connect-fault-count N] (401, 403, 404, 422, 429, 5xx, ...)
connection.connect_concurrency_limit_reached
                                  --concurrency-limit N with N sessions open
connection.failed                 --connect-no-token
connection.timeout                --connect-hang, or --connect-delay S beyond the client's timeout
server.error                      --server-error-after-turns N
server.fatal_error                --server-error-after-turns N --server-error-fatal
server.usage_limit_reached        --usage-limit-after-turns N [--quota-type T]
session.idle_timeout              --idle-warning-after S --idle-timeout-after S
transport.participant_removed     POST /_standin/sessions/all/kick
transport.room_deleted            POST /_standin/sessions/all/delete-room
transport.duplicate_identity      POST /_standin/sessions/all/duplicate-identity
transport.signal_disconnected     POST /_standin/livekit/restart (or pause / resume)
protocol.parse_failed             POST /_standin/sessions/all/malformed
(slow stages, turn-trace)         --stage-delays asr=MS,llm=MS,tts=MS (with /connect debug)

Every fault field can also be changed at runtime: POST /_standin/faults {"field": value}.
The full table, with each /connect status and its code, is in docs/FAULTS.md."""


STAGES = ("asr", "llm", "tts")


def stage_delays(value: str) -> dict[str, float]:
    """`asr=MS,llm=MS,tts=MS` (any subset) → {stage: ms}."""
    delays: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        name, _, ms = part.partition("=")
        name = name.strip()
        if name not in STAGES:
            raise argparse.ArgumentTypeError(f"unknown stage {name!r} (known: {', '.join(STAGES)})")
        try:
            delays[name] = float(ms)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number of ms: {part!r}") from None
        if delays[name] < 0:
            raise argparse.ArgumentTypeError(f"negative delay: {part!r}")
    return delays


def add_local_server_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``convai-tui local-server`` (and ``python -m convai_tui.local``); its help
    ends with the fault table, so ``--help`` says which option produces which error code."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = FAULT_TABLE
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
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="how much the stand-in logs on stderr (default %(default)s)",
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
    faults.add_argument(
        "--idle-warning-after",
        type=float,
        default=240.0,
        metavar="S",
        help="send idle-warning after S seconds without user input (default %(default)s)",
    )
    faults.add_argument(
        "--idle-timeout-after",
        type=float,
        default=300.0,
        metavar="S",
        help="end the session as idle_timeout after S seconds without user input "
        "(default %(default)s)",
    )
    faults.add_argument(
        "--usage-limit-after-turns",
        type=int,
        default=0,
        metavar="N",
        help="send usage-limit-reached and close after N character turns (0 = never)",
    )
    faults.add_argument(
        "--quota-type",
        default="minutes",
        metavar="T",
        help="quota_type of that usage-limit-reached (default %(default)s)",
    )
    faults.add_argument(
        "--server-error-after-turns",
        type=int,
        default=0,
        metavar="N",
        help="send an RTVI error after N character turns (0 = never)",
    )
    faults.add_argument(
        "--server-error-fatal",
        action="store_true",
        help="make that error fatal (the session ends) instead of recoverable",
    )
    faults.add_argument(
        "--response-form",
        choices=["flat", "wrapped"],
        default="flat",
        help="server-response acks flat (documented) or wrapped in server-message",
    )
    faults.add_argument(
        "--tts",
        choices=["espeak", "tone", "none"],
        default="espeak",
        help="the character's voice: espeak-ng speech (default), a test tone, or no audio",
    )
    faults.add_argument(
        "--release-grace",
        type=float,
        default=2.0,
        metavar="S",
        help="seconds a slot survives its client leaving the room",
    )
    add_standin_room_arguments(parser)
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
        "--delete-room-on-kill",
        action="store_true",
        help="delete the room as soon as kill-pipeline arrives, not once the client has left",
    )
    real.add_argument(
        "--no-audio-track",
        dest="publish_audio_track",
        action="store_false",
        help="the character publishes no track at all (text only)",
    )
    real.add_argument(
        "--stage-delays",
        type=stage_delays,
        default={},
        metavar="asr=MS,llm=MS,tts=MS",
        help="time each stage of every turn spends (speech-to-text before the final "
        "transcript, LLM before its first text, TTS before the first audio); with "
        "debug on /connect the turn-trace and metrics report what was spent (default 0)",
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
    real.add_argument(
        "--actions-when-asked",
        action="store_true",
        help="strict, with an action_config: perform an action only when the user names it "
        '("wave"), not the first one every turn (the demo)',
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
        delete_room_on_kill=args.delete_room_on_kill,
        publish_audio_track=args.publish_audio_track,
        moderation_word=args.moderation_word,
        no_response_prompt=args.no_response_prompt,
        abort_word=args.abort_word,
        actions_when_asked=args.actions_when_asked,
        asr_delay_ms=args.stage_delays.get("asr", 0.0),
        llm_delay_ms=args.stage_delays.get("llm", 0.0),
        tts_delay_ms=args.stage_delays.get("tts", 0.0),
    )
