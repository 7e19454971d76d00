"""`convai-tui doctor`'s LiveKit checks: the signalling endpoint answers the room token, then a
real room join whose ICE candidate pair says how media flows (UDP, TCP or TURN)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from convai_tui.core.api.events import ParticipantInfo
from convai_tui.core.errors.error import ConvaiError, lookup
from convai_tui.core.errors.redact import REDACTOR, redact
from convai_tui.core.link.transport import RoomTransport, TransportCallbacks
from convai_tui.doctor.report import (
    CHECK_TIMEOUT_S,
    FIX_LIVEKIT_MEDIA,
    FIX_LIVEKIT_TCP,
    FIX_TLS_INSPECTION,
    Check,
    DoctorOptions,
    DoctorReport,
    Skipped,
)

ICE_STATS_WAIT_S = 3.0


def _signal_http_url(room_url: str) -> str:
    parts = urlsplit(room_url)
    scheme = {"wss": "https", "ws": "http"}.get(parts.scheme.lower(), parts.scheme.lower())
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


async def check_signal(
    room_url: str,
    token: str,
    timeout_s: float = CHECK_TIMEOUT_S,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Check:
    """LiveKit signalling: the server's token validation endpoint over the room_url's scheme
    (TLS verified for wss), which proves DNS, TCP, TLS and the signalling service at once."""
    name = "livekit.signal"
    REDACTOR.add_secret(token)
    scheme = urlsplit(room_url).scheme.lower()
    if scheme not in ("ws", "wss", "http", "https"):
        return Check(
            name,
            False,
            f"room_url {room_url!r} is not a ws(s):// URL.",
            lookup("transport.livekit_error").fix,
        )
    url = _signal_http_url(room_url) + "/rtc/validate"
    started = time.monotonic()
    try:
        async with httpx.AsyncClient(timeout=timeout_s, transport=transport) as http:
            response = await http.get(url, params={"access_token": token})
    except httpx.ConnectError as exc:
        text = redact(str(exc))
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower():
            return Check(
                name,
                False,
                f"The signalling server's certificate is not trusted "
                f"({text}); TLS inspection is likely.",
                FIX_TLS_INSPECTION,
            )
        return Check(
            name,
            False,
            f"Cannot reach the signalling server at {room_url}: {text}.",
            FIX_LIVEKIT_TCP,
        )
    except httpx.TimeoutException:
        return Check(
            name, False, f"No answer from {room_url} within {timeout_s:g} s.", FIX_LIVEKIT_TCP
        )
    except httpx.HTTPError as exc:
        return Check(
            name,
            False,
            f"Signalling request to {room_url} failed: {redact(str(exc))}.",
            FIX_LIVEKIT_TCP,
        )
    elapsed = (time.monotonic() - started) * 1000
    body = redact(response.text.strip())[:200]
    if response.status_code == 200:
        return Check(
            name,
            True,
            f"{scheme}:// signalling at {room_url} answered and accepted "
            f"the room token ({elapsed:.0f} ms).",
        )
    if response.status_code in (401, 403):
        return Check(
            name,
            False,
            f"The signalling server rejected the room token (HTTP {response.status_code}: {body}).",
            lookup("transport.join_failure").fix,
        )
    return Check(
        name,
        False,
        f"{room_url} answered HTTP {response.status_code} ({body}): not "
        "a LiveKit signalling endpoint, or a proxy in the way.",
        FIX_LIVEKIT_TCP,
    )


def _noop(*_: object) -> None:
    return None


def describe_ice(stats: Any) -> str | None:
    """'udp', 'tcp' or 'relay (turn over udp|tcp|tls)' for the selected candidate pair of any
    peer connection in a `livekit.rtc.RtcStats`; None when there is no selected pair yet."""
    from livekit.rtc import stats as rtc_stats

    for reports in (stats.publisher_stats, stats.subscriber_stats):
        pairs: dict[str, Any] = {}
        locals_: dict[str, Any] = {}
        selected: list[str] = []
        for report in reports:
            which = report.WhichOneof("stats")
            if which == "candidate_pair":
                pairs[report.candidate_pair.rtc.id] = report.candidate_pair.candidate_pair
            elif which == "local_candidate":
                locals_[report.local_candidate.rtc.id] = report.local_candidate.candidate
            elif which == "transport":
                pair_id = report.transport.transport.selected_candidate_pair_id
                if pair_id:
                    selected.append(pair_id)
        if not selected:
            selected = [pid for pid, pair in pairs.items() if pair.nominated]
        for pair_id in selected:
            pair = pairs.get(pair_id)
            candidate = locals_.get(pair.local_candidate_id) if pair is not None else None
            if candidate is None:
                continue
            if candidate.candidate_type == rtc_stats.RELAY:
                relay = {
                    rtc_stats.TRANSPORT_UDP: "udp",
                    rtc_stats.TRANSPORT_TCP: "tcp",
                    rtc_stats.TRANSPORT_TLS: "tls",
                }.get(candidate.relay_protocol, "?")
                return f"relay (TURN over {relay})"
            return (candidate.protocol or "udp").lower()
    return None


async def check_webrtc(
    room_url: str,
    token: str,
    options: DoctorOptions,
    transport_factory: Callable[[str, TransportCallbacks], RoomTransport] = RoomTransport,
) -> Check:
    """Join the room for real, reach Connected, and report the ICE path (UDP, TCP or TURN)."""
    name = "livekit.webrtc"
    REDACTOR.add_secret(token)

    def on_participant(_change: str, _info: ParticipantInfo) -> None:
        return None

    callbacks = TransportCallbacks(
        on_data=_noop,
        on_participant=on_participant,
        on_disconnected=_noop,
        on_reconnecting=_noop,
        on_reconnected=_noop,
    )
    room = transport_factory(options.character_id or "convai-tui-doctor", callbacks)
    try:
        join_ms = await room.join(room_url, token, options.join_timeout_s)
    except ConvaiError as exc:
        err = exc.error
        return Check(
            name, False, f"{err.code}: {err.message}", f"{lookup(err.code).fix} {FIX_LIVEKIT_MEDIA}"
        )
    try:
        ice = await _wait_for_ice(room)
    finally:
        await room.leave()
    if ice is None:
        return Check(
            name,
            True,
            f"Joined the room and reached Connected in {join_ms:.0f} ms; "
            "the ICE path was not reported yet.",
        )
    hint = ""
    if ice.startswith("relay"):
        hint = (
            " Direct media is blocked; TURN works but adds latency (sessions warn "
            "transport.link_degraded)."
        )
    elif ice == "tcp":
        hint = " UDP looks blocked; media falls back to TCP."
    return Check(
        name,
        True,
        f"Joined the room and reached Connected in {join_ms:.0f} ms; ICE uses {ice}.{hint}",
        lookup("transport.link_degraded").fix if hint else "",
    )


async def _wait_for_ice(room: RoomTransport) -> str | None:
    deadline = time.monotonic() + ICE_STATS_WAIT_S
    while time.monotonic() < deadline:
        if not room.room.isconnected():
            return None
        try:
            stats = await asyncio.wait_for(room.room.get_rtc_stats(), 2)
            ice = describe_ice(stats)
        except Exception:  # stats are best effort: the join itself is what the check proves
            ice = None
        if ice is not None:
            return ice
        await asyncio.sleep(0.2)
    return None


async def livekit_checks(
    room_url: str, token: str, options: DoctorOptions, report: DoctorReport
) -> None:
    signal_check = await check_signal(room_url, token, options.timeout_s)
    report.checks.append(signal_check)
    if not signal_check.ok:
        report.skipped.append(Skipped("livekit.webrtc", "signalling failed"))
        return
    report.checks.append(await check_webrtc(room_url, token, options))
